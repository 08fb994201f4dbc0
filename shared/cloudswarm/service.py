"""Operations humans and systems start: swarms, the kill switch, pause/resume, messages.

Shared by the HTTP API, the Pub/Sub trigger, the CLI and the demo, so every way in enforces the
same rules and rings the same doorbells.
"""

from __future__ import annotations

from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm import runtime
from cloudswarm.core.models import Budget, SwarmStatus
from cloudswarm.gcp.fs import now
from cloudswarm.gcp.store_effects import message_doc
from cloudswarm.settings import settings


def start_swarm(
    goal: str,
    *,
    actor: str,
    model: str | None = None,
    budget: Budget | None = None,
    request_id: str | None = None,
    template: str | None = None,
) -> tuple[str, bool]:
    """Create a swarm and ring its lead. Returns (swarm id, created now)."""
    sid, created = runtime.store().create_swarm(
        goal=goal,
        model=model or settings().default_model,
        budget=budget or Budget(),
        created_by=actor,
        request_id=request_id,
        template=template,
    )
    # Ring even on a repeat: the doorbell is harmless, and the first delivery may have died
    # between the commit and the publish.
    runtime.bus().ring(sid, "lead")
    return sid, created


def set_kill_switch(*, engaged: bool, actor: str, reason: str) -> dict:
    doc = runtime.store().set_kill_switch(engaged=engaged, reason=reason, actor=actor)
    if not engaged:
        ring_pending()
    return doc


def set_swarm_status(sid: str, status: SwarmStatus, *, actor: str, reason: str = "") -> dict:
    doc = runtime.store().set_swarm_status(sid, status, actor=actor, reason=reason)
    if status == SwarmStatus.RUNNING:
        ring_pending(sid)
    return doc


def send_human_message(sid: str, aid: str, body: str, *, actor: str) -> str:
    store = runtime.store()
    store.get_agent(sid, aid)  # NotFound for an unknown agent, before anything is written
    ref = store.p.messages(sid).document()
    ref.set(message_doc(f"human:{actor}", aid, body, "message"))
    store.add_event(sid, "message", f"human:{actor}", f"{actor} → {aid}: {body[:120]}")
    runtime.bus().ring(sid, aid)
    return ref.id


def ring_pending(sid: str | None = None, limit: int = 1000) -> int:
    """Wake every agent with unread mail or an interrupted turn (after a release or resume)."""
    store = runtime.store()
    targets: set[tuple[str, str]] = set()
    if sid:
        unread = store.p.messages(sid).where(filter=FieldFilter("read", "==", False))
        resumed = store.p.agents(sid).where(filter=FieldFilter("resume_pending", "==", True))
    else:
        unread = store.db.collection_group("messages").where(
            filter=FieldFilter("read", "==", False)
        )
        resumed = store.db.collection_group("agents").where(
            filter=FieldFilter("resume_pending", "==", True)
        )
    for snap in unread.limit(limit).stream():
        targets.add((snap.reference.parent.parent.id, snap.get("to")))
    for snap in resumed.limit(limit).stream():
        targets.add((snap.reference.parent.parent.id, snap.id))
    for swarm_id, agent_id in sorted(targets):
        runtime.bus().ring(swarm_id, agent_id)
    return len(targets)


def sweep_stale_leases(limit: int = 500) -> int:
    """The scheduled safety net behind the per-turn watchdog task: free leases whose turn died
    and ring their agents."""
    store = runtime.store()
    stale = store.db.collection_group("agents").where(
        filter=FieldFilter("lease.expires", "<", now())
    )
    rang = 0
    for snap in stale.limit(limit).stream():
        sid = snap.reference.parent.parent.id
        lease = snap.get("lease") or {}
        if store.expire_lease(sid, snap.id, lease.get("turn", "")):
            runtime.bus().ring(sid, snap.id)
            rang += 1
    return rang


def drain_dead_letters() -> int:
    """Move dead-lettered messages into Firestore's dead_letters, where the UI shows them.

    Recorded before acknowledged: a crash in between records a message twice, never loses it.
    """
    from cloudswarm import names

    store, bus, moved = runtime.store(), runtime.bus(), 0
    for logical in names.resources()["subscriptions"]:
        if not logical.endswith("-dead-pull"):
            continue
        messages, ack = bus.drain(settings().prefix + "-" + logical)
        for data, attrs in messages:
            if attrs.get("recorded") == "true":
                continue  # put there by our own handler, which recorded it already
            text = data.decode(errors="replace")[:4000]
            reason = attrs.get("reason") or "undeliverable: delivery attempts exhausted"
            source = logical.removesuffix("-dead-pull")
            store.record_dead_letter(source, reason, {"data": text, "attributes": attrs})
            moved += 1
        ack()
    return moved
