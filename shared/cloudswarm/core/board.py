"""The task board's rules: each a pure function from what it reads to a decision.

See ``cloudswarm.core.decisions`` for the shape; the stores carry the decisions out. The graph
maths (readiness, cycles, what a settled task unblocks) is ``cloudswarm.core.task_graph``; this
module reads the documents it needs, asks it, and says what to write and whom to tell.

Every rule reads before it decides and reads only what the operation touches (a task, its
neighbours, the agents named), never the whole board: the stores' read counts per operation
are part of the contract (``make bench`` measures them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloudswarm.core import paths
from cloudswarm.core import task_graph as tg
from cloudswarm.core.decisions import (
    SERVER_TIME,
    ArrayRemove,
    ArrayUnion,
    Decision,
    Increment,
    Outcome,
    Reader,
    Refusal,
    Rule,
    Write,
    add,
    set_doc,
    update,
)
from cloudswarm.core.documents import (
    artifact_doc,
    event_doc,
    message_doc,
    new_task_doc,
    task_view,
)
from cloudswarm.core.models import TaskStatus, transition


def claim_task(sid: str, actor: str, tid: str) -> Rule:
    def rule(r: Reader) -> Outcome:
        d = r.get(paths.task(sid, tid))
        if d is None:
            return _no_task(tid)
        if d["status"] == "blocked":
            waiting = ", ".join(d.get("waiting_on") or [])
            return Refusal(f"task {tid} is blocked by {waiting}", "blocked", "conflict")
        if d.get("owner") and d["owner"] != actor:
            return Refusal(f"task {tid} is owned by {d['owner']}", "owned", "conflict")
        if d["status"] != "ready":
            return Refusal(f"task {tid} is {d['status']}, not ready", "not_ready", "conflict")
        return Decision(
            result={"task": task_view(tid, {**d, "status": "in_progress", "owner": actor})},
            writes=(
                update(
                    paths.task(sid, tid),
                    {
                        "status": "in_progress",
                        "owner": actor,
                        "updated_at": SERVER_TIME,
                        "version": Increment(1),
                    },
                ),
                add(
                    paths.events(sid),
                    event_doc("task_claimed", actor, f"{actor} claimed {tid}", {"task": tid}),
                ),
            ),
            progress=True,
        )

    return rule


def send_message(
    sid: str, sender: str, recipients: Sequence[str], body: str, key: str, *, trace: str = ""
) -> Rule:
    """One message per recipient, each under ``{key}-{recipient}`` (``key`` is the tool_use id,
    so a message has one id however often its turn is replayed), and each recipient rung.
    ``trace``: the sending span's traceparent, which the recipient's turn links to."""
    extra = {"trace": trace} if trace else {}

    def rule(r: Reader) -> Outcome:
        agent_paths = [paths.agent(sid, x) for x in recipients]
        found = r.get_many(agent_paths).of(agent_paths)
        missing = sorted(paths.doc_id(p) for p, d in found.items() if d is None)
        if missing:
            return Refusal(
                f"no agent named {', '.join(missing)} in this swarm", "not_found", "not_found"
            )
        ids = [f"{key}-{x}" for x in recipients]
        writes = [
            set_doc(paths.message(sid, mid), message_doc(sender, x, body, **extra))
            for mid, x in zip(ids, recipients, strict=True)
        ]
        summary = f"{sender} → {', '.join(recipients)}: {body[:120]}"
        writes.append(
            add(paths.events(sid), event_doc("message", sender, summary, {"to": list(recipients)}))
        )
        return Decision(result={"sent": ids}, writes=tuple(writes), ring=tuple(recipients))

    return rule


def create_task(
    sid: str,
    actor: str,
    tid: str,
    *,
    title: str,
    description: str = "",
    owner: str | None = None,
    blocked_by: Sequence[str] = (),
    max_tasks: int,
) -> Rule:
    """A new task, blocked while any of ``blocked_by`` is unsettled; an owner other than its
    creator is told when it is ready. One read: the swarm, the id, the dependencies, the owner."""
    deps = list(dict.fromkeys(blocked_by))

    def rule(r: Reader) -> Outcome:
        dep_paths = [paths.task(sid, b) for b in deps]
        wanted: list[str] = [paths.swarm(sid), paths.task(sid, tid), *dep_paths]
        if owner:
            wanted.append(paths.agent(sid, owner))
        found = r.get_many(wanted)
        swarm = found[paths.swarm(sid)]
        if swarm is None:
            return Refusal(f"swarm {sid} does not exist", "not_found", "not_found")
        if found[paths.task(sid, tid)] is not None:
            return Refusal(f"task {tid} already exists; pick another id", "conflict", "conflict")
        if (swarm.get("task_count") or 0) >= max_tasks:
            full = f"the board is full ({max_tasks} tasks); finish or cancel some"
            return Refusal(full, "conflict", "conflict")
        missing = [b for b, p in zip(deps, dep_paths, strict=True) if found[p] is None]
        if missing:
            unknown = f"blocked_by names unknown tasks: {', '.join(missing)}"
            return Refusal(unknown, "not_found", "not_found")
        if owner and found[paths.agent(sid, owner)] is None:
            return _no_owner(owner)
        statuses = {b: _status(found[p]) for b, p in zip(deps, dep_paths, strict=True)}
        status = tg.initial_status(deps, statuses)
        doc = new_task_doc(
            title=title,
            description=description,
            status=status.value,
            owner=owner,
            blocked_by=deps,
            waiting_on=sorted(tg.waiting_on(deps, statuses)),
            created_by=actor,
        )
        writes = [set_doc(paths.task(sid, tid), doc)]
        writes += [update(p, {"blocks": ArrayUnion((tid,))}) for p in dep_paths]
        writes.append(update(paths.swarm(sid), {"task_count": Increment(1)}))
        writes.append(
            add(
                paths.events(sid),
                event_doc(
                    "task_created", actor, f"Task {tid} created: {title[:120]}", {"task": tid}
                ),
            )
        )
        ring: tuple[str, ...] = ()
        if owner and owner != actor and status == TaskStatus.READY:
            note = f"Task {tid} is assigned to you and ready."
            writes.append(_task_note(sid, f"task-ready-{tid}", owner, note, tid))
            ring = (owner,)
        return Decision(
            result={"task": task_view(tid, doc)}, writes=tuple(writes), ring=ring, progress=True
        )

    return rule


def complete_task(sid: str, actor: str, lead: str, tid: str, result: str) -> Rule:
    """The claimer finishes its task; the tasks waiting on it are settled (``lead`` is told of
    a dependent that becomes ready without an owner)."""

    def rule(r: Reader) -> Outcome:
        d = r.get(paths.task(sid, tid))
        if d is None:
            return _no_task(tid)
        if d["status"] != "in_progress" or d.get("owner") != actor:
            return Refusal(
                f"task {tid} is {d['status']} (owner {d.get('owner') or 'none'}); "
                "claim it before completing it",
                "not_claimed",
                "conflict",
            )
        settled = _settle(r, sid, tid, d, lead)
        writes = [
            update(
                paths.task(sid, tid),
                {
                    "status": "done",
                    "result": result,
                    "updated_at": SERVER_TIME,
                    "version": Increment(1),
                },
            ),
            update(paths.swarm(sid), {"tasks_done": Increment(1)}),
            *settled.writes,
            add(
                paths.events(sid),
                event_doc(
                    "task_done",
                    actor,
                    f"{actor} completed {tid}",
                    {"task": tid, "unblocked": list(settled.ready)},
                ),
            ),
        ]
        return Decision(
            result={"task": tid, "status": "done", "unblocked": list(settled.ready)},
            writes=tuple(writes),
            ring=settled.ring,
            progress=True,
        )

    return rule


_EDITABLE = ("title", "description")


def update_task(
    sid: str, actor: str, tid: str, changes: Mapping[str, Any], lead: str = "lead"
) -> Rule:
    """Change a task's title, description, owner or dependencies, or cancel it.

    ``changes`` holds the fields to change (a tool call's input: other keys are ignored, but
    named in the event). ``lead`` is the swarm's lead, told when a cancellation leaves an
    ownerless task ready. A new owner other than the actor is told when the task is ready.
    """

    def rule(r: Reader) -> Outcome:
        d = r.get(paths.task(sid, tid))
        if d is None:
            return _no_task(tid)
        cur = TaskStatus(d["status"])
        if cur in tg.SETTLED:
            why = f"task {tid} is {cur.value} and can no longer change"
            return Refusal(why, "invalid_transition", "invalid_transition")
        upd: dict[str, Any] = {k: changes[k] for k in _EDITABLE if k in changes}
        writes: list[Write] = []
        ring: set[str] = set()
        owner = changes.get("owner")
        if owner is not None and owner != d.get("owner"):
            if r.get(paths.agent(sid, owner)) is None:
                return _no_owner(owner)
            if cur == TaskStatus.IN_PROGRESS:
                busy = f"task {tid} is in progress with {d.get('owner')}"
                return Refusal(busy, "conflict", "conflict")
            upd["owner"] = owner
        if changes.get("status") == "cancelled":
            settled = _settle(r, sid, tid, d, lead)
            transition(cur, TaskStatus.CANCELLED, what=f"task {tid}")
            upd["status"] = "cancelled"
            writes += settled.writes
            ring.update(settled.ring)
        elif "blocked_by" in changes:
            new_deps = list(dict.fromkeys(changes["blocked_by"]))
            graph, statuses = _reachable(r, sid, new_deps)
            tg.validate_blocked_by(tid, new_deps, graph.keys())
            tg.check_new_dependencies(graph, tid, new_deps)
            waiting = tg.waiting_on(new_deps, statuses)
            status = tg.status_with_dependencies(tid, cur, waiting)
            old = set(d.get("blocked_by", []))
            writes += [
                update(paths.task(sid, dep), {"blocks": ArrayRemove((tid,))})
                for dep in sorted(old - set(new_deps))
            ]
            writes += [
                update(paths.task(sid, dep), {"blocks": ArrayUnion((tid,))})
                for dep in sorted(set(new_deps) - old)
            ]
            upd.update(blocked_by=new_deps, waiting_on=sorted(waiting), status=status.value)
        if not upd:
            return Refusal(
                "nothing to change: give title, description, owner, blocked_by or status",
                "invalid",
                "invalid",
            )
        final = {**d, **upd}
        writes.insert(
            0,
            update(
                paths.task(sid, tid), {**upd, "updated_at": SERVER_TIME, "version": Increment(1)}
            ),
        )
        if "owner" in upd and final["status"] == "ready" and upd["owner"] != actor:
            # One note per assignment: the version this change gives the task names it, so a
            # reassignment is a new note and a replay of the same change is the same one.
            mid = f"assigned-{tid}-v{(d.get('version') or 0) + 1}"
            note = f"Task {tid} was assigned to you and is ready."
            writes.append(_task_note(sid, mid, upd["owner"], note, tid))
            ring.add(upd["owner"])
        writes.append(
            add(
                paths.events(sid),
                event_doc(
                    "task_updated",
                    actor,
                    f"{actor} updated {tid}",
                    {"task": tid, "fields": sorted(changes)},
                ),
            )
        )
        return Decision(
            result={"task": task_view(tid, final)},
            writes=tuple(writes),
            ring=tuple(sorted(ring)),
            progress=True,
        )

    return rule


def cancel_task(sid: str, actor: str, tid: str, lead: str = "lead") -> Rule:
    """``update_task`` with status cancelled: what an operator's cancel asks for."""
    return update_task(sid, actor, tid, {"status": "cancelled"}, lead=lead)


