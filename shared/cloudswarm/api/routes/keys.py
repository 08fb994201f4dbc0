"""API key management (admin only)."""

from __future__ import annotations

from cloudswarm.api import deps, firebase
from cloudswarm.api.config import config
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import KeyCreate, KeyCreated, KeyList, KeyOut


@route("GET", "/api/keys", tag="keys", role="admin", response=KeyList)
def list_keys(call: Call):
    """Every API key (never the key itself nor its hash)."""
    return {"keys": deps.keys().list()}


@route(
    "POST", "/api/keys", tag="keys", role="admin", body=KeyCreate, response=KeyCreated,
    status=201,
)  # fmt: skip
def create_key(call: Call):
    """Create an API key. The key is in this answer only: it is stored hashed."""
    b = call.body
    key_id, key = deps.keys().create(b.name, b.role, actor=call.principal.actor)
    return {"key_id": key_id, "key": key, "name": b.name, "role": b.role}


@route("DELETE", "/api/keys/{key_id}", tag="keys", role="admin", response=KeyOut)
def revoke_key(call: Call, key_id: str):
    """Revoke an API key; every token issued for it stops working at once."""
    record = deps.keys().revoke(key_id, actor=call.principal.actor)
    firebase.revoke_ui_sessions(config(), key_id)
    return record
