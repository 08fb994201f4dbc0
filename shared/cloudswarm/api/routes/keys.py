"""API key management (admin only)."""

from __future__ import annotations

from cloudswarm.api import firebase
from cloudswarm.api.config import config
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import KeyCreate, KeyCreated, KeyList, KeyOut


@route("GET", "/api/keys", tag="keys", role="admin", response=KeyList)
def list_keys(call: Call):
    """Every API key (never the key itself nor its hash)."""
    return {"keys": call.services.keys.list()}


@route(
    "POST", "/api/keys", tag="keys", role="admin", body=KeyCreate, response=KeyCreated,
    status=201,
)  # fmt: skip
def create_key(call: Call):
    """Create an API key. The key is in this answer only: it is stored hashed."""
    b = call.body
    key_id, key = call.services.keys.create(b.name, b.role, actor=call.principal.actor)
    return {"key_id": key_id, "key": key, "name": b.name, "role": b.role}


@route("DELETE", "/api/keys/{key_id}", tag="keys", role="admin", response=KeyOut, errors=(409,))
def revoke_key(call: Call, key_id: str):
    """Revoke an API key; every token issued for it stops working at once. The last live
    admin key is refused (409): create another admin key first."""
    record = call.services.keys.revoke(key_id, actor=call.principal.actor)
    firebase.revoke_ui_sessions(config(), key_id)
    return record
