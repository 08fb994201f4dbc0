"""A research swarm with server tools on the whole stack: the researcher searches (the answer
pauses and is continued), fetches a page, computes a table with code execution and writes a
report citing its sources; the lead's wider spawn is refused; spend and search counts match the
model server's own accounting."""

from __future__ import annotations

import pytest

from cloudswarm import runtime, service
from cloudswarm.core import budget, context, pricing, server_tools
from cloudswarm.core.models import Budget, SwarmStatus, Usage
from cloudswarm.gcp.journal import Journal, Workspace
from cloudswarm.settings import settings
from emulators.model_server.scenario import load
from tests.conftest import wait_until
from tests.e2e.conftest import wait_for_status

FUNCTION_ENV = {
    "CLOUDSWARM_LEASE_TTL_S": "20",
    "CLOUDSWARM_TURN_WALL_S": "15",
    "CLOUDSWARM_MODEL_TIMEOUT_S": "8",
}
TOOLS = {
    "web_search": {"max_uses": 2},
    "web_fetch": {"max_uses": 1},
    "code_execution": {},
}
DATA = load("research").data


def _use(model_server, name: str) -> None:
    model_server.reset()
    model_server._call("/_control/scenario", {"name": name})


CODE_USES = {u for u, tool in server_tools.USE_NAMES.items() if tool == "code_execution"}


def _billed(entry: dict, tools: bool = True) -> float:
    """What the model server's log says one answer costs at list price."""
    u = entry["usage"]
    searches = u.get("server_tool_use") or {}
    usage = Usage(
        input_tokens=u["input_tokens"],
        output_tokens=u["output_tokens"],
        cache_read_tokens=u.get("cache_read_input_tokens") or 0,
        cache_write_tokens=u.get("cache_creation_input_tokens") or 0,
        web_search_requests=searches.get("web_search_requests", 0),
        web_fetch_requests=searches.get("web_fetch_requests", 0),
    )
    usd = pricing.cost(entry["model"], usage)
    if tools:
        ran_code = bool(set(entry["server_tool_uses"]) & CODE_USES)
        usd += pricing.server_tools_cost(usage, ran_code, entry["server_tools"])
    return usd


def _transcript_blocks(sid: str, aid: str) -> list[dict]:
    journal = Journal(runtime.blobs(), settings().bucket("transcripts"))
    blocks = []
    for name in journal.transcript_objects(sid, aid):
        blocks += journal.read_transcript(name)["response"]["content"]
    return blocks


def test_the_research_swarm_completes_with_cited_sources_and_matching_accounts(
    full_stack, model_server
):
    _use(model_server, "research")
    sid, _ = service.start_swarm("research", actor="e2e", budget=Budget(usd=5), tools=TOOLS)
    swarm = wait_for_status(sid, {"completed", "failed", "paused"})
    assert swarm["status"] == "completed", swarm
    store = runtime.store()
    agents = {a["id"]: a for a in store.list_agents(sid)}
    # The wider spawn was refused server-side; the writer got no server tools.
    assert set(agents) == {"lead", "researcher", "writer"}
    assert agents["writer"]["tools"] == {}
    assert agents["researcher"]["tools"] == server_tools.validate(DATA["researcher_tools"])

    # The artifact cites the search results.
    doc = store.get_artifact(sid, "research/report.md")
    report = Workspace(runtime.blobs(), settings().bucket("artifacts")).get(doc["object"]).decode()
    for hit in DATA["search"]:
        assert hit["url"] in report
    assert "cloud-run | 0.8" in report

    # The transcript holds every server tool block the model server issued, and the pause.
    blocks = _transcript_blocks(sid, "researcher")
    kinds = [b["type"] for b in blocks]
    for kind in (
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "bash_code_execution_tool_result",
    ):
        assert kind in kinds, kinds
    requests = model_server.requests()
    researcher = [r for r in requests if r.get("agent") == "researcher" and r["status"] == 200]
    assert "pause_turn" in [r["stop_reason"] for r in researcher]
    issued = sum(len(r["server_tool_uses"]) for r in researcher)
    assert kinds.count("server_tool_use") == issued
    # A pause_turn answer is continued: the next request of that turn carries its blocks back.
    paused = next(i for i, r in enumerate(researcher) if r["stop_reason"] == "pause_turn")
    assert researcher[paused + 1]["server_tool_uses"] == ["web_fetch", "bash_code_execution"]
    conv = agents["researcher"]
    assert conv["container"]["id"].startswith("container_")

    # Recorded search count and cost match the model server's own accounting.
    stats = model_server.stats()
    usage = [a["usage"] for a in agents.values()]
    assert sum(u.get("web_search_requests", 0) for u in usage) == 1
    assert (
        sum(u.get("web_search_requests", 0) for u in usage)
        == (stats["server_tool_use"]["web_search_requests"])
    )
    assert (
        sum(u.get("web_fetch_requests", 0) for u in usage)
        == (stats["server_tool_use"]["web_fetch_requests"])
    )
    # ...and so does the cost: each answer's tokens, its searches and fetches, and a container's
    # minimum for an answer that ran code, priced from the model server's own log of them.
    answered = [r for r in requests if r["status"] == 200]
    billed = sum(_billed(r) for r in answered)
    assert sum(u["cost_usd"] for u in usage) == pytest.approx(billed, rel=1e-9)
    assert [r for r in researcher if set(r["server_tool_uses"]) & CODE_USES]
    assert billed > sum(_billed(r, tools=False) for r in answered)  # the tools' own charges
    assert 0 < billed <= 5

    # No request carried a tool the agent was not given: the writer's and lead's as enabled.
    enabled = {server_tools.TYPES[n] for n in TOOLS}
    for r in requests:
        assert set(r["server_tools"]) <= enabled, r
        if r.get("agent") == "writer":
            assert r["server_tools"] == [], r
    assert not [r for r in requests if r.get("agent") == "rogue"]


