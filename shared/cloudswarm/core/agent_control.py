"""A human steering one agent: a message, an interrupting one, a pause, a resume.

Each is a rule (``cloudswarm.core.decisions``) the API applies with ``store.apply``.

How an interrupt reaches a call in flight without a read per agent: the swarm document, which
the halt watch already reads for every streaming swarm, holds ``interrupts``, a count per agent
of the interrupts and pauses that must close that agent's running turn. A turn remembers the
count it saw when it took its lease (the lease reads the swarm); a stream stops as soon as the
count it sees differs, and so does the turn before its next call. Nothing is ever reset, so a
late reading can only stop a turn that started before the change. Only an agent holding a lease
is counted: one without a turn has no stream to close.
"""

from __future__ import annotations

from cloudswarm.core import paths
from cloudswarm.core.decisions import (
    Decision,
    Outcome,
    Reader,
    Refusal,
    Rule,
    Write,
    add,
    set_doc,
    update,
)
from cloudswarm.core.documents import event_doc, message_doc
from cloudswarm.core.models import TERMINAL_SWARM, AgentStatus, SwarmStatus, transition
from cloudswarm.core.shapes import AgentDoc, JSONObject, MessageDoc, SwarmDoc, as_json

INTERRUPT = "interrupt"  # the kind of an operator's interrupting message
ACTIVE = frozenset({AgentStatus.IDLE, AgentStatus.RUNNING, AgentStatus.WAITING_APPROVAL})


def interrupt_count(swarm: SwarmDoc, aid: str) -> int:
    """How many times the agent's running turn has been told to stop, as the swarm says."""
    return int((swarm.get("interrupts") or {}).get(aid, 0))


def interrupted(swarm: SwarmDoc, aid: str, seen: int) -> bool:
    """Whether a turn that started when the count was ``seen`` must stop now."""
    return interrupt_count(swarm, aid) != seen


def interrupts_first(inbox: list[MessageDoc]) -> list[MessageDoc]:
    """The inbox with operators' interrupts ahead of older mail (each group keeps its order)."""
    return sorted(inbox, key=lambda m: m.get("kind") != INTERRUPT)


def _read(r: Reader, sid: str, aid: str) -> tuple[SwarmDoc, AgentDoc] | Refusal:
    swarm_path, agent_path = paths.swarm(sid), paths.agent(sid, aid)
    docs = r.get_many([swarm_path, agent_path])
    swarm, agent = docs[swarm_path], docs[agent_path]
    if swarm is None:
        return Refusal(f"swarm {sid} does not exist", "not_found", "not_found")
    if agent is None:
        return Refusal(f"agent {aid} does not exist in swarm {sid}", "not_found", "not_found")
    if SwarmStatus(swarm["status"]) in TERMINAL_SWARM:
        return Refusal(f"swarm {sid} is {swarm['status']}", "swarm_ended", "conflict")
    return swarm, agent


def _stop_turn(sid: str, swarm: SwarmDoc, aid: str, agent: AgentDoc) -> tuple[Write, ...]:
    """The write that closes the agent's running turn, if it has one (see the module doc).
    The whole map is written: agent ids hold characters a dotted field path cannot."""
    if not agent.get("lease"):
        return ()
    counts = {**(swarm.get("interrupts") or {}), aid: interrupt_count(swarm, aid) + 1}
    return (update(paths.swarm(sid), {"interrupts": counts}),)


def human_message(
    sid: str, aid: str, message_id: str, body: str, actor: str, trace: str | None = None
) -> Rule:
    """An operator's message to one agent, read in its next turn, with its event in the same
    write. ``trace``: the API call's traceparent, which the recipient's turn links to. Result:
    ``{"message_id": ...}``; the caller rings the agent."""

    def rule(r: Reader) -> Outcome:
        swarm_path, agent_path = paths.swarm(sid), paths.agent(sid, aid)
        docs = r.get_many([swarm_path, agent_path])
        if docs[swarm_path] is None:
            return Refusal(f"swarm {sid} does not exist", "not_found", "not_found")
        if docs[agent_path] is None:
            return Refusal(f"agent {aid} does not exist in swarm {sid}", "not_found", "not_found")
        sender, extra = f"human:{actor}", ({"trace": trace} if trace else {})
        return Decision(
            result={"message_id": message_id},
            writes=(
                set_doc(paths.message(sid, message_id), message_doc(sender, aid, body, **extra)),
                add(
                    paths.events(sid),
                    event_doc("message", sender, f"{actor} → {aid}: {body[:120]}"),
                ),
            ),
            ring=(aid,),
        )

    return rule


