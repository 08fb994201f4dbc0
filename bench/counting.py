"""Count and time what a Firestore client sends, as Firestore bills it.

Wraps the GAPIC methods of one ``firestore.Client`` (the layer every document, query, batch and
transaction call goes through), so nothing in the code under test changes. Billing rules as
Firestore applies them: a batch get reads each requested document (found or not), a query reads
each document it returns and at least one, a commit writes each ``Write`` it carries (a field
transform such as ``Increment`` rides on its document's write).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field


def _get(request, key: str):
    if isinstance(request, dict):
        return request.get(key)
    return getattr(request, key, None)


@dataclass
class Tally:
    rpcs: Counter = field(default_factory=Counter)
    reads: int = 0
    writes: int = 0
    seconds: float = 0.0  # time spent inside Firestore calls (streams: until exhausted)

    def as_dict(self) -> dict:
        return {
            "reads": self.reads,
            "writes": self.writes,
            "rpcs": dict(sorted(self.rpcs.items())),
            "rpc_total": sum(self.rpcs.values()),
            "firestore_s": round(self.seconds, 4),
        }


class FirestoreCounter:
    """``with counter.measure() as tally:`` counts the calls the wrapped client makes inside."""

    def __init__(self, client):
        self._lock = threading.Lock()
        self._tally: Tally | None = None
        api = client._firestore_api  # the GAPIC client, created on first access and cached
        for name in ("batch_get_documents", "run_query"):
            setattr(api, name, self._streaming(name, getattr(api, name)))
        for name in ("commit", "begin_transaction", "rollback"):
            setattr(api, name, self._unary(name, getattr(api, name)))

    def measure(self):
        counter = self

        class _Scope:
            def __enter__(self):
                with counter._lock:
                    counter._tally = Tally()
                return counter._tally

            def __exit__(self, *exc):
                with counter._lock:
                    counter._tally = None

        return _Scope()

    def _add(self, name: str, reads: int = 0, writes: int = 0, seconds: float = 0.0) -> None:
        with self._lock:
            t = self._tally
            if t is None:
                return
            if name:
                t.rpcs[name] += 1
            t.reads += reads
            t.writes += writes
            t.seconds += seconds

    def _unary(self, name: str, fn):
        def call(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                writes = len(_get(kwargs.get("request"), "writes") or []) if name == "commit" else 0
                self._add(name, writes=writes, seconds=time.perf_counter() - t0)

        return call

    def _streaming(self, name: str, fn):
        def call(*args, **kwargs):
            request = kwargs.get("request")
            t0 = time.perf_counter()
            stream = fn(*args, **kwargs)
            if name == "batch_get_documents":
                # Each requested document is a billed read, whether it exists or not.
                self._add(name, reads=len(_get(request, "documents") or []))
                self._add("", seconds=time.perf_counter() - t0)
                return _Timed(stream, lambda dt, n: self._add("", seconds=dt))
            self._add(name, seconds=time.perf_counter() - t0)

            def done(dt: float, docs: int) -> None:
                self._add("", reads=max(1, docs), seconds=dt)

            return _Timed(stream, done, count=lambda r: bool(getattr(r, "document", None)))

        return call


class _Timed:
    """Iterate a response stream, reporting the time spent in it and how many items counted."""

    def __init__(self, stream, done, count=None):
        self._stream, self._done, self._count = stream, done, count
        self._n, self._t, self._reported = 0, 0.0, False

    def __iter__(self):
        return self

    def __next__(self):
        t0 = time.perf_counter()
        try:
            item = next(self._stream)
        except StopIteration:
            self._t += time.perf_counter() - t0
            self._finish()
            raise
        self._t += time.perf_counter() - t0
        if self._count is None or self._count(item):
            self._n += 1
        return item

    def _finish(self):
        if not self._reported:
            self._reported = True
            self._done(self._t, self._n)

    def __getattr__(self, name):  # cancel(), etc. on the underlying gRPC stream
        return getattr(self._stream, name)
