"""API keys: generated here, shown once, stored only as a SHA-256 hash, revocable.

A key is ``csk_<key id>_<secret>``: the id (12 hex digits) finds the record in one read, the
256-bit random secret makes guessing hopeless, so a fast hash is the right one (a slow password
hash only helps low-entropy secrets). The comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from google.api_core import exceptions as gexc
from google.cloud import firestore

from cloudswarm.api.routing import ROLES
from cloudswarm.errors import Conflict, NotFound, UserError
from cloudswarm.gcp import fs
from cloudswarm.gcp.fs import now, translated
from cloudswarm.log import register_secret

KEYS = "api_keys"
REVOKED = "revoked_tokens"
AUDIT = "audit"
KEY_FORMAT = re.compile(r"^csk_([0-9a-f]{12})_([A-Za-z0-9_-]{40,100})$")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$"


def generate_key() -> str:
    return f"csk_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str | None:
    m = KEY_FORMAT.match(key or "")
    return m[1] if m else None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def public(key_id: str, d: dict) -> dict:
    """A key record as shown to admins: never the hash."""
    return {"key_id": key_id, **{k: v for k, v in d.items() if k != "hash"}}


class Keys:
    def __init__(self, db: firestore.Client):
        self.db = db

    def ref(self, key_id: str):
        return self.db.collection(KEYS).document(key_id)

    def create(
        self, name: str, role: str, *, actor: str, key: str | None = None
    ) -> tuple[str, str]:
        """Store a new key (a fresh one unless ``key`` is given); returns (key id, key)."""
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        if not re.match(NAME_PATTERN, name):
            raise UserError("name: letters, digits, ' ._@-', at most 64 characters")
        key = key or generate_key()
        key_id = key_id_of(key)
        if key_id is None:
            raise UserError("malformed API key: expected csk_<12 hex>_<secret>")
        register_secret(key)
        doc = {
            "name": name,
            "role": role,
            "hash": digest(key),
            "created_at": now(),
            "created_by": actor,
            "revoked": False,
            "revoked_at": None,
            "revoked_by": None,
            "last_used_at": None,
        }
        batch = self.db.batch()
        # create(): a clash of ids (or a repeated bootstrap with another value) never overwrites.
        batch.create(self.ref(key_id), doc)
        batch.set(self.db.collection(AUDIT).document(), _audit("key_created", actor, key_id, role))
        try:
            with translated("create API key"):
                batch.commit()
        except gexc.AlreadyExists as e:
            raise Conflict(f"API key {key_id} already exists") from e
        return key_id, key

    def verify(self, key: str) -> dict | None:
        """The record of a live key matching ``key``, else None (one read)."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        with translated("read API key"):
            snap = self.ref(key_id).get()
        if not snap.exists:
            # Same work as a found key, so timing does not reveal which ids exist.
            hmac.compare_digest(digest(key), "0" * 64)
            return None
        d = snap.to_dict()
        if not hmac.compare_digest(digest(key), d.get("hash", "")) or d.get("revoked"):
            return None
        register_secret(key)
        return public(key_id, d)

    def touch(self, key_id: str) -> None:
        with translated("touch API key"):
            self.ref(key_id).update({"last_used_at": now()})

    def list(self, limit: int = 500) -> list[dict]:
        q = self.db.collection(KEYS).order_by("created_at").limit(limit)
        with translated("list API keys"):
            return [public(s.id, s.to_dict()) for s in q.stream()]

    def revoke(self, key_id: str, *, actor: str) -> dict:
        ref = self.ref(key_id)

        @firestore.transactional
        def txn_fn(txn):
            snap = ref.get(transaction=txn)
            if not snap.exists:
                raise NotFound(f"API key {key_id} does not exist")
            d = snap.to_dict()
            if d.get("revoked"):
                return public(key_id, d)
            upd = {"revoked": True, "revoked_at": now(), "revoked_by": actor}
            txn.update(ref, upd)
            txn.set(
                self.db.collection(AUDIT).document(),
                _audit("key_revoked", actor, key_id, d.get("role")),
            )
            return public(key_id, {**d, **upd})

        with translated("revoke API key"):
            return txn_fn(self.db.transaction())

    # -- tokens --------------------------------------------------------------------------------

    def revoke_token(self, jti: str, *, actor: str, expires_at) -> None:
        batch = self.db.batch()
        # expires_at: a Firestore TTL policy may drop the record once the token is dead anyway.
        batch.set(
            self.db.collection(REVOKED).document(jti),
            {"at": now(), "by": actor, "expires_at": expires_at},
        )
        batch.set(self.db.collection(AUDIT).document(), _audit("token_revoked", actor, jti))
        with translated("revoke token"):
            batch.commit()


def _audit(action: str, actor: str, subject: str, role: str | None = None) -> dict:
    return {"action": action, "actor": actor, "subject": subject, "role": role, "at": now()}


def bootstrap_admin_key(
    value: str | None = None,
    *,
    name: str = "bootstrap-admin",
    role: str = "admin",
    db: firestore.Client | None = None,
) -> str:
    """Write a key straight to Firestore (no API call, so it works before any key exists).

    For deploy docs and the local stack: ``value`` (from ``generate_key()``) lets the caller
    decide the key and write it to a file first; the call is idempotent for the same value.
    ``db`` defaults to the client of GOOGLE_CLOUD_PROJECT (and FIRESTORE_EMULATOR_HOST).
    Returns the key.
    """
    from cloudswarm.settings import settings

    keys = Keys(db or fs.client(settings().project))
    if value:
        existing = keys.verify(value)
        if existing is not None:
            return value
    _, key = keys.create(name, role, actor="bootstrap", key=value)
    return key
