"""What a turn keeps for the UI's timeline: a compact, bounded record of one turn.

The turn notes each model call and tool call here as it goes (``TurnLog``); at release, the
record (``models.Turn``) is written in the release's own transaction (``lease.release_lease``),
so the timeline costs no Firestore round trip: one more document write per turn, whatever the
size of the board. The record holds numbers and names only, never prompt or tool text: the
transcript (GCS) has those, and the record names the turn's transcript objects (``turn`` and
each call's ``seq``) so the UI can open it at a call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cloudswarm.core.decisions import SERVER_TIME, WriteFields
from cloudswarm.core.models import Turn, TurnCall, TurnTool

# A turn's record lists at most this many model calls and as many tool calls (counts stay
# exact): a long tool loop cannot grow a document past a small, known size (a few KB).
MAX_STEPS = 40
DETAIL_CHARS = 200


@dataclass
class TurnLog:
    """A turn's steps as they happen, in seconds since the turn started (its monotonic clock)."""

    started_at: dt.datetime
    started: float  # the turn's monotonic clock at start
    calls: list[TurnCall] = field(default_factory=list)
    tools: list[TurnTool] = field(default_factory=list)
    n_calls: int = 0
    n_tools: int = 0
    tool_errors: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    approval: str | None = None

    def model_call(self, seq: int, began: float, ended: float, tokens: int, cost: float) -> None:
        self.n_calls += 1
        self.tokens += tokens
        self.cost_usd += cost
        if len(self.calls) < MAX_STEPS:
            at = round(began - self.started, 3)
            self.calls.append(TurnCall(seq, at, round(ended - began, 3), tokens, cost))

    def tool_call(self, name: str, began: float, ended: float, *, is_error: bool) -> None:
        self.n_tools += 1
        self.tool_errors += is_error
        if len(self.tools) < MAX_STEPS:
            at = round(began - self.started, 3)
            self.tools.append(TurnTool(name[:64], at, round(ended - began, 3), is_error))


def turn_record(
    log: TurnLog,
    *,
    turn_id: str,
    agent_id: str,
    turn: int,
    outcome: str,
    detail: str,
    ended: float,
    retry_attempt: int = 0,
) -> WriteFields:
    """The document of a finished turn (``models.Turn``); ``ended_at`` is the commit time."""
    return Turn(
        id=turn_id,
        agent_id=agent_id,
        turn=turn,
        outcome=outcome,
        detail=detail[:DETAIL_CHARS],
        started_at=log.started_at,
        ended_at=SERVER_TIME,
        dur_s=round(max(0.0, ended - log.started), 3),
        calls=log.n_calls,
        tokens=log.tokens,
        cost_usd=log.cost_usd,
        tool_count=log.n_tools,
        tool_errors=log.tool_errors,
        model_calls=tuple(log.calls),
        tools=tuple(log.tools),
        approval=log.approval,
        retry_attempt=retry_attempt,
    ).to_doc()