def test_a_swarm_without_tools_sends_none_and_a_bad_tools_object_starts_nothing(
    full_stack, model_server
):
    from cloudswarm.errors import UserError

    _use(model_server, "research")
    before = len(runtime.store().page_swarms(status=None, limit=200, token=None)[0])
    with pytest.raises(UserError, match=r"tools\.web_search\.blocked_domains"):
        service.start_swarm(
            "research",
            actor="e2e",
            tools={"web_search": {"max_uses": 1, "allowed_domains": ["a.org"],
                                  "blocked_domains": ["b.org"]}},
        )  # fmt: skip
    assert len(runtime.store().page_swarms(status=None, limit=200, token=None)[0]) == before
    sid, _ = service.start_swarm("research", actor="e2e", budget=Budget(usd=5))
    # The lead asks for a researcher with server tools the swarm lacks: refused; the writer
    # (none) starts. Nobody can research, so the swarm is stopped once the writer has answered.
    store = runtime.store()
    assert wait_until(
        lambda: any(
            r.get("agent") == "writer" and r["status"] == 200 for r in model_server.requests()
        ),
        timeout=90,
    )
    assert {a["id"] for a in store.list_agents(sid)} == {"lead", "writer"}
    service.set_swarm_status(sid, SwarmStatus.KILLED, actor="e2e", reason="done checking")
    mine = [r for r in model_server.requests() if r["status"] == 200]
    assert mine and all(r["server_tools"] == [] for r in mine)
    assert all(r["server_tool_uses"] == [] for r in mine)


def test_a_budget_allowing_two_searches_refuses_the_call_whose_worst_case_crosses_it(
    full_stack, model_server
):
    _use(model_server, "research")
    model, tools = runtime.settings().default_model, {"web_search": {"max_uses": 2}}
    searching = server_tools.validate(tools)
    # How large the lead's first request is: a first swarm, stopped once the lead has asked.
    probe, _ = service.start_swarm("research", actor="e2e", budget=Budget(usd=5), tools=tools)
    first = wait_until(
        lambda: next(
            (r for r in model_server.requests() if r.get("agent") == "lead" and r["status"]),
            None,
        ),
        timeout=90,
    )
    service.set_swarm_status(probe, SwarmStatus.KILLED, actor="e2e", reason="measured")
    assert first and first["request_bytes"] > 0, first
    # Room for the worst case of that first call, two searches included (and a little more, for
    # the ids that differ between swarms), but not for the lead's second call: that request holds
    # the first answer and its results, so its worst case alone is larger. A teammate the first
    # call spawned may still be let in, when its own (smaller) worst case fits what is left.
    # The swarm's default context edits are sent, so a call may compact: its worst case counts
    # that as the turn does.
    managed = context.edits(context.of_swarm({}), runtime.settings().model_provider, model)
    room = budget.worst_case(
        model,
        first["request_bytes"] + 200,
        runtime.settings().max_tokens,
        server=searching,
        compaction=context.compacts({"context_management": {"edits": managed}}),
    )["usd"]
    model_server.reset()
    _use(model_server, "research")
    sid, _ = service.start_swarm("research", actor="e2e", budget=Budget(usd=room), tools=tools)
    swarm = wait_for_status(sid, {"completed", "failed", "paused"})
    assert swarm["status"] == "paused" and "budget" in (swarm.get("status_reason") or "")
    spent = sum(a["usage"]["cost_usd"] for a in runtime.store().list_agents(sid))
    calls = [r for r in model_server.requests() if r["status"] == 200 and r.get("swarm") == sid]
    assert [r["agent"] for r in calls if r["agent"] == "lead"] == ["lead"], calls
    assert calls[0]["agent"] == "lead", calls  # the first call, the one the room was made for
    assert len({r["agent"] for r in calls}) == len(calls), calls  # no second call of any agent
    assert 0 < spent <= room
    assert swarm["budget"]["usd"] == room  # the budget is on the swarm as given
