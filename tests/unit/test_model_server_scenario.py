"""The scripted model policy: the demo scenario's decisions on hand-built conversations, the
template and rule machinery, and the data-only variants (large, kill)."""

from __future__ import annotations

import json

import pytest

from emulators.model_server import scenario as scenarios
from emulators.model_server.scenario import Scenario, check_spec, render, resolve

MODEL = "claude-sonnet-4-5"


def turn(agent: str = "lead", role: str = "lead", **extra) -> dict:
    payload = {"agent": agent, "role": role, "swarm": "s-1", "inbox": [], "board": {}, **extra}
    return {
        "role": "user",
        "content": [{"type": "text", "text": f"<turn>{json.dumps(payload)}</turn>"}],
    }


def calls(*uses: tuple[str, dict], prefix: str = "toolu_x") -> dict:
    return {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": f"{prefix}{i}", "name": name, "input": tool_input}
            for i, (name, tool_input) in enumerate(uses)
        ],
    }


def results(*payloads: object, prefix: str = "toolu_x") -> dict:
    content = []
    for i, payload in enumerate(payloads):
        block = {
            "type": "tool_result",
            "tool_use_id": f"{prefix}{i}",
            "content": json.dumps(payload),
        }
        if isinstance(payload, dict) and "error" in payload:
            block["is_error"] = True
        content.append(block)
    return {"role": "user", "content": content}


def request(*messages: dict) -> dict:
    return {"model": MODEL, "max_tokens": 1024, "messages": list(messages)}


@pytest.fixture(scope="module")
def demo() -> Scenario:
    return scenarios.load("demo")


def names(decision) -> list[str]:
    return [name for name, _ in decision.tool_uses]


# --- lead -----------------------------------------------------------------------------------


def test_lead_first_turn_spawns_the_team_and_plans_the_board(demo):
    d = demo.decide(request(turn()))
    assert d.rule == "lead-plan"
    assert names(d) == ["spawn_agent"] * 3 + ["create_task"] * 6
    spawned = [i["name"] for n, i in d.tool_uses if n == "spawn_agent"]
    assert spawned == ["researcher", "builder", "reviewer"]
    assert all(i["instructions"] for n, i in d.tool_uses if n == "spawn_agent")
    tasks = {i["id"]: i for n, i in d.tool_uses if n == "create_task"}
    assert len(tasks) == 6
    roots = [t for t in tasks.values() if not t["blocked_by"]]
    assert len(roots) == 2
    # Every dependency names a task created before it, so the board accepts them in order.
    order = list(tasks)
    for position, task in enumerate(tasks.values()):
        assert all(order.index(dep) < position for dep in task["blocked_by"])
        assert task["owner"] in spawned
    # A diamond: two tasks share a parent and one task joins them.
    joins = [t for t in tasks.values() if len(t["blocked_by"]) == 2]
    assert joins, "expected at least one task waiting on two others"
    assert isinstance(tasks["review"]["blocked_by"], list)  # a list stays a list in the template


def test_lead_replans_only_what_no_earlier_message_asked_for(demo):
    spawns = [("spawn_agent", {"name": n, "instructions": "x"}) for n in ("researcher", "builder")]
    convo = request(turn(), calls(*spawns), results({"ok": 1}, {"ok": 1}), turn())
    d = demo.decide(convo)
    assert d.rule == "lead-plan"
    assert names(d) == ["spawn_agent"] + ["create_task"] * 6
    assert d.tool_uses[0][1]["name"] == "reviewer"


def _planned(demo) -> list[dict]:
    plan = demo.decide(request(turn()))
    uses = calls(*plan.tool_uses, prefix="toolu_p")
    done = results(*[{"ok": True}] * len(plan.tool_uses), prefix="toolu_p")
    return [turn(), uses, done]


def test_lead_waits_after_planning(demo):
    d = demo.decide(request(*_planned(demo)))
    assert d.rule == "lead-wait"
    assert d.tool_uses == [] and d.text == "Waiting for the team."


def test_lead_checks_the_board_on_a_new_turn(demo):
    inbox = [{"id": "m1", "from": "builder", "kind": "message", "body": "Done: scaffold"}]
    d = demo.decide(request(*_planned(demo), turn(inbox=inbox)))
    assert d.rule == "lead-check"
    assert d.tool_uses == [("list_tasks", {"limit": 50})]


def _board(*statuses: str) -> dict:
    tasks = [{"id": f"t{i}", "title": "x", "status": s} for i, s in enumerate(statuses)]
    return {"tasks": tasks, "count": len(tasks)}


