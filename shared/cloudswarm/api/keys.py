"""API keys: generated here, shown once, stored only as a SHA-256 hash, revocable.

A key is ``csk_<key id>_<secret>``: the id (12 hex digits) finds the record in one read, the
256-bit random secret makes guessing hopeless, so a fast hash is the right one (a slow password
hash only helps low-entropy secrets). The comparison is constant-time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any, Protocol

from cloudswarm.api.routing import ROLES
from cloudswarm.errors import UserError
from cloudswarm.gcp import fs
from cloudswarm.gcp.keys import FirestoreKeys, TokenCheck
from cloudswarm.gcp.ratelimit import Window
from cloudswarm.log import register_secret

KEY_FORMAT = re.compile(r"^csk_([0-9a-f]{12})_([A-Za-z0-9_-]{40,100})$")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$"
LAST_ROLE_KEPT = "admin"  # the role that manages keys: one live key of it always remains


def generate_key() -> str:
    return f"csk_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str | None:
    m = KEY_FORMAT.match(key or "")
    return m[1] if m else None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def public(key_id: str, d: Mapping[str, Any]) -> dict[str, Any]:
    """A key record as shown to admins: never the hash."""
    return {"key_id": key_id, **{k: v for k, v in d.items() if k != "hash"}}


class KeyRecords(Protocol):
    """Where key records live (cloudswarm.gcp.keys.FirestoreKeys in a deployment)."""

    def create(self, key_id: str, doc: Mapping[str, Any], *, actor: str) -> None: ...
    def get(self, key_id: str) -> dict[str, Any] | None: ...
    def touch(self, key_id: str) -> None: ...
    def list(self, limit: int) -> list[tuple[str, dict[str, Any]]]: ...
    def revoke(self, key_id: str, *, actor: str, keep_one: str | None = None) -> dict[str, Any]: ...
    def revoke_token(self, jti: str, *, actor: str, expires_at: dt.datetime) -> None: ...
    def check_token(self, key_id: str, jti: str, window: Window) -> TokenCheck: ...


class Keys:
    """The rules of API keys over their records: format, hashing, who may hold which role."""

    def __init__(self, records: KeyRecords):
        self.records = records

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
            "created_by": actor,
            "revoked": False,
            "revoked_at": None,
            "revoked_by": None,
            "last_used_at": None,
        }
        self.records.create(key_id, doc, actor=actor)
        return key_id, key

    def verify(self, key: str) -> dict[str, Any] | None:
        """The record of a live key matching ``key``, else None (one read)."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        d = self.records.get(key_id)
        if d is None:
            # Same work as a found key, so timing does not reveal which ids exist.
            hmac.compare_digest(digest(key), "0" * 64)
            return None
        if not hmac.compare_digest(digest(key), d.get("hash", "")) or d.get("revoked"):
            return None
        register_secret(key)
        return public(key_id, d)

    def touch(self, key_id: str) -> None:
        self.records.touch(key_id)

    def list(self, limit: int = 500) -> list[dict[str, Any]]:
        return [public(key_id, d) for key_id, d in self.records.list(limit)]

    def revoke(self, key_id: str, *, actor: str) -> dict[str, Any]:
        """Revoke a key, but never the last live admin key: without one no one could create
        or revoke keys again short of writing Firestore by hand (Conflict, 409)."""
        return public(key_id, self.records.revoke(key_id, actor=actor, keep_one=LAST_ROLE_KEPT))

    def revoke_token(self, jti: str, *, actor: str, expires_at: dt.datetime) -> None:
        self.records.revoke_token(jti, actor=actor, expires_at=expires_at)

    def check_token(self, key_id: str, jti: str, window: Window) -> TokenCheck:
        return self.records.check_token(key_id, jti, window)


def bootstrap_admin_key(
    value: str | None = None,
    *,
    name: str = "bootstrap-admin",
    role: str = "admin",
    records: KeyRecords | None = None,
) -> str:
    """Write a key straight to Firestore (no API call, so it works before any key exists).

    For deploy docs and the local stack: ``value`` (from ``generate_key()``) lets the caller
    decide the key and write it to a file first; the call is idempotent for the same value.
    ``records`` defaults to Firestore in GOOGLE_CLOUD_PROJECT (and FIRESTORE_EMULATOR_HOST).
    Returns the key.
    """
    from cloudswarm.settings import settings

    keys = Keys(records or FirestoreKeys(fs.client(settings().project)))
    if value:
        existing = keys.verify(value)
        if existing is not None:
            return value
    _, key = keys.create(name, role, actor="bootstrap", key=value)
    return key
