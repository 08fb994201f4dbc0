"""A model call has a total deadline, not only a per-read timeout: a stream that keeps sending an
event now and then is closed when the call has run CLOUDSWARM_MODEL_TIMEOUT_S x (retries + 1), so
no call outlasts the lease's fence; and a halt closes a stream at once, even a silent one. Through
the Claude adapter and the real Anthropic SDK against the local model server's slow-stream and
stall faults."""

from __future__ import annotations

import threading

import anthropic
import pytest

from cloudswarm.errors import Halted, TransientError
from cloudswarm.llm.claude import Claude
from tests.conftest import wait_until
from tests.integration.test_model_server import MODEL, entries, faults, http, turn


@pytest.fixture(scope="module")
def server():
    from emulators.model_server import ModelServer

    srv = ModelServer(port=0).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def fresh(server):
    assert http(server, "POST", "/_control/reset", {})[0] == 200


def claude(server, *, timeout_s: float, max_retries: int = 0) -> Claude:
    client = anthropic.Anthropic(
        base_url=server.url, api_key="test-key", timeout=timeout_s, max_retries=max_retries
    )
    return Claude(timeout_s=timeout_s, max_retries=max_retries, client=client)


def request(max_tokens: int = 4096) -> dict:
    return {"model": MODEL, "max_tokens": max_tokens, "messages": [turn()]}


def test_a_trickling_stream_is_closed_at_the_calls_deadline(server):
    # About 250 events, each 0.3 s after the last: every read is well inside the 1 s timeout,
    # so only a deadline on the whole call (1 s x (0 retries + 1)) can end it.
    assert http(server, "POST", "/_control/scenario", {"name": "kill"})[0] == 200
    faults(server, slow_stream_delay_s=0.3)
    model = claude(server, timeout_s=1.0)
    assert model.deadline_s == 1.0
    with pytest.raises(TransientError, match=r"closed at its 1 s deadline"):
        model.call(request(), should_abort=lambda: False)
    entry = wait_until(lambda: entries(server)[-1]["closed_by_client_at"] and entries(server)[-1])
    assert entry and entry["stream"] and entry["status"] == 200
    assert entry["events_sent"] < 50  # closed long before the answer's end
    stats = wait_until(
        lambda: (s := http(server, "GET", "/_control/stats")[2])["open_streams"] == 0 and s
    )
    assert stats["closed_by_client"] == 1


def test_the_deadline_counts_the_sdks_retries_and_spares_a_call_that_ends_in_time(server):
    assert http(server, "POST", "/_control/scenario", {"name": "demo"})[0] == 200
    model = claude(server, timeout_s=30.0, max_retries=2)
    assert model.deadline_s == 90.0
    answer = model.call(request(), should_abort=lambda: False)
    assert answer.stop_reason and answer.content
    assert entries(server)[-1]["closed_by_client_at"] is None
    explicit = Claude(timeout_s=30.0, max_retries=2, client=model.client, deadline_s=5.0)
    assert explicit.deadline_s == 5.0


def test_a_halt_closes_a_silent_stream_at_once(server):
    # The answer stalls after its first delta for far longer than the test: the reading thread
    # waits on a silent socket, and the halt must still reach the server (a paused agent, the
    # kill switch), not wait for the next event or the read timeout.
    stall_s = 60.0
    faults(server, stall_s=stall_s)
    model = claude(server, timeout_s=2 * stall_s)
    halt = threading.Event()

    def should_abort() -> bool:
        if not halt.is_set() and entries(server)[-1].get("events_sent", 0) >= 3:
            halt.set()  # the stall has begun: the first delta was sent
        return halt.is_set()

    with pytest.raises(Halted, match="halted while streaming"):
        model.call(request(), should_abort=should_abort)
    entry = wait_until(lambda: entries(server)[-1]["closed_by_client_at"] and entries(server)[-1])
    assert entry and entry["fault"] == "stall" and entry["done_at"]
    assert entry["closed_by_client_at"] < entry["time"] + stall_s  # not waited out