def test_lead_finishes_when_every_listed_task_is_done(demo):
    convo = [*_planned(demo), turn(), calls(("list_tasks", {"limit": 50}), prefix="toolu_l")]
    d = demo.decide(request(*convo, results(_board("done", "done", "done"), prefix="toolu_l")))
    assert d.rule == "lead-finish"
    assert names(d) == ["finish_swarm"]
    assert d.tool_uses[0][1]["outcome"] == "completed"
    assert "3 tasks" in d.tool_uses[0][1]["summary"]


@pytest.mark.parametrize(
    "board", [_board("done", "in_progress"), _board(), {"error": "store unavailable"}]
)
def test_lead_keeps_waiting_while_work_remains_or_the_list_failed(demo, board):
    convo = [*_planned(demo), turn(), calls(("list_tasks", {"limit": 50}), prefix="toolu_l")]
    d = demo.decide(request(*convo, results(board, prefix="toolu_l")))
    assert d.rule == "lead-wait"
    assert d.tool_uses == []


# --- teammate -------------------------------------------------------------------------------

MINE = {"owner": "me", "status": "ready"}


def mate(*messages: dict) -> dict:
    return request(turn("builder", "teammate"), *messages)


def test_teammate_lists_its_ready_tasks_on_a_turn(demo):
    d = demo.decide(mate())
    assert d.rule == "teammate-look"
    assert d.tool_uses == [("list_tasks", MINE)]


def test_teammate_claims_the_first_ready_task(demo):
    listed = {"tasks": [{"id": "scaffold", "status": "ready"}, {"id": "backend"}], "count": 2}
    d = demo.decide(mate(calls(("list_tasks", MINE)), results(listed)))
    assert d.tool_uses == [("claim_task", {"task_id": "scaffold"})]


def test_teammate_with_nothing_ready_ends_its_turn(demo):
    d = demo.decide(mate(calls(("list_tasks", MINE)), results({"tasks": [], "count": 0})))
    assert d.rule == "teammate-idle"
    assert d.tool_uses == [] and d.text


def test_teammate_does_reports_and_completes_a_claimed_task(demo):
    claimed = {"task": {"id": "scaffold", "status": "in_progress"}}
    d = demo.decide(mate(calls(("claim_task", {"task_id": "scaffold"})), results(claimed)))
    assert names(d) == ["write_artifact", "complete_task", "send_message"]
    (_, artifact), (_, complete), (_, message) = d.tool_uses
    assert artifact["path"] == "scaffold.md" and "builder" in artifact["content"]
    assert complete["task_id"] == "scaffold" and complete["result"]
    assert message == {"to": "lead", "body": "Done: scaffold"}


def test_teammate_stops_when_the_claim_fails(demo):
    failed = {"error": "task scaffold is blocked", "code": "conflict"}
    d = demo.decide(mate(calls(("claim_task", {"task_id": "scaffold"})), results(failed)))
    assert d.rule == "teammate-claim-failed"
    assert d.tool_uses == [] and "scaffold" in d.text


def test_teammate_looks_for_more_work_after_completing(demo):
    work = calls(
        ("write_artifact", {"path": "a.md", "content": "x"}),
        ("complete_task", {"task_id": "a", "result": "ok"}),
        ("send_message", {"to": "lead", "body": "Done: a"}),
    )
    d = demo.decide(mate(work, results({"version": 1}, {"ok": True}, {"sent": 1})))
    assert d.tool_uses == [("list_tasks", MINE)]


def test_consecutive_user_messages_are_read_as_one_turn(demo):
    # The API merges them, so tool results followed by a new <turn> are both "the last turn".
    convo = mate(
        calls(("list_tasks", MINE)), results({"tasks": [{"id": "x"}]}), turn("builder", "teammate")
    )
    assert demo.decide(convo).tool_uses == [("claim_task", {"task_id": "x"})]


# --- requests the scenario did not foresee --------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        request({"role": "user", "content": "hello"}),
        request({"role": "user", "content": "<turn>not json</turn>"}),
        {"messages": "nonsense"},
        {"messages": [{"role": "user", "content": 7}]},
        {},
    ],
)
def test_requests_without_a_turn_get_a_plain_answer(demo, body):
    d = demo.decide(body)
    assert d.rule in ("no-turn", "error")
    assert d.tool_uses == [] and d.text


def test_an_unknown_role_falls_back_to_text(demo):
    d = demo.decide(request(turn("x", "auditor")))
    assert d.rule == "fallback" and d.tool_uses == []


