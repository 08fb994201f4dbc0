"""The swarm's shared workspace: its paths, their versions, and their contents."""

from __future__ import annotations

import flask
from werkzeug.http import dump_options_header

from cloudswarm.api.errors import ApiError
from cloudswarm.api.media import DECLARED, file_name, media_of
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import (
    ArtifactPage,
    ArtifactQuery,
    ArtifactRead,
    ArtifactVersions,
    ArtifactVersionsQuery,
)
from cloudswarm.core.tools import clean_path
from cloudswarm.errors import UserError


def _path(raw: str) -> str:
    """The path as the agents' tools name it (``/a//b.md`` is ``a/b.md``). The schema has
    already refused characters a path cannot hold; one that still names no possible artifact
    (``..``, ``.``) is not there to read."""
    try:
        return clean_path(raw)
    except UserError as e:
        raise ApiError(404, "not_found", f"no artifact can be at that path: {e}") from None


@route("GET", "/api/swarms/{sid}/artifacts", tag="artifacts", query=ArtifactQuery,
       response=ArtifactPage)  # fmt: skip
def list_artifacts(call: Call, sid: str):
    """The workspace's paths in path order, optionally under a prefix, a page at a time.

    Each with its latest version, size in bytes, who wrote it and when.
    """
    q, store = call.query, call.services.store
    store.get_swarm(sid)
    docs, token = store.page_artifacts(sid, prefix=q.prefix, limit=q.limit, token=q.page_token)
    return {"artifacts": docs, "next_page_token": token}


@route("GET", "/api/swarms/{sid}/artifacts/versions", tag="artifacts",
       query=ArtifactVersionsQuery, response=ArtifactVersions)  # fmt: skip
def list_artifact_versions(call: Call, sid: str):
    """Every version of one path, newest first (404 for a path never written)."""
    store, path = call.services.store, _path(call.query.path)
    store.get_swarm(sid)
    store.get_artifact(sid, path)
    return {"path": path, "versions": store.list_artifact_versions(sid, path, call.query.limit)}


@route("GET", "/api/swarms/{sid}/artifacts/content", tag="artifacts", query=ArtifactRead,
       media=DECLARED)  # fmt: skip
def read_artifact(call: Call, sid: str):
    """One artifact's bytes, as written: the latest version, or ``version``.

    Text (UTF-8, by its path a text file) is answered as text/plain or text/markdown with
    charset utf-8; anything else as a download (Content-Disposition: attachment) of the type
    its path implies, application/octet-stream when none. X-Artifact-Version names the version.
    """
    store, path = call.services.store, _path(call.query.path)
    store.get_swarm(sid)
    meta = store.get_artifact_version(sid, path, call.query.version)
    data = call.services.workspace.get(meta["object"])
    media, inline = media_of(path, data)
    headers = {"X-Artifact-Version": str(meta["version"])}
    if not inline:
        # A path is ASCII (clean_path), so the plain filename parameter carries it; werkzeug
        # quotes it when it holds a space.
        headers["Content-Disposition"] = dump_options_header(
            "attachment", {"filename": file_name(path)}
        )
    return flask.Response(data, status=200, headers=headers, content_type=media)
