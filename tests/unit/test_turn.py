"""The turn engine against in-memory ports: leases, write-ahead replay, halts, budgets, errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cloudswarm.core import turn
from cloudswarm.errors import PermanentError, TransientError
from tests.unit.turn_fakes import (
    FakeBus,
    FakeClock,
    FakeJournal,
    FakeScheduler,
    FakeStore,
    ScriptedModel,
    agent_doc,
    answer,
    settings,
    text,
    tool_use,
)


def make(model, store=None, **kw):
    store = store or FakeStore()
    deps = turn.Deps(
        settings=settings(**kw),
        store=store,
        journal=FakeJournal(),
        workspace=None,
        bus=FakeBus(),
        scheduler=FakeScheduler(),
        model=model,
        clock=FakeClock(),
        meter=Meter(),
    )
    return deps, store


class Meter:
    """Records what the turn meters for each model call."""

    def __init__(self):
        self.calls: list[dict] = []

    def model_call(self, **fields):
        self.calls.append(fields)


def results_sent(request) -> list[dict]:
    last = request["messages"][-1]
    return [b for b in last["content"] if b["type"] == "tool_result"]


def test_turn_reads_inbox_answers_and_marks_mail_read():
    model = ScriptedModel(answer(text("on it")))
    d, store = make(model)
    mid = store.mail("lead", "hello")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "done" and out.calls == 1
    assert [m["read"] for m in store.messages if m["id"] == mid] == [True]
    req = model.requests[0]
    opening = req["messages"][0]["content"][0]["text"]
    payload = json.loads(opening.removeprefix("<turn>").removesuffix("</turn>"))
    assert payload["inbox"][0]["body"] == "hello" and payload["agent"] == "lead"
    breakpoints = json.dumps(req).count('"cache_control"')
    assert breakpoints == 3  # tools, system, newest message: within the API's limit of 4
    assert store.agents["lead"]["lease"] is None and store.agents["lead"]["status"] == "idle"
    assert d.journal.transcripts and d.journal.conversations[("lead", 1)][-1]["role"] == "assistant"
    assert d.scheduler.items[0][0] == "watchdog"


def test_each_model_call_is_metered_with_its_cost():
    model = ScriptedModel(answer(tool_use("list_tasks", {})), answer(text("done"), usage=200))
    d, store = make(model)
    store.mail("lead", "hello")
    assert turn.run_turn(d, "s1", "lead").calls == 2
    assert [c["seq"] for c in d.meter.calls] == [1, 2]
    assert [c["usage"]["input_tokens"] for c in d.meter.calls] == [100, 200]
    assert all(c["model"] == "claude-sonnet-4-5" and c["usd"] > 0 for c in d.meter.calls)
    # The cost metered is the cost the transcript records for the same call.
    assert [c["usd"] for c in d.meter.calls] == [r["cost_usd"] for *_, r in d.journal.transcripts]


def test_busy_agent_coalesces_without_calling_the_model():
    model = ScriptedModel()
    d, store = make(model)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    store.agents["lead"]["lease"] = {"turn": "another-turn", "expires": later}
    store.mail("lead", "hello")
    assert turn.run_turn(d, "s1", "lead").kind == "busy"
    assert store.agents["lead"]["wake_pending"] is True
    assert model.requests == []


def test_no_mail_means_no_model_call():
    d, store = make(ScriptedModel())
    assert turn.run_turn(d, "s1", "lead").kind == "idle"
    assert store.agents["lead"]["lease"] is None


def test_engaged_kill_switch_stops_before_any_call_and_keeps_the_mail():
    d, store = make(ScriptedModel())
    store.kill = {"engaged": True, "reason": "stop"}
    store.mail("lead", "hello")
    assert turn.run_turn(d, "s1", "lead").kind == "inactive"
    assert not any(m["read"] for m in store.messages)


def test_kill_switch_between_calls_halts_and_marks_resume():
    store = FakeStore()
    store.agents["bob"] = agent_doc("teammate")

    def engage_after_first(request, should_abort):
        if len(model.requests) == 2:
            raise AssertionError("no second call may be made once the switch is engaged")
        store.kill = {"engaged": True, "reason": "operator"}

    model = ScriptedModel(
        answer(tool_use("send_message", {"to": "bob", "body": "hi"})), on_call=engage_after_first
    )
    d, _ = make(model, store)
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "halted" and "kill switch" in out.detail
    assert [m["to"] for m in store.messages if m["from"] == "lead"] == ["bob"]
    assert store.agents["lead"]["resume_pending"] is True


def test_crashed_turn_is_resumed_without_repeating_effects():
    store = FakeStore()
    create = tool_use("create_task", {"id": "t1", "title": "T"}, tid="toolu_fixed")
    # The turn dies on its second model call, after the first answer's tool call took effect.
    model = ScriptedModel(answer(create), turn.ChaosCrash("process killed"))
    d, _ = make(model, store)
    store.mail("lead", "plan")
    with pytest.raises(turn.ChaosCrash):
        turn.run_turn(d, "s1", "lead")
    assert store.agents["lead"]["lease"] is not None  # held by the dead turn
    # The watchdog frees the dead turn's lease and rings again.
    store.agents["lead"]["lease"] = None
    model.answers = [answer(text("done"))]
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "done"
    assert list(store.tasks) == ["t1"]
    replayed = results_sent(model.requests[-1])
    assert [r["tool_use_id"] for r in replayed] == ["toolu_fixed"]
    assert "error" not in replayed[0]["content"]
    assert [m["read"] for m in store.messages] == [True]


def test_transient_model_error_schedules_a_backoff_retry_honouring_retry_after():
    d, store = make(ScriptedModel(TransientError("529 overloaded", retry_after=7.5)))
    store.mail("lead", "hello")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "retry"
    kind, payload, delay = d.scheduler.items[-1]
    assert kind == "retry" and delay >= 7.5
    # The retry names the failed attempt, the turn the watchdog names: its trace shows the
    # retry as that turn's follower, and it can take back that turn's lease.
    watchdog = next(p for k, p, _ in d.scheduler.items if k == "watchdog")
    assert payload == {"swarm_id": "s1", "agent_id": "lead", "turn_id": watchdog["turn_id"]}
    assert store.agents["lead"]["lease"] is None
    assert not store.messages[0]["read"]  # nothing consumed: the retry sees the same mail


def test_permanent_error_fails_a_teammate_and_tells_the_lead():
    store = FakeStore()
    store.agents["bob"] = agent_doc("teammate")
    d, _ = make(ScriptedModel(PermanentError("401 invalid x-api-key")), store)
    store.mail("bob", "work")
    out = turn.run_turn(d, "s1", "bob")
    assert out.kind == "failed"
    assert store.agents["bob"]["status"] == "failed"
    assert any(m["to"] == "lead" and "bob failed" in m["body"] for m in store.messages)
    assert "lead" in d.bus.rings


def test_unknown_tool_and_bad_input_come_back_to_the_model_as_errors():
    model = ScriptedModel(
        answer(tool_use("launch_rockets", {}), tool_use("claim_task", {"task": "x"})),
        answer(text("sorry")),
    )
    d, store = make(model)
    store.mail("lead", "go")
    assert turn.run_turn(d, "s1", "lead").kind == "done"
    errors = results_sent(model.requests[1])
    assert all(r.get("is_error") for r in errors)
    assert "unknown tool" in errors[0]["content"] and "task_id" in errors[1]["content"]


def test_teammate_cannot_spawn_or_finish_whatever_the_model_asks():
    store = FakeStore()
    store.agents["bob"] = agent_doc("teammate")
    model = ScriptedModel(
        answer(
            tool_use("spawn_agent", {"name": "x", "instructions": "i"}),
            tool_use("finish_swarm", {"summary": "s"}),
        ),
        answer(text("ok")),
    )
    d, _ = make(model, store)
    store.mail("bob", "go")
    turn.run_turn(d, "s1", "bob")
    errors = results_sent(model.requests[1])
    assert [json.loads(r["content"])["code"] for r in errors] == ["forbidden", "forbidden"]
    assert store.swarm["status"] == "running" and set(store.agents) == {"lead", "bob"}
    assert [t["name"] for t in model.requests[0]["tools"] if t["name"] == "spawn_agent"] == []


def test_budget_refuses_a_call_whose_worst_case_would_cross_the_cap():
    store = FakeStore()
    store.swarm["budget"] = {"usd": 0.001}
    model = ScriptedModel()
    d, _ = make(model, store)
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "halted" and "budget" in out.detail
    assert model.requests == [] and store.swarm["status"] == "paused"
    assert not store.messages[0]["read"]


def test_spend_never_exceeds_the_budget_over_many_calls():
    store = FakeStore()
    store.swarm["budget"] = {"usd": 0.05}
    model = ScriptedModel(*[answer(tool_use("list_tasks", {})) for _ in range(50)])
    d, _ = make(model, store)
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "halted" and 0 < len(model.requests) < 50
    assert store.agents["lead"]["spent"]["usd"] <= 0.05


def test_turn_near_its_time_limit_rings_itself_to_continue():
    def tick(request, should_abort):
        d.clock.t += 100

    model = ScriptedModel(answer(tool_use("list_tasks", {})), on_call=tick)
    d, store = make(model, turn_wall_s=50, lease_ttl_s=120)
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "continued" and d.bus.rings == ["lead"]
    # The answer is saved and its tool call is replayed by the next turn.
    assert d.journal.conversations[("lead", 1)][-1]["content"][0]["name"] == "list_tasks"


def test_an_answer_that_comes_after_the_lease_could_have_lapsed_is_dropped_but_paid_for():
    def slow(request, should_abort):
        d.clock.t += 115  # the lease (120 s) is within its margin of expiring

    model = ScriptedModel(answer(tool_use("create_task", {"id": "t1", "title": "T"})), on_call=slow)
    d, store = make(model, turn_wall_s=50, lease_ttl_s=120)
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "continued" and d.bus.rings == ["lead"]
    # Nothing the turn did may land: no conversation, no tool effect, mail still unread.
    assert d.journal.conversations == {} and store.tasks == {}
    assert store.agents["lead"]["conv_version"] == 0 and store.unread("s1", "lead")
    assert store.agents["lead"]["spent"]["usd"] > 0


def test_tool_calls_replayed_late_in_the_lease_wait_for_the_next_turn():
    d, store = make(ScriptedModel(), turn_wall_s=100, lease_ttl_s=120)
    create = tool_use("create_task", {"id": "t1", "title": "T"})
    d.journal.conversations[("lead", 1)] = [
        {"role": "user", "content": [text("go")]},
        {"role": "assistant", "content": [create]},
    ]
    store.agents["lead"]["conv_version"] = 1
    load = d.journal.load_conversation

    def slow_load(sid, aid, version):
        d.clock.t += 115  # a stalled read leaves the lease within its margin of expiring
        return load(sid, aid, version)

    d.journal.load_conversation = slow_load
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "continued" and d.bus.rings == ["lead"]
    assert store.tasks == {} and store.agents["lead"]["conv_version"] == 1


def test_mail_during_the_turn_rings_again_after_release():
    model = ScriptedModel(answer(text("ok")))
    d, store = make(model)
    store.mail("lead", "first")

    def mail_meanwhile(request, should_abort):
        store.mail("lead", "second")
        store.agents["lead"]["wake_pending"] = True

    model.on_call = mail_meanwhile
    turn.run_turn(d, "s1", "lead")
    assert d.bus.rings == ["lead"]


def test_a_duplicate_doorbell_during_the_turn_does_not_ring_again():
    model = ScriptedModel(answer(text("ok")))
    d, store = make(model)
    store.mail("lead", "first")

    def duplicate_meanwhile(request, should_abort):
        store.agents["lead"]["wake_pending"] = True

    model.on_call = duplicate_meanwhile
    assert turn.run_turn(d, "s1", "lead").kind == "done"
    assert d.bus.rings == [] and store.agents["lead"]["wake_pending"] is False


@pytest.mark.parametrize(
    "point", ["after_lease", "after_model", "after_save", "after_tool", "before_release"]
)
def test_a_turn_killed_at_any_step_is_recovered_exactly_once(point):
    store = FakeStore()
    create = tool_use("create_task", {"id": "t1", "title": "T"}, tid="toolu_once")
    model = ScriptedModel(answer(create), answer(text("done")))
    d, _ = make(model, store, chaos_crash_rate=1.0, chaos_crash_points=(point,))
    store.mail("lead", "plan")
    with pytest.raises(turn.ChaosCrash):
        turn.run_turn(d, "s1", "lead")
    # The watchdog frees the lease; the next turn runs without chaos.
    store.agents["lead"]["lease"] = None
    d.settings = settings()
    # Killed before its answer was saved, the turn starts over and the model answers again;
    # killed after, the next turn resumes from the saved answer and replays its tool call.
    model.answers = {
        "after_lease": [answer(create), answer(text("done"))],
        "after_model": [answer(create), answer(text("done"))],
        "after_save": [answer(text("done"))],
        "after_tool": [answer(text("done"))],
        "before_release": [],
    }[point]
    assert turn.run_turn(d, "s1", "lead").kind == ("idle" if point == "before_release" else "done")
    assert model.answers == []
    assert list(store.tasks) == ["t1"]
    assert all(m["read"] for m in store.messages)
    assert store.agents["lead"]["lease"] is None


def test_swarm_wall_time_budget_stops_further_calls():
    import datetime as dt

    store = FakeStore()
    store.swarm["budget"] = {"wall_s": 60}
    store.swarm["created_at"] = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=61)
    model = ScriptedModel()
    d, _ = make(model, store)
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "halted" and "wall_s" in out.detail and model.requests == []


def test_unlimited_budgets_take_large_usd_allowances_not_one_per_call():
    store = FakeStore()
    grants = []
    real = store.grant_allowance

    def counting(*a, **k):
        grants.append(a[2])
        return real(*a, **k)

    store.grant_allowance = counting
    model = ScriptedModel(
        *[answer(tool_use("list_tasks", {})) for _ in range(10)], answer(text("ok"))
    )
    d, _ = make(model, store)
    store.mail("lead", "go")
    assert turn.run_turn(d, "s1", "lead").kind == "done"
    assert len(grants) == 1 and set(grants[0]) == {"usd"}


def test_a_resumed_turn_also_reads_mail_that_came_meanwhile():
    store = FakeStore()
    call = tool_use("list_tasks", {}, tid="toolu_owed")
    model = ScriptedModel(answer(text("ok")))
    d, _ = make(model, store)
    d.journal.save_conversation("s1", "lead", 1, [
        {"role": "user", "content": [text("<turn>{}</turn>")]},
        {"role": "assistant", "content": [call]},
    ])  # fmt: skip
    store.agents["lead"]["conv_version"] = 1
    mid = store.mail("lead", "news while you were down")
    assert turn.run_turn(d, "s1", "lead").kind == "done"
    last = model.requests[0]["messages"][-1]["content"]
    assert [b["type"] for b in last] == ["tool_result", "text"]
    assert "news while you were down" in last[1]["text"]
    assert [m["read"] for m in store.messages if m["id"] == mid] == [True]


def test_a_conversation_that_cannot_be_read_yet_is_retried_with_the_lease_given_back():
    d, store = make(ScriptedModel())
    store.agents["lead"]["conv_version"] = 3

    def unreachable(sid, aid, version):
        raise TransientError("storage unavailable")

    d.journal.load_conversation = unreachable
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "retry" and store.agents["lead"]["lease"] is None
    assert [k for k, *_ in d.scheduler.items] == ["watchdog", "retry"]


def test_an_unforeseen_error_gives_the_lease_back_and_propagates_for_redelivery():
    d, store = make(ScriptedModel())
    store.mail("lead", "go")

    def broken(sid, aid, limit=20):
        raise RuntimeError("bug")

    store.unread = broken
    with pytest.raises(RuntimeError, match="bug"):
        turn.run_turn(d, "s1", "lead")
    assert store.agents["lead"]["lease"] is None
