"""One poller per process for "should streaming calls stop?".

Every streaming model call asks several times a second whether the kill switch is engaged, its
swarm has stopped running, or an operator told its agent to stop (the swarm document's
``interrupts``, ``core/agent_control.py``: read with the swarm, so no read per agent). Asked of
Firestore directly that is a read per stream per tick; here one background thread reads the kill
switch and every swarm with a live stream in a single round trip per tick, however many streams
the process serves (the local stack runs many turns per process).
"""

from __future__ import annotations

import threading
import time

from cloudswarm.core.agent_control import interrupted
from cloudswarm.errors import CloudSwarmError


class ControlWatch:
    def __init__(self, store, period_s: float = 0.15, linger_s: float = 2.0):
        self.store, self.period_s, self.linger_s = store, period_s, linger_s
        self._lock = threading.Lock()
        self._asked: dict[str, float] = {}  # swarm id -> when a stream last asked
        # swarm id -> (halted, the swarm's interrupt counts, read at)
        self._state: dict[str, tuple[bool, dict, float]] = {}
        self._thread: threading.Thread | None = None

    def halted(self, sid: str, aid: str = "", seen: int = 0) -> bool:
        now = time.monotonic()
        with self._lock:
            self._asked[sid] = now
            known = self._state.get(sid)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="control-watch", daemon=True)
                self._thread.start()
        if not (known and now - known[2] < 3 * self.period_s):
            # No fresh reading yet (first ask, or the poller is behind): read now.
            kill, swarm = self.store.control_snapshot(sid)
            known = _reading(kill, swarm, time.monotonic())
            with self._lock:
                self._state[sid] = known
        stop, swarm_counts, _ = known
        return stop or bool(aid and interrupted({"interrupts": swarm_counts}, aid, seen))

    def _run(self) -> None:
        tick = threading.Event()
        while True:
            now = time.monotonic()
            with self._lock:
                for sid in [s for s, t in self._asked.items() if now - t > self.linger_s]:
                    del self._asked[sid]
                    self._state.pop(sid, None)
                sids = list(self._asked)
            if not sids:
                with self._lock:
                    if not self._asked:
                        self._thread = None
                        return
                continue
            try:
                kill, swarms = self.store.control_many(sids)
            except CloudSwarmError:
                tick.wait(self.period_s)  # the streams fall back to direct reads meanwhile
                continue
            read_at = time.monotonic()
            with self._lock:
                for sid in sids:
                    self._state[sid] = _reading(kill, swarms.get(sid, {}), read_at)
            tick.wait(self.period_s)


def _reading(kill: dict, swarm: dict, read_at: float) -> tuple[bool, dict, float]:
    stop = bool(kill.get("engaged")) or swarm.get("status") != "running"
    return stop, dict(swarm.get("interrupts") or {}), read_at
