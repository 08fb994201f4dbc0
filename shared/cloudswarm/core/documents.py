"""The shapes of the documents the rules write (docs/architecture.md, "Firestore").

Builders return plain mappings with the core's sentinels (``SERVER_TIME``), which each executor
turns into its own (Firestore's server timestamp, the memory store's clock).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudswarm.core.decisions import SERVER_TIME


def event_doc(
    kind: str, actor: str, summary: str, data: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "actor": actor,
        "summary": summary[:500],
        "data": dict(data or {}),
        "at": SERVER_TIME,
    }


def message_doc(
    sender: str, to: str, body: str, kind: str = "message", **extra: Any
) -> dict[str, Any]:
    return {
        "from": sender,
        "to": to,
        "body": body,
        "kind": kind,
        "read": False,
        "created_at": SERVER_TIME,
        **extra,
    }


def task_view(tid: str, d: Mapping[str, Any]) -> dict[str, Any]:
    """A task as tools and the API show it."""
    return {
        "id": tid,
        "title": d.get("title"),
        "status": d.get("status"),
        "owner": d.get("owner"),
        "blocked_by": list(d.get("blocked_by", [])),
        **({"result": d["result"]} if d.get("result") else {}),
    }


def new_task_doc(
    *,
    title: str,
    description: str,
    status: str,
    owner: str | None,
    blocked_by: list[str],
    waiting_on: list[str],
    created_by: str,
) -> dict[str, Any]:
    """A task as created: ``waiting_on`` (its unsettled dependencies) and ``blocks`` (the
    tasks waiting on it) are kept so a completion touches only its neighbours."""
    return {
        "title": title,
        "description": description,
        "status": status,
        "owner": owner,
        "blocked_by": blocked_by,
        "waiting_on": waiting_on,
        "blocks": [],
        "result": None,
        "created_by": created_by,
        "created_at": SERVER_TIME,
        "updated_at": SERVER_TIME,
        "version": 1,
    }


def artifact_doc(*, path: str, version: int, obj: str, size: int, by: str) -> dict[str, Any]:
    """A workspace path's index entry; ``obj`` names its content, stored by digest. A version's
    own record (``artifacts/{key}/versions/{n}``) has the same shape."""
    return {
        "path": path,
        "version": version,
        "object": obj,
        "size": size,
        "updated_by": by,
        "updated_at": SERVER_TIME,
    }


def artifact_view(d: Mapping[str, Any]) -> dict[str, Any]:
    """An artifact as listings show it (without the object name)."""
    return {k: d[k] for k in ("path", "version", "size", "updated_by")}


def artifact_listing(doc_id: str, d: Mapping[str, Any]) -> dict[str, Any]:
    """An artifact (``id``: its path's key) or one of its versions (``id``: the padded version
    number) as the API lists it; the object name stays server-side (contents go through the
    API)."""
    return {"id": doc_id, **artifact_view(d), "updated_at": d.get("updated_at")}


ZERO_USAGE = {
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "cost_usd": 0.0,
    "web_search_requests": 0,
    "web_fetch_requests": 0,
}
BUDGET_AXES = ("usd", "tokens", "turns")


def new_agent_doc(
    *, name: str, role: str, model: str, instructions: str, parent_id: str | None, depth: int
) -> dict[str, Any]:
    """A new agent: idle, no lease, nothing spent or allowed yet."""
    return {
        "name": name,
        "role": str(role),  # a Role is a StrEnum: store its plain value
        "model": model,
        "instructions": instructions,
        "status": "idle",
        "parent_id": parent_id,
        "depth": depth,
        "created_at": SERVER_TIME,
        "lease": None,
        "wake_pending": False,
        "turns": 0,
        "usage": dict(ZERO_USAGE),
        "allowance": dict.fromkeys(BUDGET_AXES, 0),
        "spent": dict.fromkeys(BUDGET_AXES, 0),
        "conv_version": 0,
        "last_error": None,
        "turns_without_progress": 0,
        "msgs_since_progress": 0,
        "activity": "waiting for mail",
    }
