"""Request and response bodies. Requests forbid unknown fields; responses allow extra fields so
documents can grow without breaking clients (the UI contract: add fields, never rename).

A response that shows a document names a subset of its record's fields (core/models.py; the
rest pass through as extra fields): ``RECORD_OF`` says which record, and
tests/unit/test_records.py holds every declared field to a field of that record.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from cloudswarm.api.keys import NAME_PATTERN
from cloudswarm.core import context as context_edits
from cloudswarm.core import models, pricing, server_tools, templates

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


def _model_pattern() -> str:
    """The models the API prices (core/prices.json), each also with an eight-digit date: the
    document says which ids a swarm may take, as the start of a swarm checks (pricing.model_key).
    Built from the table, so it cannot drift from it."""
    ids = pricing.accepted_ids()
    if not all(re.fullmatch(r"[a-z0-9.-]+", m) for m in ids):
        raise ValueError("a model id needs escaping in the document's pattern")
    return "^(?:" + "|".join(m.replace(".", r"\.") for m in ids) + r")(?:[-@]\d{8})?$"


class SwarmCreate(In):
    goal: str = Field(min_length=1, max_length=20000, pattern=r"\S")
    model: str | None = Field(default=None, pattern=_model_pattern())
    budget: BudgetIn | None = None
    template: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
    # Server tools, checked by core/server_tools.py at start (422 ``invalid_tools`` naming the
    # field at fault, as the Pub/Sub and webhook ways in are); the document states that check's
    # every constraint, built from the same table.
    tools: Annotated[dict[str, Any], WithJsonSchema(server_tools.json_schema())] | None = None
    # Context edits (core/context.py), checked at start (422 ``invalid_context`` naming the
    # field); absent: compaction and tool-result clearing with their default triggers.
    context: Annotated[dict[str, Any], WithJsonSchema(context_edits.json_schema())] | None = None


class StatusChange(In):
    reason: str | None = Field(default=None, max_length=1000)


class HumanMessage(In):
    body: str = Field(min_length=1, max_length=8000, pattern=r"\S")
    # True: stop the agent's running call now; its next turn opens with this message.
    interrupt: bool = False


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


# The characters an artifact path may hold (core/tools.py's clean_path checks the rest after
# normalising: a path that cannot name an artifact, such as "..", is a 404 for a read).
ArtifactPath = Annotated[
    str, StringConstraints(min_length=1, max_length=1000, pattern=r"^[A-Za-z0-9._\-/ ]+$")
]


class ArtifactQuery(Page):
    limit: int = Field(default=100, ge=1, le=500)
    prefix: str = Field(default="", max_length=1000)


class ArtifactRead(In):
    path: ArtifactPath
    version: int | None = Field(default=None, ge=1, le=10**9)


class ArtifactVersionsQuery(In):
    path: ArtifactPath
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
    # When the session ends: the last refreshed token expires then, and the key is needed again.
    session_expires_at: dt.datetime


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
    tools: dict[str, Any] | None = None


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
    web_search_requests: int = 0
    web_fetch_requests: int = 0


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
    tools: dict[str, Any] | None = None


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


class TemplateMate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=templates.NAME_PATTERN)
    instructions: str = Field(min_length=1, max_length=templates.MAX_TEXT, pattern=r"\S")
    role: str | None = Field(
        default=None, min_length=1, max_length=templates.MAX_TEXT, pattern=r"\S"
    )
    model: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")


class TemplateIn(BaseModel):
    """A team template (core/templates.py), as an admin creates one."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=templates.NAME_PATTERN)
    description: str | None = Field(default=None, min_length=1, max_length=templates.MAX_TEXT,
                                    pattern=r"\S")  # fmt: skip
    lead_instructions: str = Field(min_length=1, max_length=templates.MAX_TEXT, pattern=r"\S")
    teammates: list[TemplateMate] = Field(default_factory=list, max_length=templates.MAX_TEAMMATES)
    tools: Annotated[dict[str, Any], WithJsonSchema(server_tools.json_schema())] | None = None
    budget: BudgetIn | None = None


class TemplateOut(Out):
    """A template as ``TemplateIn`` describes it, with where it comes from (shipped | admin)."""

    name: str
    source: str | None = None


class TemplateList(Out):
    templates: list[TemplateOut]


class ApprovalCall(Out):
    """The external (MCP) call an approval holds: exactly what runs once it is approved."""

    server: str
    tool: str
    arguments: dict[str, Any]


class ApprovalOut(Out):
    id: str
    agent_id: str | None = None
    action: str | None = None
    detail: str | None = None
    call: ApprovalCall | None = None
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


class ArtifactOut(Out):
    id: str  # the path's key: a page token names the last one
    path: str
    version: int
    size: int
    updated_by: str | None = None
    updated_at: dt.datetime | None = None


class ArtifactPage(Out):
    artifacts: list[ArtifactOut]
    next_page_token: str | None = None


class ArtifactVersionOut(ArtifactOut):
    """One version of a path; ``id`` is the version, zero-padded."""


class ArtifactVersions(Out):
    path: str
    versions: list[ArtifactVersionOut]


class WebhookAccepted(Out):
    swarm_id: str | None = None
    delivery: str
    status: Literal["started", "ignored"]


# Which record each document-shaped response shows (``id`` is the document's id).
RECORD_OF: dict[type[BaseModel], type] = {
    SwarmOut: models.Swarm,
    Budget: models.Budget,
    AgentOut: models.Agent,
    UsageOut: models.Usage,
    TaskOut: models.Task,
    MessageOut: models.Message,
    EventOut: models.Event,
    ApprovalOut: models.Approval,
    AuditEntry: models.KillSwitch,
    KillSwitch: models.KillSwitch,
    ArtifactOut: models.Artifact,
    ArtifactVersionOut: models.ArtifactVersion,
}
