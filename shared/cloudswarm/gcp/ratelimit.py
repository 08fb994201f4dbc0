"""The API's rate-limit counters, kept in Firestore so every instance shares them.

The bucket is always a server-side identity (a verified key id, a configured webhook name),
never anything the client merely asserts in a header. Fixed one-minute windows; each window's
count is spread over a few shard documents (a random one takes each increment) so a busy key
never makes one hot document, and all shards are read back in the same round trip as the
caller's other reads. An increment and a read are not one transaction: concurrent requests may
each see the other's increment, which can only over-count, never let more through.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from cloudswarm.gcp.fs import translated

COLLECTION = "rate_limits"
WINDOW_S = 60


@dataclass(frozen=True)
class Window:
    bucket: str
    index: int
    refs: tuple[firestore.DocumentReference, ...]  # every shard of this window

    @property
    def retry_after(self) -> float:
        return (self.index + 1) * WINDOW_S - time.time()


class FirestoreRateLimiter:
    """The API's ``RateLimiter`` (cloudswarm.api.services) over Firestore shard documents."""

    def __init__(self, db: firestore.Client, shards: int = 4):
        self.db, self.shards = db, shards

    def record(self, bucket: str) -> Window:
        """Count one request in the current window; the caller reads ``refs`` back (perhaps
        with other documents) and passes the snapshots to ``exceeded``."""
        index = int(time.time() // WINDOW_S)
        refs = tuple(
            self.db.collection(COLLECTION).document(f"{bucket}:{index}:{s}")
            for s in range(self.shards)
        )
        expires = dt.datetime.fromtimestamp((index + 2) * WINDOW_S, dt.UTC)
        with translated("count request"):
            # expires_at: a Firestore TTL policy on this field removes spent windows.
            random.choice(refs).set(
                {"n": firestore.Increment(1), "bucket": bucket, "expires_at": expires}, merge=True
            )
        return Window(bucket, index, refs)

    @staticmethod
    def count(window: Window, snaps: Sequence[Any]) -> int:
        paths = {r.path for r in window.refs}
        return sum(int(s.get("n") or 0) for s in snaps if s.exists and s.reference.path in paths)

    def hit(self, bucket: str, limit: int) -> tuple[bool, float]:
        """Record a request on its own; (allowed, seconds until the window resets)."""
        window = self.record(bucket)
        with translated("read request count"):
            snaps = list(self.db.get_all(list(window.refs)))
        return self.count(window, snaps) <= limit, window.retry_after
