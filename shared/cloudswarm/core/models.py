"""Domain records and their status state machines.

Each document kind (swarm, agent, task, message, approval, event, artifact, effect, and the kill
switch and dead letters the UI shows) has one record here: a frozen dataclass naming every field
its document holds, with ``to_doc`` / ``from_doc`` to and from the plain mapping a store reads and
writes (docs/architecture.md, "Firestore"). The API's response models and the web UI's declared
reads are checked against these (tests/unit/test_records.py), so a field cannot be renamed in one
place only. A status change is only ever made through ``transition`` so an illegal one fails
before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar, Union, get_args, get_origin, get_type_hints

from cloudswarm.core.decisions import ServerTime
from cloudswarm.errors import InvalidTransition


class SwarmStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    KILLED = "killed"


class AgentStatus(StrEnum):
    IDLE = "idle"  # waiting for mail
    RUNNING = "running"  # a turn holds the lease
    WAITING_APPROVAL = "waiting_approval"
    PAUSED = "paused"  # paused by a human on its own: no turn starts, its mail waits
    STOPPED = "stopped"  # stopped by a human or the swarm ending
    FAILED = "failed"  # permanent error or loop guard; reason in last_error


class TaskStatus(StrEnum):
    BLOCKED = "blocked"  # some blocked_by task is not done yet
    READY = "ready"  # may be claimed
    IN_PROGRESS = "in_progress"  # claimed by its owner
    DONE = "done"
    CANCELLED = "cancelled"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Role(StrEnum):
    LEAD = "lead"
    TEAMMATE = "teammate"


_SWARM = {
    SwarmStatus.RUNNING: {
        SwarmStatus.PAUSED,
        SwarmStatus.COMPLETED,
        SwarmStatus.FAILED,
        SwarmStatus.KILLED,
    },
    SwarmStatus.PAUSED: {SwarmStatus.RUNNING, SwarmStatus.KILLED, SwarmStatus.FAILED},
    SwarmStatus.COMPLETED: set(),
    SwarmStatus.FAILED: set(),
    SwarmStatus.KILLED: set(),
}
_AGENT = {
    AgentStatus.IDLE: {
        AgentStatus.RUNNING,
        AgentStatus.PAUSED,
        AgentStatus.STOPPED,
        AgentStatus.FAILED,
    },
    AgentStatus.RUNNING: {
        AgentStatus.IDLE,
        AgentStatus.WAITING_APPROVAL,
        AgentStatus.PAUSED,
        AgentStatus.STOPPED,
        AgentStatus.FAILED,
    },
    AgentStatus.WAITING_APPROVAL: {
        AgentStatus.RUNNING,
        AgentStatus.IDLE,
        AgentStatus.PAUSED,
        AgentStatus.STOPPED,
        AgentStatus.FAILED,
    },
    # Resumed to idle; the turn that was running when it paused may still fail it.
    AgentStatus.PAUSED: {AgentStatus.IDLE, AgentStatus.STOPPED, AgentStatus.FAILED},
    AgentStatus.STOPPED: set(),
    AgentStatus.FAILED: {AgentStatus.IDLE},  # a human may revive a failed agent
}
_TASK = {
    TaskStatus.BLOCKED: {TaskStatus.READY, TaskStatus.CANCELLED},
    TaskStatus.READY: {TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED, TaskStatus.CANCELLED},
    TaskStatus.IN_PROGRESS: {TaskStatus.DONE, TaskStatus.READY, TaskStatus.CANCELLED},
    TaskStatus.DONE: set(),
    TaskStatus.CANCELLED: set(),
}
_APPROVAL = {
    ApprovalStatus.PENDING: {ApprovalStatus.APPROVED, ApprovalStatus.REJECTED},
    ApprovalStatus.APPROVED: set(),
    ApprovalStatus.REJECTED: set(),
}
_TABLES: dict[type, dict[Any, set[Any]]] = {
    SwarmStatus: _SWARM,
    AgentStatus: _AGENT,
    TaskStatus: _TASK,
    ApprovalStatus: _APPROVAL,
}
S = TypeVar("S", bound=StrEnum)
TERMINAL_SWARM = frozenset({SwarmStatus.COMPLETED, SwarmStatus.FAILED, SwarmStatus.KILLED})


def can_transition(current: StrEnum, new: StrEnum) -> bool:
    return new in _TABLES[type(current)][current]


def transition(current: S, new: S, *, what: str = "") -> S:
    """Return ``new`` if the move is allowed, else raise InvalidTransition naming both states."""
    if type(current) is not type(new):
        raise TypeError(f"cannot move a {type(current).__name__} to a {type(new).__name__}")
    if not can_transition(current, new):
        label = f"{what} " if what else ""
        allowed = sorted(s.value for s in _TABLES[type(current)][current]) or ["nothing (final)"]
        raise InvalidTransition(
            f"{label}cannot go from {current.value} to {new.value}; allowed: {', '.join(allowed)}"
        )
    return new


@dataclass(frozen=True)
class Budget:
    """Limits; ``None`` means unlimited on that axis."""

    usd: float | None = None
    tokens: int | None = None
    turns: int | None = None
    wall_s: float | None = None


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    web_search_requests: int = 0  # server tools' uses, charged apart from tokens
    web_fetch_requests: int = 0

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cost_usd + other.cost_usd,
            self.web_search_requests + other.web_search_requests,
            self.web_fetch_requests + other.web_fetch_requests,
        )


@dataclass(frozen=True)
class Axes:
    """Amounts on the budget axes a swarm hands out (granted) and an agent holds (allowance,
    spent)."""

    usd: float = 0
    tokens: int = 0
    turns: int = 0


@dataclass(frozen=True)
class Lease:
    turn: str  # the turn id holding the agent
    expires: dt.datetime


# -- documents -----------------------------------------------------------------------------------

# A timestamp as read back, or the commit time a write asks the database to stamp.
Stamp = dt.datetime | ServerTime


# Field metadata. LATER: written after the document is created (absent from a new one);
# ``to_doc`` leaves it out while it is None, ``from_doc`` accepts a document without it.
# "doc": the field's name in the document, where it is not a Python name (a message's ``from``).
LATER = {"later": True}


class Record:
    """Conversion between a record and its document. ``id`` is the document's id (its path's
    last segment), not one of its fields; every other dataclass field is one."""

    id: str
    KIND: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]  # every record is one

    @classmethod
    def _fields(cls) -> list[tuple[dataclasses.Field[Any], str]]:
        return [
            (f, f.metadata.get("doc", f.name)) for f in dataclasses.fields(cls) if f.name != "id"
        ]

    @classmethod
    def doc_fields(cls) -> frozenset[str]:
        """Every field this kind of document may hold."""
        return frozenset(name for _, name in cls._fields())

    @classmethod
    def created_fields(cls) -> frozenset[str]:
        """The fields a new document of this kind holds."""
        return frozenset(name for f, name in cls._fields() if not f.metadata.get("later"))

    def to_doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f, name in self._fields():
            value = getattr(self, f.name)
            if f.metadata.get("later") and value is None:
                continue
            out[name] = _encode(value)
        return out

    @classmethod
    def from_doc(cls, doc_id: str, doc: Mapping[str, Any]) -> Self:
        """The record of a document; a field the record does not know, or a missing one that a
        new document always has, is an error: a drift between writer and record shows at once."""
        unknown = set(doc) - cls.doc_fields()
        missing = cls.created_fields() - set(doc)
        if unknown or missing:
            raise ValueError(
                f"{cls.KIND} {doc_id}: unknown fields {sorted(unknown)}, missing {sorted(missing)}"
            )
        hints = _hints(cls)
        values = {
            f.name: _decode(hints[f.name], doc[name]) for f, name in cls._fields() if name in doc
        }
        return cls(id=doc_id, **values)  # type: ignore[call-arg]


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """A class's resolved annotations (resolving them is slow; a class's never change)."""
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _encode(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if get_origin(hint) in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _decode(options[0], value)
        return value  # a Stamp: a datetime or the server-time sentinel, kept as it is
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return hint(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        inner = _hints(hint)
        return hint(**{k: _decode(inner[k], v) for k, v in value.items()})
    if get_origin(hint) is tuple:
        item = get_args(hint)[0] if get_args(hint) else None
        if isinstance(item, type) and dataclasses.is_dataclass(item):
            return tuple(_decode(item, v) for v in value)
        return tuple(value)
    return value


@dataclass(frozen=True)
class Swarm(Record):
    KIND: ClassVar[str] = "swarm"
    id: str
    goal: str
    created_by: str
    status: SwarmStatus = SwarmStatus.RUNNING
    lead_id: str = "lead"
    budget: Budget = field(default_factory=Budget)
    granted: Axes = field(default_factory=Axes)  # handed out to agents' allowances
    agent_count: int = 1
    task_count: int = 0
    tasks_done: int = 0
    status_reason: str | None = None
    summary: str | None = None
    template: str | None = None
    request_id: str | None = None
    created_at: Stamp | None = None
    updated_at: Stamp | None = None
    # Written by no rule any more (grants live in BudgetShard); read from older documents.
    granted_day: Mapping[str, float] | None = field(default=None, metadata=LATER)
    # Per agent, how many interrupts or pauses had to close its running turn (the halt watch
    # reads it with the swarm: core/agent_control.py).
    interrupts: Mapping[str, int] | None = field(default=None, metadata=LATER)
    finished_at: Stamp | None = field(default=None, metadata=LATER)
    # Server tools its agents may reach (core/server_tools.py); absent: none.
    tools: Mapping[str, Any] | None = field(default=None, metadata=LATER)
    # Its context edits (core/context.py); absent: the defaults.
    context: Mapping[str, Any] | None = field(default=None, metadata=LATER)


@dataclass(frozen=True)
class Agent(Record):
    KIND: ClassVar[str] = "agent"
    id: str
    name: str
    role: Role
    model: str
    instructions: str = ""
    status: AgentStatus = AgentStatus.IDLE
    parent_id: str | None = None
    depth: int = 0
    created_at: Stamp | None = None
    lease: Lease | None = None
    wake_pending: bool = False
    turns: int = 0
    usage: Usage = field(default_factory=Usage)
    allowance: Axes = field(default_factory=Axes)
    spent: Axes = field(default_factory=Axes)
    conv_version: int = 0
    last_error: str | None = None
    turns_without_progress: int = 0
    msgs_since_progress: int = 0
    activity: str = "waiting for mail"
    role_description: str | None = field(
        default=None, metadata=LATER
    )  # a teammate's role, as its lead described it
    resume_pending: bool | None = field(
        default=None, metadata=LATER
    )  # a halted turn left work to resume
    retry_attempt: int | None = field(default=None, metadata=LATER)
    stopped_by: str | None = field(default=None, metadata=LATER)
    # Its server tools, handed at spawn (a lead has the swarm's); the code-execution container
    # it reuses while it lives: {id, expires_at}.
    tools: Mapping[str, Any] | None = field(default=None, metadata=LATER)
    container: Mapping[str, str] | None = field(default=None, metadata=LATER)
    # Its conversation ends with an answer the API paused (pause_turn): its next turn goes on.
    paused_answer: bool | None = field(default=None, metadata=LATER)


@dataclass(frozen=True)
class Task(Record):
    KIND: ClassVar[str] = "task"
    id: str
    title: str
    created_by: str
    description: str = ""
    status: TaskStatus = TaskStatus.READY
    owner: str | None = None
    blocked_by: tuple[str, ...] = ()
    waiting_on: tuple[str, ...] = ()  # the blocked_by tasks not done yet
    blocks: tuple[str, ...] = ()  # the tasks whose blocked_by names this one
    result: str | None = None
    created_at: Stamp | None = None
    updated_at: Stamp | None = None
    version: int = 1


@dataclass(frozen=True)
class Message(Record):
    KIND: ClassVar[str] = "message"
    id: str
    sender: str = field(
        default="", metadata={"doc": "from"}
    )  # agent id, or "human:<actor>" / "system"
    to: str = ""
    body: str = ""
    kind: str = "message"  # message | interrupt | goal | task_update | approval | system
    read: bool = False
    created_at: Stamp | None = None
    task: str | None = field(default=None, metadata=LATER)  # task_update: the task it is about
    approval: str | None = field(default=None, metadata=LATER)  # approval: the request decided
    approved: bool | None = field(default=None, metadata=LATER)
    about: str | None = field(default=None, metadata=LATER)  # system: the agent it is about
    read_by_turn: str | None = field(default=None, metadata=LATER)  # the turn that consumed it
    # The sender's span (W3C traceparent), when traced: the recipient's turn links to it.
    trace: str | None = field(default=None, metadata=LATER)
    # approval: the external call it approved or rejected, {server, tool, arguments}.
    call: Mapping[str, Any] | None = field(default=None, metadata=LATER)


@dataclass(frozen=True)
class Event(Record):
    KIND: ClassVar[str] = "event"
    id: str
    kind: str
    actor: str
    summary: str
    data: Mapping[str, Any] = field(default_factory=dict)
    at: Stamp | None = None


@dataclass(frozen=True)
class Approval(Record):
    KIND: ClassVar[str] = "approval"
    id: str
    agent_id: str
    action: str
    detail: str
    status: ApprovalStatus = ApprovalStatus.PENDING
    created_at: Stamp | None = None
    decided_by: str | None = None
    comment: str | None = None
    decided_at: Stamp | None = field(default=None, metadata=LATER)
    # An external (MCP) call held for the decision: {server, tool, arguments} (core/external.py).
    call: dict[str, Any] | None = None


@dataclass(frozen=True)
class Artifact(Record):
    """The workspace index entry of one path; the content is an object in GCS. ``id`` is the
    path's key (a hash: paths hold '/')."""

    KIND: ClassVar[str] = "artifact"
    id: str
    path: str
    version: int
    object: str
    size: int
    updated_by: str
    updated_at: Stamp | None = None


