"""``tools`` and ``context`` on POST /api/swarms through the real HTTP function: a good object
is stored on the swarm, a bad one is refused with 422 naming the field and starts nothing."""

from __future__ import annotations

import pytest

from cloudswarm import runtime
from tests.integration.test_api_fixtures import Api, error_of, functions, new_key


@pytest.fixture(scope="module")
def api(stack) -> Api:
    with functions(stack, ["api"], {}) as fns:
        yield Api(fns["api"].url)


@pytest.fixture(scope="module")
def operator(api, project) -> str:
    runtime.store().set_kill_switch(engaged=False, reason="test setup", actor="tests")
    return api.token(new_key(project, "operator")[1])


def _count(api, token) -> int:
    resp = api.request("GET", "/api/swarms", token, params={"limit": 200})
    return len(resp.json()["swarms"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tools": {"shell": {}}}, "tools.shell"),
        ({"tools": {"web_search": {"max_uses": 99}}}, "tools.web_search.max_uses"),
        ({"tools": {"web_fetch": {"max_uses": 1, "allowed_domains": ["http://x.org"]}}},
         "tools.web_fetch.allowed_domains.0"),
        ({"tools": {"web_search": {"max_uses": 1, "allowed_domains": ["a.org"],
                                   "blocked_domains": ["b.org"]}}},
         "tools.web_search.blocked_domains"),
        ({"context": {"compaction": {"trigger_tokens": 1000}}},
         "context.compaction.trigger_tokens"),
        ({"context": {"clear_tool_results": {"keep": "all"}}}, "context.clear_tool_results.keep"),
        ({"context": {"summaries": {}}}, "context.summaries"),
        ({"tools": {"mcp": [{"name": "repo", "url": "ftp://x", "policy": {"*": "ask"}}]}},
         "tools.mcp.0.url"),
        ({"tools": {"mcp": [{"name": "repo", "url": "http://127.0.0.1:1/mcp",
                             "policy": {"*": "sometimes"}}]}},
         "tools.mcp.0.policy.*"),
        ({"tools": {"mcp": [{"name": "repo", "url": "http://127.0.0.1:1/mcp",
                             "token_secret": "a/b", "policy": {"*": "ask"}}]}},
         "tools.mcp.0.token_secret"),
    ],
)  # fmt: skip
def test_a_bad_tools_or_context_object_is_a_422_naming_the_field_and_starts_nothing(
    api, operator, body, field
):
    before = _count(api, operator)
    resp = api.request("POST", "/api/swarms", operator, json={"goal": "g", **body})
    assert resp.status_code == 422, resp.text
    error = error_of(resp)
    assert error["code"] == f"invalid_{field.split('.')[0]}"
    assert error["message"].startswith(field + ":")
    assert _count(api, operator) == before


def test_a_good_tools_object_is_stored_on_the_swarm(api, operator):
    repo = {"name": "repo", "url": "http://127.0.0.1:1/mcp", "token_secret": "mcp-repo-token",
            "policy": {"read_file": "allow", "*": "ask"}}  # fmt: skip
    tools = {"web_search": {"max_uses": 2}, "code_execution": {}, "mcp": [repo]}
    resp = api.request("POST", "/api/swarms", operator, json={"goal": "g", "tools": tools})
    assert resp.status_code == 201, resp.text
    sid = resp.json()["swarm_id"]
    got = api.request("GET", f"/api/swarms/{sid}", operator).json()
    assert got["tools"] == {"web_search": {"max_uses": 2}, "code_execution": {}, "mcp": [repo]}


def test_context_is_stored_with_its_defaults_filled_in(api, operator):
    body = {"goal": "g", "context": {"clear_tool_results": False}}
    resp = api.request("POST", "/api/swarms", operator, json=body)
    assert resp.status_code == 201, resp.text
    got = api.request("GET", f"/api/swarms/{resp.json()['swarm_id']}", operator).json()
    assert got["context"] == {"compaction": {"trigger_tokens": 50_000}, "clear_tool_results": False}


def test_team_templates_are_listed_created_by_an_admin_and_started_by_name(api, operator, project):
    admin = api.token(new_key(project, "admin")[1])
    listed = api.request("GET", "/api/templates", operator).json()["templates"]
    assert {"research", "repo"} <= {t["name"] for t in listed}
    mine = {"name": "triage", "lead_instructions": "Triage the goal.",
            "teammates": [{"name": "sorter", "instructions": "Sort it."}],
            "tools": {"web_search": {"max_uses": 1}}, "budget": {"usd": 1}}  # fmt: skip
    assert api.request("POST", "/api/templates", operator, json=mine).status_code == 403
    created = api.request("POST", "/api/templates", admin, json=mine)
    assert created.status_code == 201, created.text
    taken = api.request("POST", "/api/templates", admin, json={**mine, "name": "repo"})
    assert taken.status_code == 409, taken.text
    names = {
        t["name"]: t["source"]
        for t in api.request("GET", "/api/templates", operator).json()["templates"]
    }
    assert names["triage"] == "admin" and names["repo"] == "shipped"

    for name in ("repo", "triage"):
        resp = api.request("POST", "/api/swarms", operator, json={"goal": "g", "template": name})
        assert resp.status_code == 201, resp.text
        sid = resp.json()["swarm_id"]
        swarm = api.request("GET", f"/api/swarms/{sid}", operator).json()
        lead = api.request("GET", f"/api/swarms/{sid}/agents/lead", operator).json()
        assert swarm["template"] == name and f"template {name}" in lead["instructions"]
    assert swarm["tools"] == {"web_search": {"max_uses": 1}} and swarm["budget"]["usd"] == 1
    unknown = api.request("POST", "/api/swarms", operator, json={"goal": "g", "template": "nope"})
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "unknown_template"
