"""Team-level effects: spawning teammates, approvals, finishing the swarm."""

from __future__ import annotations

from google.cloud import firestore

from cloudswarm.core.models import Role, SwarmStatus, transition
from cloudswarm.core.records import EffectResult
from cloudswarm.errors import Conflict, Forbidden, NotFound
from cloudswarm.gcp.fs import now, translated
from cloudswarm.gcp.store_effects import message_doc
from cloudswarm.gcp.store_swarm import event_doc, new_agent_doc


class TeamStore:
    """Mixin over ``self.p`` (Paths) and ``self.db``."""

    def spawn_agent_body(
        self, sid: str, parent: dict, spec: dict, *, max_agents: int, max_depth: int
    ):
        def run(txn) -> EffectResult:
            name = spec["name"]
            swarm_ref, agent_ref = self.p.swarm(sid), self.p.agent(sid, name)
            swarm, existing = _ordered(
                self.db.get_all([swarm_ref, agent_ref], transaction=txn), [swarm_ref, agent_ref]
            )
            if existing.exists:
                raise Conflict(f"an agent named {name} already exists; choose another name")
            if swarm.get("agent_count") >= max_agents:
                raise Conflict(f"this swarm already has {max_agents} agents, the maximum")
            depth = parent.get("depth", 0) + 1
            if depth > max_depth:
                raise Forbidden(f"spawn depth {depth} exceeds the limit of {max_depth}")
            doc = new_agent_doc(
                name=name,
                role=Role.TEAMMATE,
                model=spec["model"],
                instructions=spec["instructions"],
                parent_id=parent["id"],
                depth=depth,
            )
            doc["role_description"] = spec.get("role", "")
            txn.set(agent_ref, doc)
            txn.update(swarm_ref, {"agent_count": firestore.Increment(1)})
            txn.set(
                self.p.messages(sid).document(f"spawned-{name}"),
                message_doc(
                    parent["id"],
                    name,
                    f"You were started by {parent['id']}. "
                    f"Your instructions: {spec['instructions']}",
                    "system",
                ),
            )
            txn.set(
                self.p.events(sid).document(),
                event_doc(
                    "agent_spawned", parent["id"], f"{parent['id']} spawned {name}", {"agent": name}
                ),
            )
            return EffectResult({"agent": name, "status": "started"}, ring=(name,))

        return run

    def request_approval_body(
        self, sid: str, agent_id: str, approval_id: str, action: str, detail: str
    ):
        def run(txn) -> EffectResult:
            txn.set(
                self.p.approvals(sid).document(approval_id),
                {
                    "agent_id": agent_id,
                    "action": action,
                    "detail": detail,
                    "status": "pending",
                    "created_at": now(),
                    "decided_by": None,
                    "comment": None,
                },
            )
            txn.update(
                self.p.agent(sid, agent_id),
                {"status": "waiting_approval", "activity": f"waiting for approval: {action}"},
            )
            txn.set(
                self.p.events(sid).document(),
                event_doc(
                    "approval_requested",
                    agent_id,
                    f"{agent_id} asks to: {action}",
                    {"approval": approval_id},
                ),
            )
            return EffectResult(
                {
                    "approval": approval_id,
                    "status": "pending",
                    "note": "Your turn ends now; the decision will arrive in your inbox.",
                },
                ends_turn=True,
            )

        return run

    def finish_swarm_body(self, sid: str, actor: str, outcome: str, summary: str):
        def run(txn) -> EffectResult:
            ref = self.p.swarm(sid)
            snap = ref.get(transaction=txn)
            new = SwarmStatus.COMPLETED if outcome == "completed" else SwarmStatus.FAILED
            transition(SwarmStatus(snap.get("status")), new, what="swarm")
            # The finishing agent's turn holds a lease, but the answer that called this tool is
            # already paid for and its turn makes no further call: its allowance goes back too.
            self._return_allowances(txn, sid, snap.to_dict(), finishing=actor)
            txn.update(
                ref,
                {
                    "status": new.value,
                    "summary": summary,
                    "updated_at": now(),
                    "finished_at": now(),
                },
            )
            txn.set(
                self.p.events(sid).document(),
                event_doc(f"swarm_{new.value}", actor, f"Swarm {new.value}: {summary[:300]}"),
            )
            return EffectResult({"swarm": sid, "status": new.value}, ends_turn=True)

        return run

    def decide_approval(
        self, sid: str, approval_id: str, *, approve: bool, actor: str, comment: str = ""
    ) -> dict:
        """A human's decision: recorded once, and delivered to the agent's inbox."""
        ref = self.p.approvals(sid).document(approval_id)

        @firestore.transactional
        def txn_fn(txn):
            snap = ref.get(transaction=txn)
            if not snap.exists:
                raise NotFound(f"approval {approval_id} does not exist")
            d = snap.to_dict()
            if d["status"] != "pending":
                raise Conflict(f"approval {approval_id} was already {d['status']}")
            status = "approved" if approve else "rejected"
            agent_ref = self.p.agent(sid, d["agent_id"])
            agent = agent_ref.get(transaction=txn)  # every read before the first write
            decision = {
                "status": status,
                "decided_by": actor,
                "comment": comment,
                "decided_at": now(),
            }
            txn.update(ref, decision)
            # Only an agent still waiting is woken: a failed or finished one stays as it is.
            if agent.exists and agent.get("status") == "waiting_approval":
                txn.update(agent_ref, {"status": "idle", "activity": f"approval {status}"})
            body = f"Your request '{d['action']}' was {status} by {actor}."
            if comment:
                body += f" Comment: {comment}"
            txn.set(
                self.p.messages(sid).document(f"approval-{approval_id}"),
                message_doc(
                    f"human:{actor}",
                    d["agent_id"],
                    body,
                    "approval",
                    approval=approval_id,
                    approved=approve,
                ),
            )
            txn.set(
                self.p.events(sid).document(),
                event_doc(f"approval_{status}", actor, body, {"approval": approval_id}),
            )
            return {**d, **decision, "id": approval_id}

        with translated("decide approval"):
            return txn_fn(self.db.transaction())


def _ordered(snaps, refs):
    by_path = {s.reference.path: s for s in snaps}
    return [by_path[r.path] for r in refs]
