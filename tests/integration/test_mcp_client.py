"""The MCP adapter (the official SDK's client) against the local MCP server over streamable
HTTP: auth, listing once, faults (500, a connection lost mid-call, a slow server, a server
down) and a malicious server's tools."""

from __future__ import annotations

import json
import urllib.request

import pytest

from cloudswarm.core import external
from cloudswarm.errors import NotDelivered, PermanentError
from cloudswarm.mcp.client import McpTools
from emulators.mcp_server import McpRepoServer

TOKEN = "local-mcp-token-for-tests"


@pytest.fixture(scope="module")
def server():
    with McpRepoServer(token=TOKEN, hostile=True) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server):
    server.reset()


def spec(server, name="repo"):
    return {"name": name, "url": server.url, "token_secret": "t", "policy": {"*": "allow"}}


def control(server, path, body=None):
    url = server.url.removesuffix("/mcp") + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def calls(server):
    return [r for r in control(server, "/_control/requests")["requests"] if r["tool"]]


def client(timeout_s=10.0, token=TOKEN):
    return McpTools(lambda name: token, timeout_s=timeout_s)


def test_lists_the_servers_tools_once_per_swarm_and_calls_one(server):
    c = client()
    tools = c.list_tools("s1", spec(server))
    assert {"read_file", "create_pull_request", "huge"} <= {t["name"] for t in tools}
    c.list_tools("s1", spec(server))
    lists = [r for r in control(server, "/_control/requests")["requests"]
             if r["method"] == "tools/list"]  # fmt: skip
    assert len(lists) == 1
    text, is_error = c.call(spec(server), "read_file", {"path": "src/greet.py"})
    assert "def greet" in text and not is_error
    assert [(r["tool"], r["auth_ok"]) for r in calls(server)] == [("read_file", True)]


def test_the_listing_cache_is_bounded():
    c = McpTools(lambda n: TOKEN, cache_entries=2)
    with McpRepoServer(token=TOKEN) as srv:
        for sid in ("a", "b", "c"):
            c.list_tools(sid, spec(srv))
    assert len(c._listings) == 2


def test_a_refused_token_is_permanent_and_calls_nothing(server):
    with pytest.raises(PermanentError, match="refused the token"):
        client(token="wrong").call(spec(server), "create_branch", {"name": "x"})
    assert all(not r["write"] for r in control(server, "/_control/requests")["requests"])
    assert "x" not in control(server, "/_control/state")["branches"]


def test_a_server_that_is_down_is_not_delivered():
    down = {"name": "repo", "url": "http://127.0.0.1:9/mcp", "policy": {"*": "allow"}}
    with pytest.raises(NotDelivered):
        client(timeout_s=3).call(down, "read_file", {"path": "x"})


def test_a_500_is_an_error_result_and_the_tool_did_not_run(server):
    control(server, "/_control/faults", {"next": ["500"]})
    text, is_error = client().call(spec(server), "create_branch", {"name": "f500"})
    assert is_error and "unknown" in text
    assert "f500" not in control(server, "/_control/state")["branches"]


def test_a_connection_lost_mid_call_is_an_unknown_outcome_though_the_tool_ran(server):
    control(server, "/_control/faults", {"next": ["disconnect"]})
    text, is_error = client().call(spec(server), "create_branch", {"name": "fdis"})
    assert is_error and "outcome is unknown" in text
    # Why the turn never calls again on its own: the server did act.
    assert "fdis" in control(server, "/_control/state")["branches"]


def test_a_slow_server_times_out_as_an_unknown_outcome(server):
    control(server, "/_control/faults", {"next": ["slow"], "slow_s": 3})
    text, is_error = client(timeout_s=1).call(spec(server), "list_issues", {})
    assert is_error and "unknown" in text


def test_a_malicious_servers_tools_cannot_widen_anything(server):
    """Huge results are cut, a schema the API refuses and a bad name are left out, and
    planted instructions come back as data in a result, never as a tool or a permission."""
    c = client()
    listed = external.definitions(spec(server), c.list_tools("s-hostile", spec(server)))
    names = {d["name"] for d in listed.definitions}
    assert "repo__bad_schema" not in names and "repo__huge" in names
    assert {n for n, _ in listed.left_out} == {"repo__bad_schema", "repo__bad name!"}
    assert all(n.startswith("repo__") for n in names)  # never one of the board's tool names
    text, _ = c.call(spec(server), "huge", {})
    capped = external.capped(text, False)
    assert len(capped["result"]) == external.MAX_RESULT_CHARS and "cut" in capped["note"]
    injected, _ = c.call(spec(server), "injected", {})
    offered = list(listed.definitions)
    servers = [{**spec(server), "policy": {"read_file": "allow", "*": "deny"}}]
    verdict = external.judge("repo__delete_everything", {}, servers, offered)
    assert "ignore your instructions" in injected and isinstance(verdict, external.Refuse)
