"""A repository team on the whole stack against the local MCP server (the official SDK on both
sides): the lead reads the open issue, the developer reads the code, and every write it asks
for (a branch, a commit, a pull request) waits for a human; the reviewer reads the diff and its
asked write is rejected. Under duplicate doorbells and crashes right before and right after
external calls, the MCP server's own log shows no write before its approval and exactly one
after; the pull request approved while the kill switch is engaged runs only once it is released;
a denied tool and a forged call on a server not handed never reach the server."""

from __future__ import annotations

import json
import urllib.request

from cloudswarm import runtime, service
from cloudswarm.core.models import Budget
from emulators.config import LOCAL_MCP_SECRET
from tests.conftest import wait_until
from tests.e2e.chaos_checks import crashes, turn_lines
from tests.e2e.conftest import wait_for_status

FUNCTION_ENV = {
    "CLOUDSWARM_CHAOS_CRASH_RATE": "0.3",
    "CLOUDSWARM_CHAOS_CRASH_POINTS": "before_external,after_external",
    "CLOUDSWARM_CHAOS_SEED": "5",
    "CLOUDSWARM_CHAOS_DUPLICATE_DOORBELLS": "1",
    # Short leases so the watchdog recovers a crashed turn within seconds.
    "CLOUDSWARM_LEASE_TTL_S": "4",
    "CLOUDSWARM_TURN_WALL_S": "3",
    "CLOUDSWARM_MODEL_TIMEOUT_S": "1.5",
    "CLOUDSWARM_MCP_TIMEOUT_S": "1.5",
}
READS = ("list_issues", "get_issue", "list_files", "read_file", "diff")
WRITES = ("create_branch", "write_file", "create_pull_request")


def servers(url: str) -> list[dict]:
    policy = {**dict.fromkeys(READS, "allow"), **dict.fromkeys(WRITES, "ask")}
    policy.update({"list_pull_requests": "deny", "*": "deny"})
    repo = {"name": "repo", "url": url, "token_secret": LOCAL_MCP_SECRET, "policy": policy}
    issues = {**repo, "name": "issues", "policy": {"get_issue": "allow", "*": "deny"}}
    return [repo, issues]


class McpServer:
    def __init__(self, url: str):
        self.base = url.removesuffix("/mcp")

    def _get(self, path: str) -> dict:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.base + path, timeout=10) as resp:
            return json.load(resp)

    def calls(self) -> list[dict]:
        return [r for r in self._get("/_control/requests")["requests"] if r["tool"]]

    def writes(self) -> list[dict]:
        return [r for r in self.calls() if r["write"]]

    def state(self) -> dict:
        return self._get("/_control/state")


def _pending(sid: str) -> dict | None:
    found = runtime.store().list_approvals(sid, status="pending", limit=5)
    return found[0] if found else None


def _decide(sid: str, approval: dict, approve: bool, comment: str = "") -> None:
    """As the API's route does: the decision, then the agent's doorbell."""
    runtime.store().decide_approval(
        sid, approval["id"], approve=approve, actor="e2e-reviewer", comment=comment
    )
    runtime.bus().ring(sid, approval["agent_id"])


def test_repository_team_writes_only_what_a_human_approved_and_each_once(full_stack, model_server):
    model_server._call("/_control/scenario", {"name": "repo"})
    mcp = McpServer(full_stack.env()["CLOUDSWARM_MCP_URL"])
    url = full_stack.env()["CLOUDSWARM_MCP_URL"]
    sid, _ = service.start_swarm(
        "Fix issue #1", actor="e2e", budget=Budget(usd=5), tools={"mcp": servers(url)}
    )
    approved: list[dict] = []
    rejected: list[dict] = []
    while len(approved) + len(rejected) < 4:
        approval = wait_until(lambda: _pending(sid), timeout=60, every=0.2)
        assert approval, f"no approval came: {runtime.store().get_swarm(sid)}"
        call = approval["call"]
        assert approval["action"].startswith(f"call repo__{call['tool']}")
        # Nothing is written before a human says so: exactly one write per earlier approval.
        assert [w["tool"] for w in mcp.writes()] == [a["call"]["tool"] for a in approved]
        if approval["agent_id"] == "reviewer":
            _decide(sid, approval, False, "reviewers do not push")
            rejected.append(approval)
        elif call["tool"] == "create_pull_request":
            service.set_kill_switch(engaged=True, actor="e2e", reason="hold the pull request")
            seen = len(_inactive(full_stack, sid))
            _decide(sid, approval, True)
            approved.append(approval)
            # The approval rang the developer; its turn found the switch engaged.
            assert wait_until(lambda n=seen: len(_inactive(full_stack, sid)) > n, timeout=30)
            assert "create_pull_request" not in [w["tool"] for w in mcp.writes()]
            service.set_kill_switch(engaged=False, actor="e2e", reason="go ahead")
        else:
            _decide(sid, approval, True)
            approved.append(approval)
    swarm = wait_for_status(sid, {"completed", "failed", "paused"}, timeout=120)
    assert swarm["status"] == "completed", swarm
    board = runtime.store().list_tasks(sid, status=None, owner=None, limit=10)
    assert {(t["id"], t["status"]) for t in board} == {("fix", "done"), ("review", "done")}, board

    writes = mcp.writes()
    assert [(w["tool"], w["arguments"]) for w in writes] == [
        (a["call"]["tool"], a["call"]["arguments"]) for a in approved
    ]
    assert [r["call"]["arguments"]["path"] for r in rejected] == ["REVIEW.md"]
    state = mcp.state()
    (pr,) = state["pull_requests"]
    assert (pr["head"], pr["base"]) == ("fix-greet", "main")
    # Refused without a call: the denied tool, a forged unknown one, and a forged call on a
    # server not handed over.
    calls = mcp.calls()
    assert not [c for c in calls if c["tool"] in ("list_pull_requests", "delete_everything")]
    assert not [c for c in calls if (c["arguments"] or {}).get("number") == 99]
    assert all(c["auth_ok"] for c in calls)
    reads = [c["tool"] for c in calls if not c["write"]]
    assert {"get_issue", "read_file", "diff"} <= set(reads)
    # The chaos did strike around external calls.
    struck = crashes(full_stack.run_dir)
    assert struck["before_external"] and struck["after_external"], struck
    refused = _refusals(sid)
    assert {"repo__list_pull_requests", "repo__delete_everything", "issues__get_issue"} <= refused


def _inactive(stack, sid: str) -> list[dict]:
    return [
        t
        for t in turn_lines(stack.run_dir, sid)
        if t["kind"] == "inactive" and t.get("agent_id") == "developer"
    ]


def _refusals(sid: str) -> set[str]:
    """The external tools whose calls came back refused, from the agents' transcripts."""
    from cloudswarm.gcp.journal import Journal
    from cloudswarm.settings import settings

    journal = Journal(runtime.blobs(), settings().bucket("transcripts"))
    names: set[str] = set()
    for aid in ("lead", "developer"):
        agent = runtime.store().get_agent(sid, aid)
        messages = journal.load_conversation(sid, aid, agent["conv_version"])
        uses = {
            b["id"]: b["name"]
            for m in messages
            if m["role"] == "assistant"
            for b in m["content"]
            if b.get("type") == "tool_use"
        }
        for m in messages:
            for b in m["content"] if m["role"] == "user" else []:
                if b.get("type") == "tool_result" and b.get("is_error"):
                    code = json.loads(b["content"]).get("code")
                    if code in ("forbidden", "unknown"):
                        names.add(uses.get(b["tool_use_id"], ""))
    return names
