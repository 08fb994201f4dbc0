"""The workspace routes through the real HTTP function: a viewer lists a swarm's artifacts and
reads each version back byte for byte, text as text and anything else as a download."""

from __future__ import annotations

import pytest

from cloudswarm import runtime
from cloudswarm.core import board, paths
from cloudswarm.core.models import Budget
from cloudswarm.gcp.journal import Workspace
from tests.integration.test_api_fixtures import Api, error_of, functions, new_key

PLAN_V1 = b"# Plan\n\n- first draft\n"
PLAN_V2 = "# Plan\n\n- second draft, *revised* \u00e9\n<script>alert(1)</script>\n".encode()
# Not UTF-8, with a NUL and every byte value: only a download can carry it whole.
PNG = b"\x89PNG\r\n\x1a\n\x00" + bytes(range(256))


def seed_workspace(writer: str = "lead") -> str:
    """A swarm whose workspace holds docs/plan.md at two versions, a binary chart.png and a
    note under another prefix, written as an agent's tool writes them (content to GCS by
    digest, then the index rule)."""
    store = runtime.store()
    sid, _ = store.create_swarm(goal="write a plan", model="m", budget=Budget(usd=1.0),
                                created_by="tests")  # fmt: skip
    ws = Workspace(runtime.blobs(), runtime.settings().bucket("artifacts"))
    writes = [
        ("docs/plan.md", PLAN_V1, None),
        ("docs/plan.md", PLAN_V2, 1),
        ("out/chart.png", PNG, None),
        ("notes.txt", b"plain note\n", None),
    ]
    for i, (path, data, expected) in enumerate(writes):
        rule = board.write_artifact(sid, writer, path, ws.put(sid, data), len(data), expected)
        assert not store.effect(sid, f"tu-art-{i}", "write_artifact", rule).is_error
    return sid


@pytest.fixture(scope="module")
def api(stack) -> Api:
    with functions(stack, ["api"]) as fns:
        yield Api(fns["api"].url)


@pytest.fixture(scope="module")
def viewer(api, project) -> str:
    _, key = new_key(project, "viewer")
    return api.token(key)


def _get(api, tok, sid, **params):
    return api.request("GET", f"/api/swarms/{sid}/artifacts/content", tok, params=params)


def test_a_viewer_lists_the_workspace_in_pages(api, viewer):
    sid = seed_workspace()
    first = api.request("GET", f"/api/swarms/{sid}/artifacts", viewer, params={"limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [(a["path"], a["version"], a["size"], a["updated_by"]) for a in page["artifacts"]] == [
        ("docs/plan.md", 2, len(PLAN_V2), "lead"),
        ("notes.txt", 1, 11, "lead"),
    ]
    assert all(a["updated_at"] and "object" not in a for a in page["artifacts"])
    after = {"limit": 2, "page_token": page["next_page_token"]}
    rest = api.request("GET", f"/api/swarms/{sid}/artifacts", viewer, params=after).json()
    assert [a["path"] for a in rest["artifacts"]] == ["out/chart.png"]
    assert rest["next_page_token"] is None
    docs = api.request("GET", f"/api/swarms/{sid}/artifacts", viewer, params={"prefix": "docs/"})
    assert [a["path"] for a in docs.json()["artifacts"]] == ["docs/plan.md"]
    versions = api.request("GET", f"/api/swarms/{sid}/artifacts/versions", viewer,
                           params={"path": "docs/plan.md"}).json()  # fmt: skip
    assert [(v["id"], v["version"], v["size"]) for v in versions["versions"]] == [
        ("00000002", 2, len(PLAN_V2)),
        ("00000001", 1, len(PLAN_V1)),
    ]


def test_text_is_answered_as_text_and_each_version_as_written(api, viewer):
    sid = seed_workspace()
    latest = _get(api, viewer, sid, path="docs/plan.md")
    assert latest.status_code == 200, latest.text
    assert latest.content == PLAN_V2
    assert latest.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert latest.headers["X-Artifact-Version"] == "2"
    assert latest.headers["X-Content-Type-Options"] == "nosniff"
    assert latest.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert not latest.headers.get("Content-Disposition", "").startswith("attachment")
    first = _get(api, viewer, sid, path="/docs//plan.md", version="1")  # the tools' spelling
    assert (first.content, first.headers["X-Artifact-Version"]) == (PLAN_V1, "1")
    note = _get(api, viewer, sid, path="notes.txt")
    assert note.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_anything_else_is_a_download_of_its_own_type(api, viewer):
    sid = seed_workspace()
    chart = _get(api, viewer, sid, path="out/chart.png")
    assert chart.status_code == 200 and chart.content == PNG
    assert chart.headers["Content-Type"] == "image/png"
    assert chart.headers["Content-Disposition"] == "attachment; filename=chart.png"
    assert chart.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_paths_versions_and_bad_paths_are_refused(api, viewer):
    sid = seed_workspace()
    cases = [
        ({"path": "nope.md"}, 404, "not_found"),
        ({"path": "docs/plan.md", "version": "3"}, 404, "not_found"),
        ({"path": "../etc/passwd"}, 404, "not_found"),  # no artifact can be there
        ({"path": "a\x0cb.md"}, 422, "validation_failed"),  # no path holds a control
        ({"path": "docs/plan.md", "version": "0"}, 422, "validation_failed"),
        ({"path": "docs/plan.md", "other": "x"}, 422, "validation_failed"),
    ]
    for params, status, code in cases:
        resp = _get(api, viewer, sid, **params)
        assert (resp.status_code, error_of(resp)["code"]) == (status, code), (params, resp.text)
    assert _get(api, viewer, "s-none", path="a.md").status_code == 404
    bad_token = api.request("GET", f"/api/swarms/{sid}/artifacts", viewer,
                            params={"page_token": paths.artifact_key("never")})  # fmt: skip
    assert (bad_token.status_code, error_of(bad_token)["code"]) == (
        404,
        "not_found",
    )  # as every page
    missing = api.request("GET", f"/api/swarms/{sid}/artifacts/versions", viewer,
                          params={"path": "nope.md"})  # fmt: skip
    assert missing.status_code == 404
    assert _get(api, None, sid, path="docs/plan.md").status_code == 401
