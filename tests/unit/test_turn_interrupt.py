"""An operator steering one agent: an interrupt stops its running turn and opens the next one,
a pause keeps it from starting any, a resume lets it go on; nothing is lost or run twice."""

from __future__ import annotations

import json
import threading

from cloudswarm.core import agent_control, turn
from cloudswarm.errors import Halted
from cloudswarm.gcp.control_watch import ControlWatch
from tests.unit.test_turn import make
from tests.unit.turn_fakes import FakeStore, ScriptedModel, agent_doc, answer, text, tool_use

SID = FakeStore.SID


def interrupt(store: FakeStore, aid: str, body: str, mid: str = "int-1") -> None:
    store.apply(agent_control.interrupt_agent(SID, aid, mid, body, "op"), what="interrupt")


def pause(store: FakeStore, aid: str) -> None:
    store.apply(agent_control.pause_agent(SID, aid, "op"), what="pause")


def inbox_of(user_message: dict) -> list[dict]:
    texts = [b["text"] for b in user_message["content"] if b["type"] == "text"]
    payload = json.loads(texts[-1].removeprefix("<turn>").removesuffix("</turn>"))
    return payload["inbox"]


def test_an_interrupt_closes_the_stream_and_the_next_turn_reads_it_first():
    store = FakeStore()

    def interrupted_while_streaming(request, should_abort):
        if len(model.requests) == 1:
            assert should_abort() is False  # the turn's own start does not stop it
            interrupt(store, "lead", "Stop: plan only two tasks.")
            assert should_abort() is True  # what the adapter polls while it streams

    model = ScriptedModel(
        Halted("model stream closed: halted while streaming"),  # the adapter's answer to it
        answer(text("Two tasks, then.")),
        on_call=interrupted_while_streaming,
    )
    d, _ = make(model, store)
    older = store.mail("lead", "an older message")
    out = turn.run_turn(d, SID, "lead")
    assert (out.kind, out.detail) == ("interrupted", "stopped by an operator")
    lead = store.agents["lead"]
    # The halted answer is not kept, the mail it read stays unread, the agent is rung.
    assert lead["conv_version"] == 0 and lead["lease"] is None and lead["status"] == "idle"
    assert not any(m["read"] for m in store.messages)
    assert d.bus.rings == ["lead"]
    assert turn.run_turn(d, SID, "lead").kind == "done"
    inbox = inbox_of(model.requests[1]["messages"][-1])
    assert [(m["id"], m["kind"]) for m in inbox] == [("int-1", "interrupt"), (older, "message")]
    assert inbox[0]["body"] == "Stop: plan only two tasks." and inbox[0]["from"] == "human:op"
    assert all(m["read"] for m in store.messages)
    assert store.agents["lead"]["resume_pending"] is False


def test_an_interrupt_between_calls_stops_before_the_next_one_and_repeats_no_effect():
    store = FakeStore()
    store.agents["bob"] = agent_doc("teammate")
    send = tool_use("send_message", {"to": "bob", "body": "hi"}, tid="toolu_send")

    def interrupted_as_the_answer_ends(request, should_abort):
        if len(model.requests) == 1:
            interrupt(store, "lead", "Change of plan.")  # too late for this stream

    model = ScriptedModel(answer(send), answer(text("ok")), on_call=interrupted_as_the_answer_ends)
    d, _ = make(model, store)
    store.mail("lead", "go")
    assert turn.run_turn(d, SID, "lead").kind == "interrupted"
    assert len(model.requests) == 1  # no second call once told to stop
    assert turn.run_turn(d, SID, "lead").kind == "done"
    last = model.requests[1]["messages"][-1]
    # The result the log owed first (the API wants it there), then the interrupt, first mail.
    assert last["content"][0]["type"] == "tool_result"
    assert [m["kind"] for m in inbox_of(last)] == ["interrupt"]
    assert [m["body"] for m in store.messages if m["from"] == "lead"] == ["hi"]  # sent once


