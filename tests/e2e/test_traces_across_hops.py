"""One trace from a human's API call to every turn it causes, on the whole stack, under chaos.

The functions write their spans as JSON lines into the run folder (``CLOUDSWARM_TRACING=file``)
and this test reads them back once the swarm has finished. The swarm is started through the
API with a ``traceparent`` of the test's own, so the trace id is known in advance; turns are
killed at every step and the model answers 529 now and then, so the trace must also hold the
watchdogs and retries that recovered them, each under the turn it recovers.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from emulators.stack import Stack
from tests.conftest import wait_until
from tests.e2e.chaos_checks import CHAOS_ENV
from tests.e2e.conftest import ModelServer, running_stack, wait_for_status

TRACE_ID = secrets.token_hex(16)
CALLER_SPAN = secrets.token_hex(8)


@pytest.fixture(scope="module")
def traced_stack(tmp_path_factory) -> Iterator[Stack]:
    run_dir = tmp_path_factory.mktemp("traces-stack")
    function_env = {
        **CHAOS_ENV,
        "CLOUDSWARM_CHAOS_CRASH_RATE": "0.08",
        "CLOUDSWARM_CHAOS_SEED": "7",
        "CLOUDSWARM_TRACING": "file",
        "CLOUDSWARM_TRACING_DIR": str(run_dir / "traces"),
    }
    with running_stack(run_dir, function_env) as stack:
        yield stack


def read_spans(folder: Path) -> list[dict]:
    spans = []
    for path in sorted(folder.glob("spans-*.jsonl")):
        spans += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return spans


def _id(value: str | None) -> str | None:
    return value.removeprefix("0x") if value else None


def killed(span: dict) -> bool:
    return any("ChaosCrash" in e["attributes"].get("exception.type", "") for e in span["events"])


def unwatched(spans: list[dict]) -> list[str]:
    """The killed turns whose watchdog has not run yet."""
    watched = {_id(s["parent_id"]) for s in spans if s["name"] == "task_dispatch watchdog"}
    return [
        s["attributes"]["cloudswarm.turn.id"]
        for s in spans
        if s["name"].startswith("invoke_agent ")
        and killed(s)
        and _id(s["context"]["span_id"]) not in watched
    ]


def unretried(spans: list[dict]) -> list[str]:
    """The turns that ended in a retry whose retry task has not run yet."""
    retried = {_id(s["parent_id"]) for s in spans if s["name"] == "task_dispatch retry"}
    return [
        s["attributes"]["cloudswarm.turn.id"]
        for s in spans
        if s["name"].startswith("invoke_agent ")
        and s["attributes"].get("cloudswarm.turn.outcome") == "retry"
        and _id(s["context"]["span_id"]) not in retried
    ]


def test_one_trace_follows_the_api_call_through_every_turn_and_recovery(traced_stack):
    env = traced_stack.env()
    api, model = env["CLOUDSWARM_API_URL"], ModelServer(env["CLOUDSWARM_MODEL_URL"])
    model.reset()
    model.faults(seed=3, rate_529=0.05, retry_after_s=1)
    session = requests.Session()
    session.trust_env = False
    key = (traced_stack.run_dir / "admin-key").read_text().strip()
    token = session.post(f"{api}/api/auth/token", json={"api_key": key}).json()["token"]
    created = session.post(
        f"{api}/api/swarms",
        json={"goal": "demo", "budget": {"usd": 5}},
        headers={
            "Authorization": f"Bearer {token}",
            "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01",
        },
    )
    assert created.status_code == 201, created.text
    sid = created.json()["swarm_id"]
    swarm = wait_for_status(sid, {"completed", "failed", "paused"}, timeout=240)
    assert swarm["status"] == "completed", swarm
    # A turn killed or retried near the end is recovered after the swarm completes: wait for
    # the watchdog of every killed turn and the retry of every retried one before stopping the
    # stack (each process then closes its span file).
    folder = traced_stack.run_dir / "traces"

    def pending() -> list[str]:
        spans = read_spans(folder)
        return unwatched(spans) + unretried(spans)

    assert wait_until(lambda: not pending(), timeout=90), pending()
    traced_stack.down()

    spans = read_spans(traced_stack.run_dir / "traces")
    by_id = {_id(s["context"]["span_id"]): s for s in spans}
    children = defaultdict(list)
    for s in spans:
        children[_id(s["parent_id"])].append(s)
    mine = [s for s in spans if s["attributes"].get("cloudswarm.swarm.id") == sid]
    turns = [s for s in mine if s["name"].startswith("invoke_agent ")]
    assert turns, "no turn was traced"

    # The API call is the child of the caller's span, in the caller's trace.
    (call,) = [s for s in spans if _id(s["parent_id"]) == CALLER_SPAN]
    assert call["name"] == "api POST" and call["kind"] == "SpanKind.SERVER"
    assert _id(call["context"]["trace_id"]) == TRACE_ID

    # Every turn of the swarm is in that one trace, and its parent chain reaches the API call:
    # no turn is an orphan, and no parent is missing.
    def chain(span: dict) -> list[dict]:
        out = [span]
        while _id(out[-1]["parent_id"]) in by_id:
            out.append(by_id[_id(out[-1]["parent_id"])])
        return out

    # The one other root a turn may have is the scheduled sweep (Cloud Scheduler's safety net),
    # when it frees a dead turn's lease before that turn's watchdog does: a trace of its own.
    for t in turns:
        root = chain(t)[-1]
        assert root is call or root["name"] == "task_dispatch sweep", [s["name"] for s in chain(t)]
        assert _id(t["context"]["trace_id"]) == _id(root["context"]["trace_id"])
    in_call = [t for t in turns if chain(t)[-1] is call]
    agents_in_call = {t["attributes"]["cloudswarm.agent.id"] for t in in_call}
    # When the sweep frees the lead's lease early (a chaos kill of its first turn), the lead's
    # later turns, and the teammates they spawn, sit in the sweep's trace: then only the lead's
    # first turn is sure to be in the call's. With no turn swept, every agent is in the call's.
    assert "lead" in agents_in_call
    if all(chain(t)[-1] is call for t in turns):
        assert agents_in_call >= {"lead", "researcher"}, agents_in_call

    # The lead's first turn is the API call's child; inside each turn, the model calls and tool
    # calls are its children, with their GenAI attributes.
    assert any(t["name"] == "invoke_agent lead" for t in children[_id(call["context"]["span_id"])])
    for t in turns:
        for c in children[_id(t["context"]["span_id"])]:
            kind = c["attributes"].get("gen_ai.operation.name")
            if kind == "chat":
                assert c["attributes"]["gen_ai.request.model"]
                # A call that failed (a 529, a broken stream) has no usage, only its error.
                answered = c["status"]["status_code"] != "ERROR"
                assert answered == ("gen_ai.usage.input_tokens" in c["attributes"]), c
            elif kind == "execute_tool":
                assert c["attributes"]["gen_ai.tool.call.id"]

    # A teammate's send_message reaches the lead: the lead's turn that read it links to the
    # sending span, and that span's doorbell is the parent of a lead turn.
    traces = {_id(t["context"]["trace_id"]) for t in turns}  # the call's, and any sweep's
    sends = [
        s
        for s in spans
        if s["name"] == "execute_tool send_message" and _id(s["context"]["trace_id"]) in traces
    ]
    assert sends, "no message was sent"
    links = {_id(ln["context"]["span_id"]) for t in turns for ln in t["links"]}
    linked = [s for s in sends if _id(s["context"]["span_id"]) in links]
    assert linked, "no turn links to the send_message that brought its mail"
    # A send's doorbell starts a lead turn as its child when the lead is free; when the lead is
    # busy the doorbell is coalesced, and the turn that reads the mail links to the send instead.
    # Which of the two happens is up to timing; a send must reach a lead turn one way or the other.
    lead_turns = [t for t in turns if t["name"] == "invoke_agent lead"]
    lead_links = {_id(ln["context"]["span_id"]) for t in lead_turns for ln in t["links"]}

    def reaches_the_lead(send: dict) -> bool:
        sid_ = _id(send["context"]["span_id"])
        return sid_ in lead_links or any(t in lead_turns for t in children[sid_])

    assert any(reaches_the_lead(s) for s in sends), "no send_message reached a lead turn"

    # And the teammates' turns hang under the lead's tool calls that handed them work.
    def parent(span: dict) -> dict:
        return by_id.get(_id(span["parent_id"])) or {"name": None, "parent_id": None}

    teammates = [t for t in turns if t["name"] != "invoke_agent lead"]
    handed = [
        t
        for t in teammates
        if parent(t)["name"] in ("execute_tool spawn_agent", "execute_tool create_task")
        and parent(parent(t))["name"] == "invoke_agent lead"
    ]
    assert handed, "no teammate's turn sits under the lead's tool call that rang it"

    # Chaos: a killed turn is an error span; its watchdog is its child and names it, and the
    # turn the watchdog rang says it is that turn's redelivery.
    crashed = [t for t in turns if killed(t)]
    assert crashed, "the chaos run killed no turn"
    for t in crashed:
        assert t["status"]["status_code"] == "ERROR"
        turn_id = t["attributes"]["cloudswarm.turn.id"]
        (dog,) = [
            c
            for c in children[_id(t["context"]["span_id"])]
            if c["name"] == "task_dispatch watchdog"
        ]
        assert dog["attributes"]["cloudswarm.turn.retry_of"] == turn_id
        if dog["attributes"].get("cloudswarm.rang"):
            # Its doorbell (delivered twice, by the chaos settings) runs the redelivered turn.
            again = [c for c in children[_id(dog["context"]["span_id"])] if c in turns]
            assert again, f"the watchdog of {turn_id} rang, but no turn ran under it"
            for a in again:
                assert a["attributes"]["cloudswarm.turn.redelivery"] == "watchdog"
                assert a["attributes"]["cloudswarm.turn.retry_of"] == turn_id
                assert (
                    a["attributes"]["cloudswarm.agent.id"] == t["attributes"]["cloudswarm.agent.id"]
                )
    # A turn whose model call failed for a while is retried under itself, by name.
    for t in [t for t in turns if t["attributes"].get("cloudswarm.turn.outcome") == "retry"]:
        (retry,) = [
            c for c in children[_id(t["context"]["span_id"])] if c["name"] == "task_dispatch retry"
        ]
        assert (
            retry["attributes"]["cloudswarm.turn.retry_of"] == t["attributes"]["cloudswarm.turn.id"]
        )
    # No prompt text in any span: content capture is off.
    assert not any(k.startswith("gen_ai.input") for s in spans for k in s["attributes"])
