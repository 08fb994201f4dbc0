"""The agent tools as data: names, descriptions written for the model, and JSON input schemas.

``LEAD_ONLY`` tools are refused server-side to every other agent, whatever the model asks for.
"""

from __future__ import annotations

from cloudswarm.core.shapes import JSONObject, ToolDef

_ID: JSONObject = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,39}$"}

TOOLS: list[ToolDef] = [
    {
        "name": "send_message",
        "description": (
            "Send a message to one teammate (by agent id), to 'lead', or to 'all' for a broadcast. "
            "Use it to hand over results, ask questions, or report blockers. Keep it short."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "to": {"type": "string", "description": "Agent id, 'lead' or 'all'."},
                "body": {"type": "string", "minLength": 1, "maxLength": 8000},
            },
            "required": ["to", "body"],
        },
    },
    {
        "name": "create_task",
        "description": (
            "Add a task to the shared board. Give it a short id (lowercase, digits, '-') so other "
            "tasks can depend on it. blocked_by lists ids of existing tasks that must be done "
            "first. owner assigns it to an agent, who is told when it becomes ready."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "id": {**_ID, "description": "Short unique id, e.g. 'api-design'."},
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": {"type": "string", "maxLength": 8000},
                "blocked_by": {"type": "array", "items": _ID, "maxItems": 20},
                "owner": {"type": "string", "description": "Agent id to assign it to."},
            },
            "required": ["title"],
        },
    },
    {
        "name": "claim_task",
        "description": (
            "Claim a ready task to work on it. Fails if the task is blocked or owned by someone "
            "else."
        ),
        "input_schema": {
            "type": "object",
            "properties": {"task_id": _ID},
            "required": ["task_id"],
        },
    },
    {
        "name": "complete_task",
        "description": (
            "Mark a task you claimed as done, with its result. Tasks waiting on it become ready "
            "and their owners are told."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "task_id": _ID,
                "result": {"type": "string", "minLength": 1, "maxLength": 8000},
            },
            "required": ["task_id", "result"],
        },
    },
    {
        "name": "update_task",
        "description": (
            "Change a task's title, description, owner or dependencies, or cancel it "
            "(status 'cancelled'). Done tasks cannot change."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "task_id": _ID,
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": {"type": "string", "maxLength": 8000},
                "owner": {"type": "string"},
                "blocked_by": {"type": "array", "items": _ID, "maxItems": 20},
                "status": {"type": "string", "enum": ["cancelled"]},
            },
            "required": ["task_id"],
        },
    },
    {
        "name": "list_tasks",
        "description": (
            "List tasks on the board, newest first, optionally filtered by status and owner "
            "('me' for your own). At most 'limit' tasks (default 20)."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "status": {
                    "type": "string",
                    "enum": ["blocked", "ready", "in_progress", "done", "cancelled"],
                },
                "owner": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            },
        },
    },
    {
        "name": "spawn_agent",
        "description": (
            "Lead only. Start a teammate with a unique name (its id), a role description and "
            "instructions. It starts working as soon as it is spawned."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "name": _ID,
                "role": {"type": "string", "maxLength": 200},
                "instructions": {"type": "string", "minLength": 1, "maxLength": 8000},
                "model": {"type": "string"},
                "tools": {
                    "type": "object",
                    "description": (
                        "Server tools for the teammate, a subset of yours (the same options or "
                        'tighter), e.g. {"web_search": {"max_uses": 3}}. Omit to give it '
                        "your server tools; {} for none. External servers are given only by "
                        'naming them: "mcp": [{"name": "repo", "policy": {"read_file": "allow", '
                        '"*": "deny"}}] (policy optional: yours; never looser than yours).'
                    ),
                },
            },
            "required": ["name", "instructions"],
        },
    },
    {
        "name": "write_artifact",
        "description": (
            "Write a file to the swarm's shared workspace. To change an existing file safely, pass "
            "the version you read as expected_version; a conflicting write is refused, never lost."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "minLength": 1, "maxLength": 300},
                "content": {"type": "string", "maxLength": 1000000},
                "expected_version": {"type": "integer", "minimum": 0},
            },
            "required": ["path", "content"],
        },
    },
    {
        "name": "read_artifact",
        "description": "Read a file from the shared workspace, with its version.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "minLength": 1, "maxLength": 300}},
            "required": ["path"],
        },
    },
    {
        "name": "list_artifacts",
        "description": "List files in the shared workspace, optionally under a path prefix.",
        "input_schema": {
            "type": "object",
            "properties": {"prefix": {"type": "string", "maxLength": 300}},
        },
    },
    {
        "name": "request_approval",
        "description": (
            "Ask a human to approve an action before you take it. Your turn ends; the decision "
            "arrives in your inbox."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "action": {"type": "string", "minLength": 1, "maxLength": 200},
                "detail": {"type": "string", "maxLength": 8000},
            },
            "required": ["action"],
        },
    },
    {
        "name": "finish_swarm",
        "description": (
            "Lead only. End the swarm when the goal is reached (outcome 'completed') or cannot be "
            "(outcome 'failed'), with a summary for the humans."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "summary": {"type": "string", "minLength": 1, "maxLength": 8000},
                "outcome": {"type": "string", "enum": ["completed", "failed"]},
            },
            "required": ["summary"],
        },
    },
]

TOOL_NAMES = frozenset(t["name"] for t in TOOLS)
LEAD_ONLY = frozenset({"spawn_agent", "finish_swarm"})
# Tools that end the turn once executed (the agent waits for a human or the swarm is over).
ENDS_TURN = frozenset({"request_approval", "finish_swarm"})