def test_a_result_of_unexpected_shape_falls_through_instead_of_failing(demo):
    odd = {"items": ["scaffold"]}  # no "tasks" list: the claim template cannot be filled
    d = demo.decide(mate(calls(("list_tasks", MINE)), results(odd)))
    assert d.rule == "teammate-idle"


# --- the machinery --------------------------------------------------------------------------


def test_templates_keep_types_for_whole_placeholders_and_interpolate_otherwise():
    ctx = {"item": {"deps": ["a", "b"], "n": 3, "name": "x"}}
    assert render("${item.deps}", ctx) == ["a", "b"]
    assert render("${item.n}", ctx) == 3
    assert render({"s": "task ${item.name} #${item.n}"}, ctx) == {"s": "task x #3"}
    assert resolve(ctx, "item.deps.len") == 2
    assert resolve(ctx, "item.deps.-1") == "b"
    with pytest.raises(scenarios.Missing):
        render("${item.nope}", ctx)


def test_a_new_policy_is_a_data_change():
    spec = {
        "name": "echo",
        "data": {"greeting": "hi"},
        "rules": [
            {
                "name": "read-back",
                "when": {"role": "teammate", "tool": "list_artifacts", "ok": True,
                         "where": [{"path": "result.artifacts", "any": {"path": "notes.md"}}]},
                "then": {"tool_uses": [{"name": "read_artifact", "for_each": "result.artifacts",
                                        "input": {"path": "${item.path}"}}]},
            },
            {"name": "hello",
             "when": {"last": "turn", "where": [{"path": "turn.inbox", "len_min": 1}]},
             "then": {"text": "${data.greeting} ${agent}, ${turn.inbox.0.from} wrote"}},
        ],
    }  # fmt: skip
    echo = Scenario(spec)
    listed = {"artifacts": [{"path": "notes.md"}, {"path": "b.md"}]}
    d = echo.decide(mate(calls(("list_artifacts", {})), results(listed)))
    assert d.tool_uses == [
        ("read_artifact", {"path": "notes.md"}),
        ("read_artifact", {"path": "b.md"}),
    ]
    inbox = [{"id": "m", "from": "lead", "kind": "message", "body": "go"}]
    assert (
        echo.decide(request(turn("builder", "teammate", inbox=inbox))).text
        == "hi builder, lead wrote"
    )
    assert echo.decide(request(turn("builder", "teammate"))).rule == "fallback"


def test_a_spec_with_a_typo_is_refused_at_load_time():
    with pytest.raises(ValueError, match="unknown keys"):
        check_spec({"name": "bad", "rules": [{"name": "r", "when": {"rolle": "lead"}}]})
    with pytest.raises(ValueError, match="no scenario"):
        scenarios.load("does-not-exist")


def test_the_large_variant_reuses_the_rules_with_more_agents_and_tasks(demo):
    large = scenarios.load("large")
    assert large.rules == demo.rules
    teammates = [t["name"] for t in large.data["teammates"]]
    tasks = large.data["tasks"]
    assert len(teammates) == 9  # plus the lead: 10 agents
    assert len(tasks) == 30 and len({t["id"] for t in tasks}) == 30
    seen: set[str] = set()
    for task in tasks:
        assert set(task["blocked_by"]) <= seen  # dependencies come first: no cycles
        assert task["owner"] in teammates
        seen.add(task["id"])
    d = large.decide(request(turn()))
    assert names(d).count("spawn_agent") == 9 and names(d).count("create_task") == 30


def test_the_kill_scenario_answers_anything_with_a_slow_long_text():
    kill = scenarios.load("kill")
    for body in (request(turn()), mate(), request({"role": "user", "content": "hi"})):
        d = kill.decide(body)
        assert d.tool_uses == [] and len(d.text) > 5000 and d.pace_s > 0


def test_every_shipped_scenario_loads():
    assert {"demo", "large", "kill"} <= set(scenarios.available())
    for name in scenarios.available():
        assert scenarios.load(name).rules


def test_a_request_to_summarize_history_is_answered_with_the_scenarios_summary():
    from cloudswarm.core import context

    long = scenarios.load("longrun")
    log = [
        {"role": "user", "content": [{"type": "text", "text": "<turn>{}</turn>"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Working."}]},
        {"role": "user", "content": [{"type": "text", "text": "More."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Still working."}]},
    ]
    body = {"messages": context.summary_messages(log, 3)}
    decision = long.decide(body)
    assert decision.rule == "history-summary" and decision.text == long.compaction_summary
    assert not decision.tool_uses
