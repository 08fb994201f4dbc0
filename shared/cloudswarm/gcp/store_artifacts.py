"""The shared workspace's index in Firestore; contents live in GCS, content-addressed.

Writes are the rule ``cloudswarm.core.board.write_artifact``; these are the queries.
"""

from __future__ import annotations

from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm.core import paths
from cloudswarm.core.documents import artifact_listing, artifact_view
from cloudswarm.core.shapes import ArtifactDoc
from cloudswarm.errors import NotFound
from cloudswarm.gcp.fs import translated

# The highest code point Firestore orders: every path starting with a prefix sorts below
# prefix + this, so a range on ``path`` is a prefix filter.
_PREFIX_END = "\uf8ff"


class ArtifactStore:
    """Mixin over ``self.p`` (Paths), ``self.db`` and the paging helper of ``SwarmStore``."""

    def get_artifact(self, sid: str, path: str) -> ArtifactDoc:
        with translated("read artifact index"):
            snap = self.p.artifacts(sid).document(paths.artifact_key(path)).get()
        if not snap.exists:
            raise NotFound(f"no artifact at {path}")
        return snap.to_dict()

    def _by_path(self, sid: str, prefix: str) -> Any:
        q = self.p.artifacts(sid)
        if prefix:
            q = q.where(filter=FieldFilter("path", ">=", prefix)).where(
                filter=FieldFilter("path", "<", prefix + _PREFIX_END)
            )
        return q

    def list_artifacts(self, sid: str, prefix: str = "", limit: int = 100) -> list[ArtifactDoc]:
        q = self._by_path(sid, prefix).order_by("path").limit(limit)
        with translated("list artifacts"):
            return [artifact_view(s.to_dict()) for s in q.stream()]

    def page_artifacts(
        self, sid: str, *, prefix: str, limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The workspace's paths in path order, a page at a time (the token is a path's key)."""
        col = self.p.artifacts(sid)
        docs, nxt = self._page(col, self._by_path(sid, prefix), "path", "asc", limit, token)
        return [artifact_listing(d.pop("id"), d) for d in docs], nxt

    def get_artifact_version(self, sid: str, path: str, version: int | None) -> dict[str, Any]:
        """The index entry (``version`` None: the latest) or one version's record, with its
        object name; NotFound for a path or version the workspace never had."""
        if version is None:
            return self.get_artifact(sid, path)
        ref = self.db.document(paths.artifact_version(sid, paths.artifact_key(path), version))
        with translated("read artifact version"):
            snap = ref.get()
        if not snap.exists:
            raise NotFound(f"no version {version} of {path}")
        return snap.to_dict()

    def list_artifact_versions(self, sid: str, path: str, limit: int) -> list[dict[str, Any]]:
        """A path's versions, newest first."""
        key = paths.artifact_key(path)
        q = (
            self.db.collection(paths.artifact_versions(sid, key))
            .order_by("version", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        with translated("list artifact versions"):
            return [artifact_listing(s.id, s.to_dict()) for s in q.stream()]
