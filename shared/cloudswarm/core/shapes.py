"""What crosses the ports (``core/ports.py``): JSON, and a typed view of each kind of document
and message the core reads field by field.

A store, the journal, the model and the MCP client hand the core plain JSON objects; Firestore's
timestamps arrive as datetimes. These TypedDicts say what the core may find in them. They are
``total=False``: a document written before a field existed lacks it, so the core reads with
defaults. The record of each document kind (``core/models.py``) stays the one definition of what a
document holds: ``tests/unit/test_shapes.py`` fails when a view here and its record name
different fields, when a view holds anything but JSON, or when ``Any`` reaches a port.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TypedDict, cast

# A JSON value as the core holds it (a document's timestamps are datetimes). Nested arrays and
# objects are read-only views, so a ``list[str]`` or a ``dict[str, int]`` is one as it stands.
JSON = str | int | float | bool | None | dt.datetime | Sequence["JSON"] | Mapping[str, "JSON"]
JSONObject = dict[str, JSON]


class ServerTime:
    """The commit time, as the database stamps it (Firestore's SERVER_TIMESTAMP)."""

    _instance: ServerTime | None = None

    def __new__(cls) -> ServerTime:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SERVER_TIME"


SERVER_TIME = ServerTime()


class LeaseDoc(TypedDict):
    turn: str
    expires: dt.datetime


class AgentDoc(TypedDict, total=False):
    """An agent document as a store reads it, with its ``id`` (the lease adds it)."""

    id: str
    name: str
    role: str
    model: str
    instructions: str
    status: str
    parent_id: str | None
    depth: int
    created_at: dt.datetime | None
    lease: LeaseDoc | None
    wake_pending: bool
    turns: int
    usage: dict[str, float]
    allowance: dict[str, float]
    spent: dict[str, float]
    conv_version: int
    last_error: str | None
    turns_without_progress: int
    msgs_since_progress: int
    activity: str
    role_description: str
    resume_pending: bool
    retry_attempt: int
    stopped_by: str
    tools: JSONObject
    container: dict[str, str]
    paused_answer: bool


class SwarmDoc(TypedDict, total=False):
    id: str
    goal: str
    created_by: str
    status: str
    lead_id: str
    budget: dict[str, float | None]
    granted: dict[str, float]
    agent_count: int
    task_count: int
    tasks_done: int
    status_reason: str | None
    summary: str | None
    template: str | None
    request_id: str | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    granted_day: dict[str, float]
    interrupts: dict[str, int]
    finished_at: dt.datetime
    tools: JSONObject
    context: JSONObject


class KillDoc(TypedDict, total=False):
    engaged: bool
    reason: str
    actor: str
    at: dt.datetime | None


class TaskDoc(TypedDict, total=False):
    id: str
    title: str
    created_by: str
    description: str
    status: str
    owner: str | None
    blocked_by: list[str]
    waiting_on: list[str]
    blocks: list[str]
    result: str | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    version: int


# A message's sender is its ``from`` field, a keyword in Python: hence the functional form.
MessageDoc = TypedDict(
    "MessageDoc",
    {
        "id": str,
        "from": str,
        "to": str,
        "body": str,
        "kind": str,
        "read": bool,
        "created_at": dt.datetime | None,
        "task": str | None,
        "approval": str | None,
        "approved": bool | None,
        "about": str | None,
        "read_by_turn": str | None,
        "trace": str | None,
        "call": JSONObject | None,
    },
    total=False,
)


class ArtifactDoc(TypedDict, total=False):
    id: str
    path: str
    version: int
    object: str
    size: int
    updated_by: str
    updated_at: dt.datetime | None


class ApprovalDoc(TypedDict, total=False):
    agent_id: str
    action: str
    detail: str
    status: str
    created_at: dt.datetime | None
    decided_by: str | None
    comment: str | None
    decided_at: dt.datetime
    call: JSONObject | None


class EffectDoc(TypedDict, total=False):
    """A tool call's stored outcome, ``effects/{tool_use_id}``."""

    tool: str
    content: JSONObject
    is_error: bool
    ring: list[str]
    progress: bool
    ends_turn: bool
    at: dt.datetime | None


class ExternalCallDoc(TypedDict, total=False):
    """An external call's attempt, noted before it is sent (``core/external_calls.py``)."""

    phase: str  # sending | not_sent
    key: str
    at: dt.datetime


class ProcessedDoc(TypedDict, total=False):
    """A request already carried out (``processed/{key}``), and what it made."""

    swarm_id: str
    at: dt.datetime


class BudgetShardDoc(TypedDict, total=False):
    granted_usd: float
    granted_tokens: float
    granted_turns: float
    held_day: str | None
    held: dict[str, float]


class DayShardDoc(TypedDict, total=False):
    granted_usd: float


class Block(TypedDict, total=False):
    """One content block of a conversation message. The model's blocks carry more fields than
    these (server tools' results, citations); the core reads only these and passes the rest on
    as they came."""

    type: str
    text: str
    id: str
    name: str
    input: JSONObject
    tool_use_id: str
    content: JSON
    is_error: bool
    cache_control: dict[str, str]


class ConvMessage(TypedDict):
    """One message of a conversation, as the Messages API takes it."""

    role: str
    content: list[Block]


class McpServer(TypedDict, total=False):
    """An external (MCP) server as a swarm's ``tools.mcp`` names it (``core/external.py``)."""

    name: str
    url: str
    policy: dict[str, str]
    token_secret: str


class ToolDef(TypedDict, total=False):
    """A tool as a request offers it: the board's and external ones by a schema, the server
    tools by their ``type`` and their options (``core/server_tools.py``)."""

    name: str
    type: str
    description: str
    input_schema: JSONObject
    cache_control: dict[str, str]
    max_uses: int
    allowed_domains: list[str]
    blocked_domains: list[str]
    user_location: dict[str, str]
    citations: dict[str, bool]
    max_content_tokens: int


class Request(TypedDict, total=False):
    """One Messages request, as ``core/prompt.py`` builds it and the model adapter sends it."""

    model: str
    max_tokens: int
    system: list[Block]
    tools: list[ToolDef]
    messages: list[ConvMessage]
    tool_choice: dict[str, str]
    container: str
    context_management: JSONObject


class Transcript(TypedDict):
    """What the transcript keeps of one model call (``Journal.write_transcript``)."""

    request: Request
    response: JSONObject
    cost_usd: float
    context_edits: list[JSONObject]


class Board(TypedDict):
    """The compact view of the board a turn opens with (``core/prompt.py``)."""

    tasks_total: int
    tasks_done: int
    mine: list[TaskDoc]
    ready: list[TaskDoc]


# -- reading a JSON value the core did not build (a tool's input, a nested field) -----------------


def obj(value: JSON) -> Mapping[str, JSON]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def seq(value: JSON) -> Sequence[JSON]:
    """``value`` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list | tuple) else ()


def text(value: JSON, default: str = "") -> str:
    """``value`` when it is a string, else ``default``."""
    return value if isinstance(value, str) else default


# Every view above holds only JSON (tests/unit/test_shapes.py checks each field's type).
Shape = (
    AgentDoc
    | SwarmDoc
    | KillDoc
    | TaskDoc
    | MessageDoc
    | ArtifactDoc
    | ApprovalDoc
    | EffectDoc
    | ExternalCallDoc
    | ProcessedDoc
    | BudgetShardDoc
    | DayShardDoc
    | LeaseDoc
    | Block
    | ConvMessage
    | McpServer
    | ToolDef
    | Request
    | Transcript
    | Board
)


def as_json(doc: Shape) -> JSONObject:
    """A typed view as the JSON object it is (the same object: nothing is copied or checked at
    run time; the views' fields are JSON by construction)."""
    return cast(JSONObject, doc)
