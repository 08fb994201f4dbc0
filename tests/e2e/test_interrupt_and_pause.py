"""An operator steering one agent on the whole stack (scenario ``redirect``): an interrupt closes
the lead's streaming call and its next call opens with the message; a paused teammate makes no
call while the other one works, and goes on once resumed. Nothing is lost or done twice.

How long the interrupted stream took to close is measured, not asserted (no timed assertions):
it is printed and recorded as a test property (docs/bench.md keeps a run's figures)."""

from __future__ import annotations

import json
import time

import pytest

from cloudswarm import runtime, service
from cloudswarm.core.models import Budget
from cloudswarm.gcp.journal import Journal
from tests.conftest import wait_until
from tests.e2e.conftest import wait_for_status
from tests.e2e.swarm_checks import assert_exactly_once

REDIRECT = "Plan it now: two workers, three tasks."
STALL_S = 60  # far longer than a pause takes to commit, well inside the model timeout (120 s)


@pytest.fixture
def redirect(model_server):
    model_server._call("/_control/scenario", {"name": "redirect"})
    yield model_server
    model_server._call("/_control/scenario", {"name": "demo"})


def streaming(server, agent: str) -> dict | None:
    """An agent's call whose answer is streaming: the server logs a request when it arrives and
    sets its status (200) only once a scenario rule has decided the answer, so a call seen
    before that has no rule yet."""
    return next(
        (
            r
            for r in server.requests()
            if r.get("agent") == agent
            and r.get("stream")
            and r.get("status") == 200
            and not r.get("done_at")
        ),
        None,
    )


def finished(server, seq: int) -> dict | None:
    return next((r for r in server.requests() if r["seq"] == seq and r.get("done_at")), None)


def interrupt_the_talking_lead(sid: str, server) -> tuple[dict, float, float]:
    """Wait for the lead's slow first answer, interrupt it; (its log entry once closed, when the
    interrupt was sent, when its transaction had committed)."""
    talking = wait_until(lambda: streaming(server, "lead"), timeout=60)
    assert talking and talking["rule"].startswith("lead-talk"), talking
    sent_at = time.time()
    service.interrupt_agent(sid, "lead", REDIRECT, actor="e2e")
    committed_at = time.time()
    closed = wait_until(lambda: finished(server, talking["seq"]), timeout=30)
    assert closed, f"the interrupted stream never ended: {talking}"
    return closed, sent_at, committed_at


def last_user_inbox(request: dict) -> list[dict]:
    texts = [b["text"] for b in request["messages"][-1]["content"] if b.get("type") == "text"]
    return json.loads(texts[-1].split("<turn>", 1)[1].rsplit("</turn>", 1)[0])["inbox"]


def test_an_interrupt_closes_the_leads_stream_and_its_next_call_reads_it_first(
    full_stack, redirect, record_property
):
    sid, _ = service.start_swarm("talk until told", actor="e2e", budget=Budget(usd=5))
    closed, sent_at, committed_at = interrupt_the_talking_lead(sid, redirect)
    at = closed["closed_by_client_at"]
    assert at, closed  # CloudSwarm hung up, the server did not finish
    record_property("interrupt_sent_to_stream_closed_s", round(at - sent_at, 3))
    record_property("interrupt_committed_to_stream_closed_s", round(at - committed_at, 3))
    print(
        f"\ninterrupt sent -> stream closed by the client: {at - sent_at:.3f} s "
        f"(of which the interrupt's own transaction: {committed_at - sent_at:.3f} s)"
    )
    following = wait_until(
        lambda: next(
            (
                r
                for r in redirect.requests()
                if r.get("agent") == "lead" and r["seq"] > closed["seq"] and r.get("done_at")
            ),
            None,
        ),
        timeout=60,
    )
    # The policy reads only the request: this rule answers when the first inbox entry of the
    # last <turn> is an interrupt.
    assert following and following["rule"].startswith("lead-redirected"), following
    swarm = wait_for_status(sid, {"completed", "failed", "paused"})
    assert swarm["status"] == "completed", swarm
    # The call itself, as the lead's transcript holds it: the interrupt opens the inbox, ahead
    # of the goal it had not finished reading; the halted answer was never saved.
    journal = Journal(runtime.blobs(), runtime.settings().bucket("transcripts"))
    first = journal.read_transcript(journal.transcript_objects(sid, "lead")[0])
    inbox = last_user_inbox(first["request"])
    assert [(m["kind"], m["body"]) for m in inbox[:1]] == [("interrupt", REDIRECT)], inbox
    assert [m["kind"] for m in inbox] == ["interrupt", "goal"]
    assert_exactly_once(sid, redirect.requests, expected_tasks=3)


def test_a_paused_teammate_makes_no_call_while_the_other_works_and_resumes(
    full_stack, redirect, record_property
):
    # Only the sleeper's calls stream slowly, and each stalls after its first events until the
    # client hangs up: the pause lands mid-call however long its transaction takes (with the
    # teammates' turns side by side, the emulator's lock waits can hold it for seconds, longer
    # than a short answer streams).
    redirect.faults(slow_stream_delay_s=1.0, stall_s=STALL_S, agents=["sleeper"])
    sid, _ = service.start_swarm("talk until told", actor="e2e", budget=Budget(usd=5))
    interrupt_the_talking_lead(sid, redirect)  # the lead plans once redirected
    call = wait_until(lambda: streaming(redirect, "sleeper"), timeout=60)
    assert call, "the sleeper never started a call"
    paused_at = time.time()
    assert service.pause_agent(sid, "sleeper", actor="e2e")["status"] == "paused"
    committed_at = time.time()
    closed = wait_until(lambda: finished(redirect, call["seq"]), timeout=30)
    assert closed and closed["closed_by_client_at"], closed
    at = closed["closed_by_client_at"]
    record_property("pause_sent_to_stream_closed_s", round(at - paused_at, 3))
    record_property("pause_committed_to_stream_closed_s", round(at - committed_at, 3))
    print(f"\npause sent -> stream closed: {at - paused_at:.3f} s (committed after "
          f"{committed_at - paused_at:.3f} s)")  # fmt: skip
    store = runtime.store()

    def steady_done() -> bool:
        tasks = {t["id"]: t for t in store.list_tasks(sid, status=None, owner="steady", limit=10)}
        return {t["status"] for t in tasks.values()} == {"done"} and len(tasks) == 2

    assert wait_until(steady_done, timeout=120), store.list_tasks(
        sid, status=None, owner=None, limit=10
    )
    assert wait_until(lambda: store.get_agent(sid, "sleeper")["lease"] is None, timeout=30)
    sleeper = store.get_agent(sid, "sleeper")
    assert sleeper["status"] == "paused", sleeper
    later = [
        r for r in redirect.requests() if r.get("agent") == "sleeper" and r["time"] > paused_at
    ]
    assert later == [], later  # no call while paused, though its teammate worked meanwhile
    steady = [
        r for r in redirect.requests() if r.get("agent") == "steady" and r["time"] > paused_at
    ]
    assert steady, "the other teammate made no call while the sleeper was paused"
    nap = next(t for t in store.list_tasks(sid, status=None, owner="sleeper", limit=10))
    assert nap["status"] != "done"
    redirect.faults()
    assert service.resume_agent(sid, "sleeper", actor="e2e")["status"] == "idle"
    swarm = wait_for_status(sid, {"completed", "failed", "paused"})
    assert swarm["status"] == "completed", swarm
    assert_exactly_once(sid, redirect.requests, expected_tasks=3)