@dataclass(frozen=True)
class ArtifactVersion(Artifact):
    """One version of a workspace path, append-only (``artifacts/{key}/versions/{n}``): the
    index entry's fields as that version wrote them, so every version's object stays reachable.
    ``id`` is the zero-padded version number."""

    KIND: ClassVar[str] = "artifact_version"


@dataclass(frozen=True)
class Effect(Record):
    """A tool call's stored outcome, under its tool_use id: a replay hands it back."""

    KIND: ClassVar[str] = "effect"
    id: str
    tool: str
    content: Mapping[str, Any]
    is_error: bool = False
    ring: tuple[str, ...] = ()
    progress: bool = False
    ends_turn: bool = False
    at: Stamp | None = None


@dataclass(frozen=True)
class KillSwitch(Record):
    """``control/kill_switch``, and each entry of its audit collection."""

    KIND: ClassVar[str] = "kill_switch"
    id: str
    engaged: bool
    reason: str
    actor: str
    at: Stamp | None = None


@dataclass(frozen=True)
class DeadLetter(Record):
    KIND: ClassVar[str] = "dead_letter"
    id: str
    source: str
    reason: str
    payload: Mapping[str, Any]
    at: Stamp | None = None


@dataclass(frozen=True)
class TurnCall:
    """One model call of a turn, as the timeline draws it: when (seconds into the turn), how
    long, what it used. ``seq`` numbers the call's transcript object within the turn."""

    seq: int
    at_s: float
    dur_s: float
    tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class TurnTool:
    """One tool call of a turn: its name, when it ran (seconds into the turn), whether it failed."""

    name: str
    at_s: float
    dur_s: float
    is_error: bool = False


