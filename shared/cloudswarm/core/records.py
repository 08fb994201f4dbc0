"""Plain results the store hands to the core: what a lease acquire saw, an effect's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field

from cloudswarm.core.shapes import AgentDoc, JSONObject, KillDoc, SwarmDoc


def bounded_int(value: object, low: int, high: int) -> int | None:
    """``value`` as an integer from ``low`` to ``high``, or None when it is not one. JSON has one
    number type: 2.0 is the integer 2 (as JSON Schema and pydantic read it); a bool is not."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


@dataclass(frozen=True)
class LeaseResult:
    """``kind``: acquired | busy (coalesced; wake_pending set) | missing | inactive."""

    kind: str
    agent: AgentDoc = field(default_factory=lambda: AgentDoc())
    swarm: SwarmDoc = field(default_factory=lambda: SwarmDoc())
    kill: KillDoc = field(default_factory=lambda: KillDoc())
    reason: str = ""


@dataclass(frozen=True)
class EffectResult:
    """A tool call's outcome, as stored under its tool_use id; ``ring`` lists agents to wake."""

    content: JSONObject
    is_error: bool = False
    ring: tuple[str, ...] = ()
    replayed: bool = False
    progress: bool = False  # the call moved the task board (loop guard)
    ends_turn: bool = False
