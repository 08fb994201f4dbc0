"""Seed swarms, agents, messages and tasks straight into Firestore, through the store's own
document builders, so a figure starts from exactly the state it measures and nothing rings."""

from __future__ import annotations

from cloudswarm.core import decisions, paths
from cloudswarm.core.documents import new_agent_doc
from cloudswarm.core.models import Budget, Role
from cloudswarm.gcp.fs import now
from cloudswarm.gcp.store_effects import message_doc

MODEL = "claude-sonnet-4-5"
BATCH = 400  # Firestore allows 500 writes per commit


# A USD budget on every bench swarm: without one, each agent's allowance is a twentieth of the
# global daily cap and is never given back, so the 21st allowance of a day is refused (see
# docs/bench.md, "Found while measuring").
BUDGET = Budget(usd=1000.0)
ALLOWANCE_USD = 5.0
CREATED: list[str] = []  # the swarms this run seeded


def swarm(store, goal: str, budget: Budget | None = None) -> str:
    """A running swarm whose lead has read its goal (so no later sweep wakes the lead)."""
    sid, _ = store.create_swarm(goal=goal, model=MODEL, budget=budget or BUDGET, created_by="bench")
    store.p.messages(sid).document("goal").update({"read": True})
    CREATED.append(sid)
    return sid


def agents(
    store,
    sid: str,
    names: list[str],
    instructions: str = "Follow the bench.",
    allowance_usd: float = ALLOWANCE_USD,
) -> None:
    """Teammates, each holding an allowance as if granted when it was spawned: many agents
    starting at once would otherwise all take their first allowance from the swarm document in
    the same instant (see docs/bench.md, "Found while measuring")."""
    from google.cloud import firestore

    docs = [
        (
            n,
            new_agent_doc(
                name=n,
                role=Role.TEAMMATE,
                model=MODEL,
                instructions=instructions,
                parent_id="lead",
                depth=1,
            ),
        )
        for n in names
    ]
    for _, doc in docs:
        doc["allowance"]["usd"] = allowance_usd
    for i in range(0, len(docs), BATCH):
        writes = [decisions.set_doc(paths.agent(sid, n), doc) for n, doc in docs[i : i + BATCH]]
        store.executor.write(writes, what="seed agents")
    # (A spawn now grants this in its own transaction; seeding many agents directly is faster.)
    store.p.swarm(sid).update({"agent_count": firestore.Increment(len(names))})


def messages(store, sid: str, items: list[tuple[str, str, str]]) -> list[str]:
    """(from, to, body) messages, unread; returns their ids."""
    ids = []
    for i in range(0, len(items), BATCH):
        batch = store.db.batch()
        for sender, to, body in items[i : i + BATCH]:
            ref = store.p.messages(sid).document()
            batch.set(ref, message_doc(sender, to, body))
            ids.append(ref.id)
        batch.commit()
    return ids


def tasks(store, sid: str, n: int, *, owner: str | None = None, prefix: str = "b") -> list[str]:
    """``n`` ready tasks without dependencies."""
    from google.cloud import firestore

    ids = [f"{prefix}{i:05d}" for i in range(n)]
    for i in range(0, n, BATCH):
        batch = store.db.batch()
        for tid in ids[i : i + BATCH]:
            batch.set(
                store.p.task(sid, tid),
                {
                    "title": f"Bench task {tid}",
                    "description": "Seeded by the bench.",
                    "status": "ready",
                    "owner": owner,
                    "blocked_by": [],
                    "waiting_on": [],
                    "blocks": [],
                    "result": None,
                    "created_by": "bench",
                    "created_at": now(),
                    "updated_at": now(),
                    "version": 1,
                },
            )
        batch.commit()
    store.p.swarm(sid).update({"task_count": firestore.Increment(n)})
    return ids
