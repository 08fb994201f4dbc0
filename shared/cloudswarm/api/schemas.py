"""Request and response bodies. Requests forbid unknown fields; responses allow extra fields so
documents can grow without breaking clients (the UI contract: add fields, never rename)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloudswarm.api.keys import NAME_PATTERN

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=r"\S")]
RoleName = Literal["viewer", "operator", "admin"]
PageToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,200}$")]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Out(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# -- requests ------------------------------------------------------------------------------------


class TokenRequest(In):
    api_key: str = Field(min_length=1, max_length=200)


class RevokeRequest(In):
    jti: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")


class KeyCreate(In):
    name: str = Field(pattern=NAME_PATTERN)
    role: RoleName


class BudgetIn(In):
    usd: float | None = Field(default=None, gt=0, le=1_000_000)
    tokens: int | None = Field(default=None, gt=0, le=10**12)
    turns: int | None = Field(default=None, gt=0, le=10**6)
    wall_s: float | None = Field(default=None, gt=0, le=30 * 86400)


class SwarmCreate(In):
    goal: str = Field(min_length=1, max_length=20000, pattern=r"\S")
    model: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$")
    budget: BudgetIn | None = None
    template: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


class StatusChange(In):
    reason: str | None = Field(default=None, max_length=1000)


class HumanMessage(In):
    body: str = Field(min_length=1, max_length=8000, pattern=r"\S")


class TaskCreate(In):
    title: str = Field(min_length=1, max_length=200, pattern=r"\S")
    description: str = Field(default="", max_length=8000)
    id: Id | None = None
    owner: Id | None = None
    blocked_by: list[Id] = Field(default_factory=list, max_length=20)


class Decision(In):
    comment: str | None = Field(default=None, max_length=2000)


class KillChange(In):
    reason: Reason


class Page(In):
    limit: int = Field(default=50, ge=1, le=200)
    page_token: PageToken | None = None


class FeedPage(Page):
    order: Literal["asc", "desc"] = "asc"


class SwarmQuery(Page):
    status: Literal["running", "paused", "completed", "failed", "killed"] | None = None


class TaskQuery(In):
    status: Literal["blocked", "ready", "in_progress", "done", "cancelled"] | None = None
    owner: Id | None = None
    limit: int = Field(default=100, ge=1, le=500)


class ApprovalQuery(In):
    status: Literal["pending", "approved", "rejected"] | None = None
    limit: int = Field(default=100, ge=1, le=500)


class TranscriptQuery(In):
    limit: int = Field(default=500, ge=1, le=5000)


# -- responses -----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(Out):
    status: Literal["ok"]
    time: dt.datetime


class TokenOut(Out):
    token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_at: dt.datetime
    role: RoleName
    key_id: str
    jti: str


class FirebaseTokenOut(Out):
    project_id: str
    emulator: bool
    uid: str
    role: RoleName
    custom_token: str | None = None
    mock_user_token: dict[str, Any] | None = None
    firestore_emulator_host: str | None = None


class Revoked(Out):
    jti: str
    revoked: bool


class KeyOut(Out):
    key_id: str
    name: str
    role: RoleName
    revoked: bool
    created_at: dt.datetime | None = None
    created_by: str | None = None
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None
    last_used_at: dt.datetime | None = None


class KeyList(Out):
    keys: list[KeyOut]


class KeyCreated(Out):
    key_id: str
    key: str
    name: str
    role: RoleName


class Budget(Out):
    usd: float | None = None
    tokens: int | None = None
    turns: int | None = None
    wall_s: float | None = None


class SwarmOut(Out):
    id: str
    goal: str
    status: str
    lead_id: str | None = None
    budget: Budget | None = None
    created_by: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    summary: str | None = None
    status_reason: str | None = None
    template: str | None = None
    agent_count: int | None = None
    task_count: int | None = None
    tasks_done: int | None = None


class SwarmList(Out):
    swarms: list[SwarmOut]
    next_page_token: str | None = None


class SwarmCreated(Out):
    swarm_id: str
    status: str


class Deleted(Out):
    id: str
    deleted: bool


class UsageOut(Out):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0


class AgentOut(Out):
    id: str
    name: str | None = None
    role: str | None = None
    model: str | None = None
    status: str | None = None
    activity: str | None = None
    parent_id: str | None = None
    turns: int | None = None
    usage: UsageOut | None = None
    last_error: str | None = None
    created_at: dt.datetime | None = None


class AgentList(Out):
    agents: list[AgentOut]


class MessageSent(Out):
    message_id: str


class TaskOut(Out):
    id: str
    title: str | None = None
    description: str | None = None
    status: str | None = None
    owner: str | None = None
    blocked_by: list[str] = Field(default_factory=list)
    result: str | None = None


class TaskList(Out):
    tasks: list[TaskOut]


class MessageOut(Out):
    id: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    body: str | None = None
    kind: str | None = None
    read: bool | None = None
    created_at: dt.datetime | None = None


class MessagePage(Out):
    messages: list[MessageOut]
    next_page_token: str | None = None


class EventOut(Out):
    id: str
    kind: str | None = None
    actor: str | None = None
    summary: str | None = None
    data: dict[str, Any] | None = None
    at: dt.datetime | None = None


class EventPage(Out):
    events: list[EventOut]
    next_page_token: str | None = None


class ApprovalOut(Out):
    id: str
    agent_id: str | None = None
    action: str | None = None
    detail: str | None = None
    status: str | None = None
    decided_by: str | None = None
    comment: str | None = None
    created_at: dt.datetime | None = None


class ApprovalList(Out):
    approvals: list[ApprovalOut]


class AuditEntry(Out):
    engaged: bool | None = None
    reason: str | None = None
    actor: str | None = None
    at: dt.datetime | None = None


class KillSwitch(Out):
    engaged: bool
    reason: str | None = None
    actor: str | None = None
    at: dt.datetime | None = None
    audit: list[AuditEntry] = Field(default_factory=list)


class AgentUsage(Out):
    agent_id: str
    turns: int = 0
    usage: UsageOut


class SwarmUsage(Out):
    swarm_id: str
    total: UsageOut
    agents: list[AgentUsage]
    budget: Budget | None = None


class WebhookAccepted(Out):
    swarm_id: str | None = None
    delivery: str
    status: Literal["started", "ignored"]
