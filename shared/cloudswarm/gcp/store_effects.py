"""Tool side effects in Firestore, each exactly once per tool_use id.

Every effect runs in one transaction that first looks for the marker ``effects/{tool_use_id}``:
found, the stored result is returned (a replayed turn changes nothing); not found, the effect's
writes and the marker commit together. Effect bodies do all their reads and checks before their
first write, so a refusal (a UserError) commits only the marker with the error result.
"""

from __future__ import annotations

from collections.abc import Callable

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm.core import task_graph as tg
from cloudswarm.core.models import TaskStatus, transition
from cloudswarm.core.records import EffectResult
from cloudswarm.errors import Conflict, InvalidTransition, NotFound, UserError
from cloudswarm.gcp.fs import now, translated
from cloudswarm.gcp.store_swarm import event_doc


def message_doc(sender: str, to: str, body: str, kind: str = "message", **extra) -> dict:
    return {
        "from": sender,
        "to": to,
        "body": body,
        "kind": kind,
        "read": False,
        "created_at": firestore.SERVER_TIMESTAMP,
        **extra,
    }


def task_view(tid: str, d: dict) -> dict:
    return {
        "id": tid,
        "title": d.get("title"),
        "status": d.get("status"),
        "owner": d.get("owner"),
        "blocked_by": d.get("blocked_by", []),
        **({"result": d["result"]} if d.get("result") else {}),
    }


