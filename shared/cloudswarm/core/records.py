"""Plain results the store hands to the core: what a lease acquire saw, an effect's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LeaseResult:
    """``kind``: acquired | busy (coalesced; wake_pending set) | missing | inactive."""

    kind: str
    agent: dict = field(default_factory=dict)
    swarm: dict = field(default_factory=dict)
    kill: dict = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class EffectResult:
    """A tool call's outcome, as stored under its tool_use id; ``ring`` lists agents to wake."""

    content: dict
    is_error: bool = False
    ring: tuple[str, ...] = ()
    replayed: bool = False
    progress: bool = False  # the call moved the task board (loop guard)
    ends_turn: bool = False
