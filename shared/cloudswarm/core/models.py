"""Domain records and their status state machines.

Records are frozen dataclasses; the Firestore adapter maps them to documents. A status change is
only ever made through ``transition`` so an illegal one fails before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

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
    AgentStatus.IDLE: {AgentStatus.RUNNING, AgentStatus.STOPPED, AgentStatus.FAILED},
    AgentStatus.RUNNING: {
        AgentStatus.IDLE,
        AgentStatus.WAITING_APPROVAL,
        AgentStatus.STOPPED,
        AgentStatus.FAILED,
    },
    AgentStatus.WAITING_APPROVAL: {
        AgentStatus.RUNNING,
        AgentStatus.IDLE,
        AgentStatus.STOPPED,
        AgentStatus.FAILED,
    },
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
_TABLES: dict[type, dict] = {
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
        )


@dataclass(frozen=True)
class Swarm:
    id: str
    goal: str
    status: SwarmStatus
    lead_id: str
    budget: Budget = field(default_factory=Budget)
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Agent:
    id: str
    swarm_id: str
    name: str
    role: Role
    model: str
    instructions: str = ""
    status: AgentStatus = AgentStatus.IDLE
    parent_id: str | None = None
    depth: int = 0
    turns: int = 0
    budget: Budget = field(default_factory=Budget)
    usage: Usage = field(default_factory=Usage)
    last_error: str | None = None


@dataclass(frozen=True)
class Task:
    id: str
    swarm_id: str
    title: str
    description: str = ""
    status: TaskStatus = TaskStatus.READY
    owner: str | None = None
    blocked_by: tuple[str, ...] = ()
    result: str | None = None
    created_by: str | None = None
    version: int = 0


@dataclass(frozen=True)
class Message:
    id: str
    swarm_id: str
    sender: str  # agent id, or "human:<actor>" / "system"
    to: str
    body: str
    kind: str = "message"  # message | task_update | approval | system
    read: bool = False


@dataclass(frozen=True)
class Event:
    swarm_id: str
    kind: str
    actor: str
    summary: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Approval:
    id: str
    swarm_id: str
    agent_id: str
    action: str
    detail: str
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by: str | None = None
    comment: str | None = None
