"""API key records, revoked tokens and their audit trail, in Firestore.

The API's ``KeyRecords`` port (cloudswarm.api.keys): what a key looks like, how it is checked and
who may hold one is decided there; this module only stores and reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm.errors import Conflict, NotFound
from cloudswarm.gcp.fs import now, translated
from cloudswarm.gcp.ratelimit import FirestoreRateLimiter, Window

KEYS = "api_keys"
REVOKED = "revoked_tokens"
AUDIT = "audit"


@dataclass(frozen=True)
class TokenCheck:
    """What one batched read says about a presented token."""

    key: dict[str, Any]  # the key's record; {} when there is none
    revoked: bool  # the token's jti is on the revocation list
    count: int  # requests in the rate-limit window, this one included


class FirestoreKeys:
    def __init__(self, db: firestore.Client):
        self.db = db

    def _ref(self, key_id: str) -> firestore.DocumentReference:
        return self.db.collection(KEYS).document(key_id)

    def _audit(self) -> firestore.DocumentReference:
        return self.db.collection(AUDIT).document()

    def create(self, key_id: str, doc: Mapping[str, Any], *, actor: str) -> None:
        """Store a new key record with its audit entry; Conflict if the id is taken."""
        batch = self.db.batch()
        # create(): a clash of ids (or a repeated bootstrap with another value) never overwrites.
        batch.create(self._ref(key_id), {**doc, "created_at": now()})
        batch.set(self._audit(), _audit("key_created", actor, key_id, doc.get("role")))
        try:
            with translated("create API key"):
                batch.commit()
        except gexc.AlreadyExists as e:
            raise Conflict(f"API key {key_id} already exists") from e

    def get(self, key_id: str) -> dict[str, Any] | None:
        with translated("read API key"):
            snap = self._ref(key_id).get()
        return snap.to_dict() if snap.exists else None

    def touch(self, key_id: str) -> None:
        with translated("touch API key"):
            self._ref(key_id).update({"last_used_at": now()})

    def list(self, limit: int) -> list[tuple[str, dict[str, Any]]]:
        q = self.db.collection(KEYS).order_by("created_at").limit(limit)
        with translated("list API keys"):
            return [(s.id, s.to_dict() or {}) for s in q.stream()]

    def revoke(self, key_id: str, *, actor: str, keep_one: str | None = None) -> dict[str, Any]:
        """The key's record once revoked (unchanged if it already was); NotFound if none.

        With ``keep_one`` (a role), the last live key of that role is not revoked: Conflict.
        The live keys of the role are read in the same transaction as the key, so of two
        revocations racing for the last two, the second sees the first's write and refuses.
        """
        ref = self._ref(key_id)

        @firestore.transactional
        def txn_fn(txn: firestore.Transaction) -> dict[str, Any]:
            snap = ref.get(transaction=txn)
            if not snap.exists:
                raise NotFound(f"API key {key_id} does not exist")
            d = snap.to_dict() or {}
            if d.get("revoked"):
                return d
            role = d.get("role")
            if keep_one is not None and role == keep_one:
                live = (
                    self.db.collection(KEYS)
                    .where(filter=FieldFilter("role", "==", role))
                    .where(filter=FieldFilter("revoked", "==", False))
                    .limit(2)
                )
                if len(list(txn.get(live))) < 2:
                    raise Conflict(
                        f"API key {key_id} is the last live {role} key: revoking it would "
                        f"leave no one able to manage keys; create another {role} key first "
                        "(POST /api/keys), then revoke this one",
                        code=f"last_{role}_key",
                    )
            upd = {"revoked": True, "revoked_at": now(), "revoked_by": actor}
            txn.update(ref, upd)
            txn.set(self._audit(), _audit("key_revoked", actor, key_id, role))
            return {**d, **upd}

        with translated("revoke API key"):
            record: dict[str, Any] = txn_fn(self.db.transaction())
        return record

    def revoke_token(self, jti: str, *, actor: str, expires_at: dt.datetime) -> None:
        batch = self.db.batch()
        # expires_at: a Firestore TTL policy may drop the record once the token is dead anyway.
        batch.set(
            self.db.collection(REVOKED).document(jti),
            {"at": now(), "by": actor, "expires_at": expires_at},
        )
        batch.set(self._audit(), _audit("token_revoked", actor, jti))
        with translated("revoke token"):
            batch.commit()

    def check_token(self, key_id: str, jti: str, window: Window) -> TokenCheck:
        """The key, the token's revocation and the window's count, in one round trip."""
        key_ref, revoked_ref = self._ref(key_id), self.db.collection(REVOKED).document(jti)
        with translated("check token"):
            snaps = list(self.db.get_all([key_ref, revoked_ref, *window.refs]))
        by_path = {s.reference.path: s for s in snaps}
        return TokenCheck(
            key=by_path[key_ref.path].to_dict() or {},
            revoked=by_path[revoked_ref.path].exists,
            count=FirestoreRateLimiter.count(window, snaps),
        )


def _audit(action: str, actor: str, subject: str, role: str | None = None) -> dict[str, Any]:
    return {"action": action, "actor": actor, "subject": subject, "role": role, "at": now()}