def write_artifact(
    sid: str, actor: str, path: str, obj: str, size: int, expected_version: int | None
) -> Rule:
    """Index a workspace write (its content is already stored as ``obj``). A path that exists
    is replaced only by a writer that names the version it read, so no write is lost.

    Each version also gets its own append-only record (``artifacts/{key}/versions/{n}``), in
    the same transaction, so every version's object stays readable after the index moves on."""
    key = paths.artifact_key(path)
    ref = paths.artifact(sid, key)

    def rule(r: Reader) -> Outcome:
        d = r.get(ref)
        current = d["version"] if d is not None else 0
        if expected_version is None and d is not None:
            return Refusal(
                f"{path} already exists at version {current} (last written by "
                f"{d.get('updated_by')}); read it and pass expected_version={current} "
                "to replace it",
                "exists",
                "conflict",
            )
        if expected_version is not None and expected_version != current:
            return Refusal(
                f"{path} is at version {current}, not {expected_version}: someone else wrote "
                "it meanwhile; read it again and merge",
                "version_conflict",
                "conflict",
            )
        version = current + 1
        doc = artifact_doc(path=path, version=version, obj=obj, size=size, by=actor)
        event = event_doc(
            "artifact_written",
            actor,
            f"{actor} wrote {path} v{version}",
            {"path": path, "version": version},
        )
        return Decision(
            result={"path": path, "version": version},
            writes=(
                set_doc(ref, doc),
                set_doc(paths.artifact_version(sid, key, version), doc),
                add(paths.events(sid), event),
            ),
        )

    return rule