class EffectStore:
    """Mixin over ``self.p`` (Paths) and ``self.db``."""

    def run_effect(
        self, sid: str, tool_use_id: str, tool: str, body: Callable[..., EffectResult]
    ) -> EffectResult:
        marker = self.p.effect(sid, tool_use_id)

        @firestore.transactional
        def txn_fn(txn):
            snap = marker.get(transaction=txn)
            if snap.exists:
                d = snap.to_dict()
                return EffectResult(
                    d["content"],
                    d["is_error"],
                    tuple(d.get("ring", [])),
                    replayed=True,
                    progress=d.get("progress", False),
                    ends_turn=d.get("ends_turn", False),
                )
            try:
                res = body(txn)
            except UserError as e:
                res = EffectResult({"error": str(e), "code": e.code}, is_error=True)
            txn.set(
                marker,
                {
                    "tool": tool,
                    "content": res.content,
                    "is_error": res.is_error,
                    "ring": list(res.ring),
                    "progress": res.progress,
                    "ends_turn": res.ends_turn,
                    "at": now(),
                },
            )
            return res

        with translated(f"tool {tool}"):
            return txn_fn(self.db.transaction())

    # -- bodies: each takes the transaction, reads, checks, then writes --------------------

    def send_message_body(self, sid: str, sender: str, recipients: list[str], body: str, key: str):
        def run(txn) -> EffectResult:
            refs = [self.p.agent(sid, r) for r in recipients]
            snaps = list(self.db.get_all(refs, transaction=txn))
            missing = sorted(s.id for s in snaps if not s.exists)
            if missing:
                raise NotFound(f"no agent named {', '.join(missing)} in this swarm")
            ids = []
            for r in recipients:
                mid = f"{key}-{r}"
                txn.set(self.p.messages(sid).document(mid), message_doc(sender, r, body))
                ids.append(mid)
            txn.set(
                self.p.events(sid).document(),
                event_doc(
                    "message",
                    sender,
                    f"{sender} → {', '.join(recipients)}: {body[:120]}",
                    {"to": recipients},
                ),
            )
            return EffectResult({"sent": ids}, ring=tuple(recipients))

        return run

    def create_task_body(
        self, sid: str, actor: str, tid: str, fields: dict, blocked_by: list[str], max_tasks: int
    ):
        def run(txn) -> EffectResult:
            swarm_ref, task_ref = self.p.swarm(sid), self.p.task(sid, tid)
            owner = fields.get("owner")
            refs = [swarm_ref, task_ref] + [self.p.task(sid, b) for b in blocked_by]
            if owner:
                refs.append(self.p.agent(sid, owner))
            snaps = {s.reference.path: s for s in self.db.get_all(refs, transaction=txn)}
            swarm = snaps[swarm_ref.path]
            if snaps[task_ref.path].exists:
                raise Conflict(f"task {tid} already exists; pick another id")
            if swarm.get("task_count") >= max_tasks:
                raise Conflict(f"the board is full ({max_tasks} tasks); finish or cancel some")
            missing = [b for b in blocked_by if not snaps[self.p.task(sid, b).path].exists]
            if missing:
                raise NotFound(f"blocked_by names unknown tasks: {', '.join(missing)}")
            if owner and not snaps[self.p.agent(sid, owner).path].exists:
                raise NotFound(f"owner {owner} is not an agent of this swarm")
            statuses = {
                b: TaskStatus(snaps[self.p.task(sid, b).path].get("status")) for b in blocked_by
            }
            waiting = sorted(tg.waiting_on(blocked_by, statuses))
            status = tg.initial_status(blocked_by, statuses).value
            doc = {
                "title": fields["title"],
                "description": fields.get("description", ""),
                "status": status,
                "owner": owner,
                "blocked_by": blocked_by,
                "waiting_on": waiting,
                "blocks": [],
                "result": None,
                "created_by": actor,
                "created_at": now(),
                "updated_at": now(),
                "version": 1,
            }
            txn.set(task_ref, doc)
            for b in blocked_by:
                txn.update(self.p.task(sid, b), {"blocks": firestore.ArrayUnion([tid])})
            txn.update(swarm_ref, {"task_count": firestore.Increment(1)})
            txn.set(
                self.p.events(sid).document(),
                event_doc(
                    "task_created",
                    actor,
                    f"Task {tid} created: {fields['title'][:120]}",
                    {"task": tid},
                ),
            )
            ring: tuple[str, ...] = ()
            if owner and owner != actor and status == "ready":
                txn.set(
                    self.p.messages(sid).document(f"task-ready-{tid}"),
                    message_doc(
                        "system",
                        owner,
                        f"Task {tid} is assigned to you and ready.",
                        "task_update",
                        task=tid,
                    ),
                )
                ring = (owner,)
            return EffectResult({"task": task_view(tid, doc)}, ring=ring, progress=True)

        return run

    def claim_task_body(self, sid: str, actor: str, tid: str):
        def run(txn) -> EffectResult:
            ref = self.p.task(sid, tid)
            snap = ref.get(transaction=txn)
            if not snap.exists:
                raise NotFound(f"task {tid} does not exist")
            d = snap.to_dict()
            if d["status"] == "blocked":
                raise Conflict(
                    f"task {tid} is blocked by {', '.join(d.get('waiting_on') or [])}",
                    code="blocked",
                )
            if d.get("owner") and d["owner"] != actor:
                raise Conflict(f"task {tid} is owned by {d['owner']}", code="owned")
            if d["status"] != "ready":
                raise Conflict(f"task {tid} is {d['status']}, not ready", code="not_ready")
            upd = {
                "status": "in_progress",
                "owner": actor,
                "updated_at": now(),
                "version": firestore.Increment(1),
            }
            txn.update(ref, upd)
            txn.set(
                self.p.events(sid).document(),
                event_doc("task_claimed", actor, f"{actor} claimed {tid}", {"task": tid}),
            )
            return EffectResult(
                {"task": task_view(tid, {**d, "status": "in_progress", "owner": actor})},
                progress=True,
            )

        return run

    def complete_task_body(self, sid: str, actor: str, lead: str, tid: str, result: str):
        def run(txn) -> EffectResult:
            ref = self.p.task(sid, tid)
            snap = ref.get(transaction=txn)
            if not snap.exists:
                raise NotFound(f"task {tid} does not exist")
            d = snap.to_dict()
            if d["status"] != "in_progress" or d.get("owner") != actor:
                raise Conflict(
                    f"task {tid} is {d['status']} (owner {d.get('owner') or 'none'}); "
                    "claim it before completing it",
                    code="not_claimed",
                )
            settle = self._read_dependents(txn, sid, tid, d)
            txn.update(
                ref,
                {
                    "status": "done",
                    "result": result,
                    "updated_at": now(),
                    "version": firestore.Increment(1),
                },
            )
            txn.update(self.p.swarm(sid), {"tasks_done": firestore.Increment(1)})
            unblocked, ring = settle(lead)
            txn.set(
                self.p.events(sid).document(),
                event_doc(
                    "task_done",
                    actor,
                    f"{actor} completed {tid}",
                    {"task": tid, "unblocked": unblocked},
                ),
            )
            return EffectResult(
                {"task": tid, "status": "done", "unblocked": unblocked}, ring=ring, progress=True
            )

        return run

    def update_task_body(self, sid: str, actor: str, tid: str, changes: dict, lead: str = "lead"):
        """``lead``: the swarm's lead, told when a cancellation leaves an ownerless task ready."""

        def run(txn) -> EffectResult:
            ref = self.p.task(sid, tid)
            snap = ref.get(transaction=txn)
            if not snap.exists:
                raise NotFound(f"task {tid} does not exist")
            d = snap.to_dict()
            cur = TaskStatus(d["status"])
            if cur in tg.SETTLED:
                raise InvalidTransition(f"task {tid} is {cur.value} and can no longer change")
            upd: dict = {k: changes[k] for k in ("title", "description") if k in changes}
            ring: list[str] = []
            owner = changes.get("owner")
            if owner is not None and owner != d.get("owner"):
                if not self.p.agent(sid, owner).get(transaction=txn).exists:
                    raise NotFound(f"owner {owner} is not an agent of this swarm")
                if cur == TaskStatus.IN_PROGRESS:
                    raise Conflict(f"task {tid} is in progress with {d.get('owner')}")
                upd["owner"] = owner
            if changes.get("status") == "cancelled":
                settle = self._read_dependents(txn, sid, tid, d)
                transition(cur, TaskStatus.CANCELLED, what=f"task {tid}")
                upd.update(status="cancelled")
                _, ring_t = settle(lead)
                ring.extend(ring_t)
            elif "blocked_by" in changes:
                new_deps = list(dict.fromkeys(changes["blocked_by"]))
                graph, statuses = self._reachable(txn, sid, new_deps)
                tg.validate_blocked_by(tid, new_deps, graph.keys())
                tg.check_new_dependencies(graph, tid, new_deps)
                waiting = tg.waiting_on(new_deps, statuses)
                status = tg.status_with_dependencies(tid, cur, waiting)
                old = set(d.get("blocked_by", []))
                for dep in old - set(new_deps):
                    txn.update(self.p.task(sid, dep), {"blocks": firestore.ArrayRemove([tid])})
                for dep in set(new_deps) - old:
                    txn.update(self.p.task(sid, dep), {"blocks": firestore.ArrayUnion([tid])})
                upd.update(blocked_by=new_deps, waiting_on=sorted(waiting), status=status.value)
            if not upd:
                raise UserError(
                    "nothing to change: give title, description, owner, blocked_by or status"
                )
            upd.update(updated_at=now(), version=firestore.Increment(1))
            txn.update(ref, upd)
            final = {**d, **upd}
            if "owner" in upd and final["status"] == "ready" and upd["owner"] != actor:
                txn.set(
                    self.p.messages(sid).document(f"assigned-{tid}-{self._stamp()}"),
                    message_doc(
                        "system",
                        upd["owner"],
                        f"Task {tid} was assigned to you and is ready.",
                        "task_update",
                        task=tid,
                    ),
                )
                ring.append(upd["owner"])
            txn.set(
                self.p.events(sid).document(),
                event_doc(
                    "task_updated",
                    actor,
                    f"{actor} updated {tid}",
                    {"task": tid, "fields": sorted(changes)},
                ),
            )
            return EffectResult(
                {"task": task_view(tid, final)}, ring=tuple(sorted(set(ring))), progress=True
            )

        return run

    @staticmethod
    def _stamp() -> str:
        return now().strftime("%Y%m%d%H%M%S%f")

    def _read_dependents(self, txn, sid: str, tid: str, d: dict):
        """Read the tasks waiting on ``tid`` now (reads come first in a transaction) and return
        a function that writes their new state once ``tid`` is settled."""
        refs = [self.p.task(sid, t) for t in d.get("blocks", [])]
        # get_all with no references is an error on the emulator, not an empty answer.
        found = self.db.get_all(refs, transaction=txn) if refs else []
        snaps = {s.id: s for s in found if s.exists}
        plan = tg.settle(
            tid,
            {
                i: tg.Dependent(TaskStatus(s.get("status")), s.get("waiting_on") or [])
                for i, s in snaps.items()
            },
        )

        def apply(lead: str) -> tuple[list[str], tuple[str, ...]]:
            ring = set()
            for dep_id, waiting in plan.waiting_on.items():
                upd = {"waiting_on": sorted(waiting)}
                if dep_id in plan.ready:
                    dd = snaps[dep_id].to_dict()
                    upd.update(status="ready", updated_at=now())
                    who = dd.get("owner") or lead
                    note = "" if dd.get("owner") else " and has no owner"
                    txn.set(
                        self.p.messages(sid).document(f"task-ready-{dep_id}"),
                        message_doc(
                            "system",
                            who,
                            f"Task {dep_id} ({dd['title']}) is now ready{note}.",
                            "task_update",
                            task=dep_id,
                        ),
                    )
                    ring.add(who)
                txn.update(self.p.task(sid, dep_id), upd)
            return list(plan.ready), tuple(sorted(ring))

        return apply

    def _reachable(self, txn, sid: str, start: list[str]):
        """The part of the graph reachable from ``start`` (for a cycle check), level by level:
        reads grow with the dependency chain, never with the board."""
        graph: dict[str, list[str]] = {}
        statuses: dict[str, TaskStatus] = {}
        frontier = list(dict.fromkeys(start))
        while frontier:
            snaps = self.db.get_all([self.p.task(sid, t) for t in frontier], transaction=txn)
            nxt = []
            for s in snaps:
                if not s.exists:
                    continue
                deps = s.get("blocked_by") or []
                graph[s.id] = deps
                statuses[s.id] = TaskStatus(s.get("status"))
                nxt.extend(x for x in deps if x not in graph)
            frontier = list(dict.fromkeys(nxt))
        return graph, statuses

    def list_tasks(self, sid: str, *, status: str | None, owner: str | None, limit: int):
        q = self.p.tasks(sid)
        if status:
            q = q.where(filter=FieldFilter("status", "==", status))
        if owner:
            q = q.where(filter=FieldFilter("owner", "==", owner))
        q = q.order_by("created_at", direction=firestore.Query.DESCENDING).limit(limit)
        with translated("list tasks"):
            return [task_view(s.id, s.to_dict()) for s in q.stream()]

    def count_tasks(self, sid: str) -> dict:
        sw = self.get_swarm(sid)
        return {"total": sw.get("task_count", 0), "done": sw.get("tasks_done", 0)}
