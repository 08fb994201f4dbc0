"""Exactly-once checks over a finished swarm, shared by the e2e and chaos tests."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from cloudswarm import runtime
from cloudswarm.gcp.journal import Journal
from cloudswarm.settings import settings
from tests.conftest import wait_until


def assert_exactly_once(
    sid: str, model_requests: Callable[[], list[dict]], expected_tasks: int
) -> None:
    """Every task done once, every report sent once, no lease left, and a transcript for every
    answer the model server sent whole. ``model_requests`` reads the server's log: it is read
    once no turn holds a lease, since a turn still running when the swarm completed may yet
    get an answer (and write its transcript) after the swarm's status says completed."""
    store = runtime.store()
    tasks = store.list_tasks(sid, status=None, owner=None, limit=50)
    assert len(tasks) == expected_tasks and {t["status"] for t in tasks} == {"done"}, tasks

    events = [e.to_dict() for e in store.p.events(sid).stream()]
    done = Counter(e["data"]["task"] for e in events if e["kind"] == "task_done")
    assert done == {t["id"]: 1 for t in tasks}, done  # every task completed exactly once

    messages = [m.to_dict() for m in store.p.messages(sid).stream()]
    reports = Counter(
        (m["from"], m["to"], m["body"]) for m in messages if m.get("kind") == "message"
    )
    assert reports and max(reports.values()) == 1, reports  # no message delivered twice
    assert sum(1 for k in reports if k[1] == "lead") == expected_tasks

    _no_lease_held(store, sid)
    journal = Journal(runtime.blobs(), settings().bucket("transcripts"))
    agents = [a["id"] for a in store.list_agents(sid)]
    transcripts = sum(len(journal.transcript_objects(sid, a)) for a in agents)
    answered = [
        r
        for r in model_requests()
        if r["status"] == 200 and not r.get("closed_by_client_at") and r.get("agent")
    ]
    assert transcripts == len(answered), (transcripts, len(answered))


def _no_lease_held(store, sid: str) -> None:
    # A turn still finishing, or killed and waiting for its watchdog at lease expiry, may hold a
    # lease as the swarm completes; none may keep it past the lease's lifetime.
    def held() -> list[str]:
        return [a["id"] for a in store.list_agents(sid) if a["lease"] is not None]

    assert wait_until(lambda: not held(), timeout=30, every=0.25), f"leases held: {held()}"


class MostWorkingAtOnce:
    """Watches a swarm's agents with a Firestore listener and keeps the most that were working
    (status "running": a turn holds the lease) in one snapshot, and who they were."""

    def __init__(self, sid: str):
        self.sid = sid
        self.most: set[str] = set()
        self._lock = threading.Lock()
        self._watch = None

    def __enter__(self) -> MostWorkingAtOnce:
        self._watch = runtime.store().p.agents(self.sid).on_snapshot(self._seen)
        return self

    def _seen(self, docs, changes, read_time) -> None:
        working = {d.id for d in docs if (d.to_dict() or {}).get("status") == "running"}
        with self._lock:
            if len(working) > len(self.most):
                self.most = working

    def __exit__(self, *exc) -> None:
        self._watch.unsubscribe()