# -- what the rules share ------------------------------------------------------------------


def _status(d: Mapping[str, Any] | None) -> TaskStatus:
    assert d is not None  # callers check existence first
    return TaskStatus(d["status"])


def _no_task(tid: str) -> Refusal:
    return Refusal(f"task {tid} does not exist", "not_found", "not_found")


def _no_owner(owner: str) -> Refusal:
    return Refusal(f"owner {owner} is not an agent of this swarm", "not_found", "not_found")


def _task_note(sid: str, mid: str, to: str, body: str, tid: str) -> Write:
    return set_doc(
        paths.message(sid, mid), message_doc("system", to, body, "task_update", task=tid)
    )


@dataclass(frozen=True)
class _Settled:
    """What settling a task does to the tasks waiting on it."""

    ready: tuple[str, ...]  # the dependents that became ready, sorted
    writes: tuple[Write, ...]
    ring: tuple[str, ...]


def _settle(r: Reader, sid: str, tid: str, d: Mapping[str, Any], lead: str) -> _Settled:
    """Read the tasks waiting on ``tid`` (its ``blocks``) and say how they change once it is
    done or cancelled: new ``waiting_on``, the ready ones moved to ready with a note to their
    owner (to ``lead`` for an ownerless one)."""
    block_paths = [paths.task(sid, t) for t in d.get("blocks", [])]
    found = r.get_many(block_paths).of(block_paths)
    docs = {paths.doc_id(p): x for p, x in found.items() if x is not None}
    plan = tg.settle(
        tid,
        {
            i: tg.Dependent(TaskStatus(x["status"]), x.get("waiting_on") or [])
            for i, x in docs.items()
        },
    )
    writes: list[Write] = []
    ring: set[str] = set()
    for dep_id, waiting in plan.waiting_on.items():
        upd: dict[str, Any] = {"waiting_on": sorted(waiting)}
        if dep_id in plan.ready:
            dd = docs[dep_id]
            upd.update(status="ready", updated_at=SERVER_TIME)
            who = dd.get("owner") or lead
            unowned = "" if dd.get("owner") else " and has no owner"
            body = f"Task {dep_id} ({dd['title']}) is now ready{unowned}."
            writes.append(_task_note(sid, f"task-ready-{dep_id}", who, body, dep_id))
            ring.add(who)
        writes.append(update(paths.task(sid, dep_id), upd))
    return _Settled(plan.ready, tuple(writes), tuple(sorted(ring)))


def _reachable(
    r: Reader, sid: str, start: Sequence[str]
) -> tuple[dict[str, list[str]], dict[str, TaskStatus]]:
    """The part of the graph reachable from ``start`` (for the cycle check), read level by
    level: reads grow with the dependency chain, never with the board."""
    graph: dict[str, list[str]] = {}
    statuses: dict[str, TaskStatus] = {}
    frontier = list(dict.fromkeys(start))
    while frontier:
        frontier_paths = [paths.task(sid, t) for t in frontier]
        found = r.get_many(frontier_paths).of(frontier_paths)
        nxt: list[str] = []
        for p, x in found.items():
            if x is None:
                continue
            tid = paths.doc_id(p)
            deps = list(x.get("blocked_by") or [])
            graph[tid] = deps
            statuses[tid] = TaskStatus(x["status"])
            nxt.extend(t for t in deps if t not in graph)
        frontier = list(dict.fromkeys(nxt))
    return graph, statuses