def interrupt_agent(sid: str, aid: str, message_id: str, body: str, actor: str) -> Rule:
    """An operator's message that stops the agent's running call and opens its next turn.
    Result: ``{"message_id": ...}``; the agent is rung (its next turn reads the message first)."""

    def rule(r: Reader) -> Outcome:
        found = _read(r, sid, aid)
        if isinstance(found, Refusal):
            return found
        swarm, agent = found
        status = AgentStatus(agent.get("status", "idle"))
        if status not in ACTIVE and status != AgentStatus.PAUSED:
            return Refusal(f"agent {aid} is {status.value}", "agent_inactive", "conflict")
        sender = f"human:{actor}"
        return Decision(
            result={"message_id": message_id},
            writes=(
                set_doc(paths.message(sid, message_id), message_doc(sender, aid, body, INTERRUPT)),
                *_stop_turn(sid, swarm, aid, agent),
                add(
                    paths.events(sid),
                    event_doc(
                        "agent_interrupted",
                        sender,
                        f"{actor} interrupted {aid}: {body[:120]}",
                        {"agent": aid, "message": message_id},
                    ),
                ),
            ),
            ring=(aid,),
        )

    return rule


def pause_agent(sid: str, aid: str, actor: str, reason: str = "") -> Rule:
    """Pause one agent: its running call stops, and no turn starts until it is resumed (its mail
    stays unread). Pausing a paused agent changes nothing. Result: the agent, with its ``id``."""

    def rule(r: Reader) -> Outcome:
        found = _read(r, sid, aid)
        if isinstance(found, Refusal):
            return found
        swarm, agent = found
        if AgentStatus(agent.get("status", "idle")) == AgentStatus.PAUSED:
            return Decision(result={"id": aid, **as_json(agent)})
        stop = _stop_turn(sid, swarm, aid, agent)
        return _move(sid, aid, agent, AgentStatus.PAUSED, "paused", actor, reason, stop)

    return rule


def resume_agent(sid: str, aid: str, actor: str, reason: str = "") -> Rule:
    """Resume a paused agent (idle again). Resuming an agent that is not paused but active
    changes nothing; a stopped or failed one is refused. Result: the agent, with its ``id``;
    the caller rings it when it has unread mail or a halted turn to finish (``resume_pending``)."""

    def rule(r: Reader) -> Outcome:
        found = _read(r, sid, aid)
        if isinstance(found, Refusal):
            return found
        _, agent = found
        cur = AgentStatus(agent.get("status", "idle"))
        if cur in ACTIVE:
            return Decision(result={"id": aid, **as_json(agent)})
        if cur != AgentStatus.PAUSED:
            return Refusal(
                f"agent {aid} is {cur.value}, not paused",
                "invalid_transition",
                "invalid_transition",
            )
        return _move(sid, aid, agent, AgentStatus.IDLE, "resumed", actor, reason, ())

    return rule


def _move(
    sid: str,
    aid: str,
    agent: AgentDoc,
    new: AgentStatus,
    verb: str,
    actor: str,
    reason: str,
    also: tuple[Write, ...],
) -> Decision:
    """The agent moved to ``new`` by ``actor`` (checked against its state machine), said once."""
    transition(AgentStatus(agent.get("status", "idle")), new, what=f"agent {aid}")
    why = f": {reason}" if reason else ""
    upd: JSONObject = {"status": new.value, "activity": f"{verb} by {actor}{why}"[:200]}
    said = event_doc(f"agent_{verb}", actor, f"{actor} {verb} {aid}{why}", {"agent": aid})
    return Decision(
        result={"id": aid, **as_json(agent), **upd},
        writes=(update(paths.agent(sid, aid), upd), *also, add(paths.events(sid), said)),
    )