@dataclass(frozen=True)
class Turn(Record):
    """``turns/{turn_id}``: a compact record of one finished turn, written by the lease's release
    (core/timeline.py builds it), for the UI's timeline and cost-over-time chart. Bounded: at most
    ``timeline.MAX_STEPS`` calls and tools are listed, and ``calls``/``tool_count`` count them all.
    ``turn`` is the agent's turn number, so the turn's transcript objects can be named."""

    KIND: ClassVar[str] = "turn"
    id: str
    agent_id: str
    turn: int
    outcome: str  # done | continued | idle | retry | halted | failed (core.turn.TurnOutcome)
    detail: str = ""
    started_at: Stamp | None = None
    ended_at: Stamp | None = None
    dur_s: float = 0.0
    calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    tool_count: int = 0
    tool_errors: int = 0
    model_calls: tuple[TurnCall, ...] = ()
    tools: tuple[TurnTool, ...] = ()
    approval: str | None = None  # the approval this turn asked for and ended on
    retry_attempt: int = 0  # how many retries came before this turn (0: none)


@dataclass(frozen=True)
class BudgetShard(Record):
    """``swarms/{sid}/budget/{i}``: one shard of a swarm's budget (``core/shards.py``), what it
    granted on each axis and what it holds of the day's cap, by day shard, for that day only."""

    KIND: ClassVar[str] = "budget_shard"
    id: str
    granted_usd: float = 0.0
    granted_tokens: float = 0.0
    granted_turns: float = 0.0
    held_day: str | None = None
    held: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DayShard(Record):
    """``budget_days/{day}/shards/{i}``: one shard of the global daily USD cap."""

    KIND: ClassVar[str] = "day_shard"
    id: str
    granted_usd: float = 0.0


RECORDS: tuple[type[Record], ...] = (
    Swarm, Agent, Task, Message, Event, Approval, Artifact, ArtifactVersion, Effect, KillSwitch,
    DeadLetter, Turn, BudgetShard, DayShard,
)  # fmt: skip
