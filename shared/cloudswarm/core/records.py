"""Plain results the store hands to the core: what a lease acquire saw, an effect's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A document or JSON body as the store, the journal and the model hand it over: a JSON object.
# The shape of each kind is defined once where it is built (core/documents.py, core/models.py);
# the ports name the kind, not every field.
Doc = dict[str, Any]


def bounded_int(value: Any, low: int, high: int) -> int | None:
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
    agent: Doc = field(default_factory=dict)
    swarm: Doc = field(default_factory=dict)
    kill: Doc = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class EffectResult:
    """A tool call's outcome, as stored under its tool_use id; ``ring`` lists agents to wake."""

    content: Doc
    is_error: bool = False
    ring: tuple[str, ...] = ()
    replayed: bool = False
    progress: bool = False  # the call moved the task board (loop guard)
    ends_turn: bool = False
