"""The API's composition root: the services routes are handed, each built once per process.

Routes never locate a service themselves (no ``runtime.*`` calls, no Firestore client): they use
``call.services``, so what a route may touch is what this object offers. Each service is built on
first use, so a request that needs none (health, the OpenAPI document) touches no backing service.
"""

from __future__ import annotations

import datetime as dt
from functools import cache, cached_property
from typing import Protocol

from cloudswarm import runtime
from cloudswarm.api.config import config
from cloudswarm.api.keys import Keys
from cloudswarm.gcp.blobs import Blobs
from cloudswarm.gcp.bus import Bus
from cloudswarm.gcp.journal import Journal, Workspace
from cloudswarm.gcp.keys import FirestoreKeys
from cloudswarm.gcp.ratelimit import FirestoreRateLimiter, Window
from cloudswarm.gcp.store import FirestoreStore
from cloudswarm.gcp.webhook_deliveries import FirestoreDeliveries
from cloudswarm.service import Operations
from cloudswarm.settings import Settings, settings


class RateLimiter(Protocol):
    """Counts requests per server-side identity in fixed one-minute windows."""

    def record(self, bucket: str) -> Window:
        """Count one request; the window's count is read back with the caller's other reads."""
        ...

    def hit(self, bucket: str, limit: int) -> tuple[bool, float]:
        """Count one request and read the count: (allowed, seconds until the window resets)."""
        ...


class Deliveries(Protocol):
    """Webhook signatures already received, for the replay guard."""

    def claim_signature(
        self, name: str, signature: str, delivery_id: str, keep: dt.timedelta
    ) -> bool: ...


class Services:
    """What a route may use: the store, the doorbell, transcripts, the workspace's contents,
    keys, limits, settings."""

    @cached_property
    def settings(self) -> Settings:
        return settings()

    @cached_property
    def store(self) -> FirestoreStore:
        return runtime.store()

    @cached_property
    def bus(self) -> Bus:
        return runtime.bus()

    @cached_property
    def blobs(self) -> Blobs:
        return runtime.blobs()

    @cached_property
    def ops(self) -> Operations:
        """The operations the API shares with the triggers (``service.py``), on these services."""
        return Operations(self.store, self.bus, self.settings)

    @cached_property
    def transcripts(self) -> Journal:
        return Journal(self.blobs, self.settings.bucket("transcripts"))

    @cached_property
    def workspace(self) -> Workspace:
        return Workspace(self.blobs, self.settings.bucket("artifacts"))

    # The store's Firestore client serves the API's own collections too (one client a process).
    @cached_property
    def keys(self) -> Keys:
        return Keys(FirestoreKeys(self.store.db))

    @cached_property
    def limiter(self) -> RateLimiter:
        return FirestoreRateLimiter(self.store.db, config().rate_shards)

    @cached_property
    def deliveries(self) -> Deliveries:
        return FirestoreDeliveries(self.store.db)


@cache
def services() -> Services:
    return Services()
