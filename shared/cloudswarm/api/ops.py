"""Firestore operations the API needs beyond the shared store: pages, agent stop, swarm
delete, and running a store effect body as a plain transaction."""

from __future__ import annotations

from collections.abc import Callable

from google.cloud import firestore

from cloudswarm import runtime
from cloudswarm.api.errors import ApiError
from cloudswarm.core.models import TERMINAL_SWARM, AgentStatus, SwarmStatus, transition
from cloudswarm.core.records import EffectResult
from cloudswarm.errors import Conflict, NotFound
from cloudswarm.gcp.fs import translated
from cloudswarm.gcp.store_swarm import event_doc


def page(collection, query, order: str, direction: str, limit: int, token: str | None):
    """(docs, next page token): ``limit`` documents after the one named by ``token``.

    The token is the id of the last document of the previous page; the cursor starts after
    that document's snapshot, so a page never repeats or skips one, whatever is added meanwhile.
    """
    fs_dir = firestore.Query.DESCENDING if direction == "desc" else firestore.Query.ASCENDING
    q = query.order_by(order, direction=fs_dir)
    if token:
        with translated("read page cursor"):
            cursor = collection.document(token).get()
        if not cursor.exists or (cursor.to_dict() or {}).get(order) is None:
            raise ApiError(422, "validation_failed", "page_token: unknown or expired")
        q = q.start_after(cursor)
    with translated("read page"):
        snaps = list(q.limit(limit + 1).stream())
    docs = [{"id": s.id, **s.to_dict()} for s in snaps[:limit]]
    return docs, (snaps[limit - 1].id if len(snaps) > limit else None)


def swarm(sid: str) -> dict:
    return runtime.store().get_swarm(sid)


def running_swarm(sid: str) -> dict:
    doc = swarm(sid)
    if SwarmStatus(doc["status"]) in TERMINAL_SWARM:
        raise Conflict(f"swarm {sid} is {doc['status']}", code="swarm_ended")
    return doc


def apply(sid: str, body: Callable[..., EffectResult]) -> EffectResult:
    """Run a store effect body in a transaction of its own; its refusals raise as they are.

    The effect-marker wrapper is for model tool calls replayed by a retried turn; a human's
    request is answered directly, so its errors keep their types (and HTTP statuses).
    """
    store = runtime.store()

    @firestore.transactional
    def txn_fn(txn):
        return body(txn)

    with translated("apply change"):
        res = txn_fn(store.db.transaction())
    for aid in res.ring:
        runtime.bus().ring(sid, aid)
    return res


def stop_agent(sid: str, aid: str, actor: str) -> dict:
    store = runtime.store()
    ref = store.p.agent(sid, aid)

    @firestore.transactional
    def txn_fn(txn):
        snap = ref.get(transaction=txn)
        if not snap.exists:
            raise NotFound(f"agent {aid} does not exist in swarm {sid}")
        d = snap.to_dict()
        cur = AgentStatus(d.get("status", "idle"))
        if cur == AgentStatus.STOPPED:
            return {"id": aid, **d}
        transition(cur, AgentStatus.STOPPED, what=f"agent {aid}")
        upd = {"status": "stopped", "activity": f"stopped by {actor}", "stopped_by": actor}
        txn.update(ref, upd)
        txn.set(
            store.p.events(sid).document(),
            event_doc("agent_stopped", actor, f"{actor} stopped {aid}", {"agent": aid}),
        )
        return {"id": aid, **d, **upd}

    with translated("stop agent"):
        return txn_fn(store.db.transaction())


def delete_swarm(sid: str) -> None:
    """Delete an ended swarm: its documents and its transcripts and artifacts in GCS."""
    doc = swarm(sid)
    if SwarmStatus(doc["status"]) not in TERMINAL_SWARM:
        raise Conflict(
            f"swarm {sid} is {doc['status']}: stop it first (POST /api/swarms/{sid}/stop)",
            code="swarm_active",
        )
    s = runtime.settings()
    client = runtime.blobs().client
    for logical in ("transcripts", "artifacts"):
        bucket = client.bucket(s.bucket(logical))
        for blob in client.list_blobs(bucket, prefix=f"{sid}/"):
            blob.delete()
    store = runtime.store()
    with translated("delete swarm"):
        store.db.recursive_delete(store.p.swarm(sid))


def usage(sid: str) -> dict:
    doc = swarm(sid)
    fields = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    total = dict.fromkeys(fields, 0) | {"cost_usd": 0.0}
    agents = []
    for a in runtime.store().list_agents(sid, limit=1000):
        u = a.get("usage") or {}
        row = {f: int(u.get(f) or 0) for f in fields} | {"cost_usd": float(u.get("cost_usd") or 0)}
        for k, v in row.items():
            total[k] += v
        agents.append({"agent_id": a["id"], "turns": int(a.get("turns") or 0), "usage": row})
    return {"swarm_id": sid, "total": total, "agents": agents, "budget": doc.get("budget")}