def test_a_turn_that_starts_after_an_interrupt_is_not_stopped_by_it():
    model = ScriptedModel(answer(text("read it")))
    d, store = make(model)
    store.agents["lead"]["lease"] = {
        "turn": "old",
        "expires": store.executor.store.epoch,
    }  # a dead turn
    interrupt(store, "lead", "now this")
    assert store.swarm["interrupts"] == {"lead": 1}
    assert turn.run_turn(d, SID, "lead").kind == "done" and len(model.requests) == 1


def test_a_paused_agent_starts_no_turn_keeps_its_mail_and_resumes():
    model = ScriptedModel(answer(text("back")))
    d, store = make(model)
    store.mail("lead", "hello")
    pause(store, "lead")
    assert "interrupts" not in store.swarm  # no turn to stop: the swarm is not written
    out = turn.run_turn(d, SID, "lead")
    assert (out.kind, out.detail) == ("inactive", "agent is paused")
    assert model.requests == [] and not any(m["read"] for m in store.messages)
    store.apply(agent_control.resume_agent(SID, "lead", "op"), what="resume")
    assert store.agents["lead"]["status"] == "idle"
    assert turn.run_turn(d, SID, "lead").kind == "done" and len(model.requests) == 1


def test_pausing_a_streaming_agent_closes_its_call_and_it_stays_paused():
    store = FakeStore()

    def paused_while_streaming(request, should_abort):
        pause(store, "lead")
        assert should_abort() is True

    model = ScriptedModel(Halted("model stream closed"), on_call=paused_while_streaming)
    d, _ = make(model, store)
    store.mail("lead", "hello")
    assert turn.run_turn(d, SID, "lead").kind == "interrupted"
    lead = store.agents["lead"]
    assert (lead["status"], lead["resume_pending"], lead["lease"]) == ("paused", True, None)
    assert turn.run_turn(d, SID, "lead").kind == "inactive"  # the ring finds it paused
    assert not any(m["read"] for m in store.messages)


def test_the_kill_switch_still_halts_rather_than_interrupts():
    store = FakeStore()

    def both(request, should_abort):
        interrupt(store, "lead", "x")
        store.kill = {"engaged": True, "reason": "drill"}

    model = ScriptedModel(Halted("model stream closed"), on_call=both)
    d, _ = make(model, store)
    store.mail("lead", "hello")
    assert turn.run_turn(d, SID, "lead").kind == "halted"
    assert d.bus.rings == []  # releasing the switch rings it, not this turn


class _Controls:
    """The two reads the watch makes, over a FakeStore."""

    def __init__(self, store: FakeStore, hold: threading.Event | None = None):
        self.store, self.reads, self.hold = store, 0, hold

    def control_snapshot(self, sid):
        self.reads += 1
        return self.store.control_snapshot(sid)

    def control_many(self, sids):
        self.reads += 1
        if self.hold is not None:
            self.hold.wait(10)  # the poller's reading lands only once the test lets it
        return self.store.kill, {s: self.store.control_snapshot(s)[1] for s in sids}


def test_the_watch_tells_each_agent_apart_with_one_read_per_swarm():
    store = FakeStore()
    # The poller's first reading is held back, so it cannot land after the test's own change
    # with what it read before (a race on a busy machine); then it waits: readings stay fresh.
    hold = threading.Event()
    watch = ControlWatch(_Controls(store, hold), period_s=60)
    assert watch.halted(SID, "lead", 0) is False
    store.swarm["interrupts"] = {"lead": 1}
    watch._state.clear()  # as a new reading would
    assert watch.halted(SID, "lead", 0) is True
    assert watch.halted(SID, "lead", 1) is False  # a turn that began after it
    assert watch.halted(SID, "bob", 0) is False
    assert watch.halted(SID) is False
    assert watch.store.reads <= 3  # one per fresh reading, not one per agent asked
    hold.set()
