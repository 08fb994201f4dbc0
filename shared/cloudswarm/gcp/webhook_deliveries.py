"""Signatures of webhook deliveries already received, in Firestore (the replay guard's memory)."""

from __future__ import annotations

import datetime as dt

from google.api_core import exceptions as gexc
from google.cloud import firestore

from cloudswarm.gcp.fs import now, translated

MARKERS = "webhook_deliveries"


class FirestoreDeliveries:
    def __init__(self, db: firestore.Client):
        self.db = db

    def claim_signature(
        self, name: str, signature: str, delivery_id: str, keep: dt.timedelta
    ) -> bool:
        """Record that ``signature`` came with ``delivery_id``; False when it came before with
        another delivery id (a captured request replayed under a fresh id)."""
        ref = self.db.collection(MARKERS).document(f"{name}:{signature}")
        try:
            with translated("claim webhook signature"):
                # expires_at: a Firestore TTL policy on this field removes old markers.
                ref.create({"delivery": delivery_id, "at": now(), "expires_at": now() + keep})
        except gexc.AlreadyExists:
            with translated("read webhook signature"):
                seen = ref.get()
            return seen.exists and seen.get("delivery") == delivery_id
        return True
