"""External tools (remote MCP servers) as data: how a swarm's ``tools.mcp`` list is checked,
what a teammate may be handed, which of a server's tools reach the model and how a call is
judged. Pure: the MCP client is an adapter (``cloudswarm.mcp``) behind ``ports.ExternalTools``;
the turn carries the decisions out (``core/external_calls.py``).

A server's entry: ``{"name", "url", "token_secret"?, "policy": {"<tool>"|"*": allow|ask|deny}}``.
A tool the policy does not name takes ``"*"``; without ``"*"`` it is denied (fail-closed).
The model sees a server's tool as ``<server>__<tool>``: the board's and the server tools' names
never hold ``__``, and a server's name cannot, so no external tool can take one of ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema

from cloudswarm.core.shapes import (
    JSON,
    AgentDoc,
    JSONObject,
    McpServer,
    SwarmDoc,
    ToolDef,
    obj,
    seq,
)
from cloudswarm.errors import Conflict, UserError

SEP = "__"
LEVELS = {"deny": 0, "ask": 1, "allow": 2}
MAX_SERVERS = 8
MAX_POLICY = 100
MAX_URL = 500
NAME_PATTERN = r"^[a-z][a-z0-9]{0,19}(?:-[a-z0-9]{1,19}){0,3}$"
TOOL_PATTERN = r"^(?:\*|[A-Za-z0-9_.-]{1,64})$"
# A server's token is a secret whose id starts with TOKEN_SECRET_PREFIX: a swarm can name only
# those, never CloudSwarm's own secrets (its model API key, its signing key), which would
# otherwise be sent as a bearer token to whatever URL the swarm gives. Deployments grant
# agent_turn read access to this prefix alone (terraform/: the mcp-token secrets).
TOKEN_SECRET_PREFIX = "mcp-"
SECRET_PATTERN = r"^mcp-[A-Za-z0-9_-]{1,251}$"
URL_PATTERN = r"^https?://[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?(?:/[!-~]{0,400})?$"
_NAME, _TOOL = re.compile(NAME_PATTERN), re.compile(TOOL_PATTERN)
_SECRET, _URL = re.compile(SECRET_PATTERN), re.compile(URL_PATTERN)
# What the Messages API takes as a tool name.
_API_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_SCHEMA_BYTES = 16_000
MAX_DESCRIPTION = 1_000
MAX_TOOLS_PER_SERVER = 50
# What one result may put in the conversation (and in its effect marker).
MAX_RESULT_CHARS = 16_000
KEYS = frozenset({"name", "url", "token_secret", "policy"})


def _bad(field: str, why: str) -> UserError:
    return UserError(f"tools.mcp{field}: {why}", code="invalid_tools")


def _policy(where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value or len(value) > MAX_POLICY:
        raise _bad(
            f"{where}.policy", f"an object of 1 to {MAX_POLICY} tool names to allow|ask|deny"
        )
    for tool, level in value.items():
        if not _TOOL.fullmatch(str(tool)):
            raise _bad(f"{where}.policy", f"{str(tool)[:80]!r} is not a tool name (or '*')")
        if level not in LEVELS:
            raise _bad(f"{where}.policy.{tool}", "must be 'allow', 'ask' or 'deny'")
    return dict(value)


def validate(value: Any) -> list[McpServer]:
    """The normalized ``tools.mcp`` list, or UserError (422) naming the field at fault."""
    if not isinstance(value, list) or len(value) > MAX_SERVERS:
        raise _bad("", f"a list of at most {MAX_SERVERS} servers")
    out: list[McpServer] = []
    for i, spec in enumerate(value):
        where = f".{i}"
        if not isinstance(spec, dict):
            raise _bad(where, "an object with name, url, token_secret (optional) and policy")
        unknown = sorted(set(spec) - KEYS)
        if unknown:
            raise _bad(f"{where}.{unknown[0]}", f"unknown key; a server takes {_list(KEYS)}")
        name = spec.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise _bad(f"{where}.name", "lowercase letters and digits, words joined by '-'")
        if any(s["name"] == name for s in out):
            # A conflict, not a malformed body: the JSON Schema cannot say "unique by name".
            raise Conflict(f"tools.mcp{where}.name: {name!r} is named twice", code="invalid_tools")
        url = spec.get("url")
        if not isinstance(url, str) or len(url) > MAX_URL or not _URL.fullmatch(url):
            raise _bad(f"{where}.url", "an http(s) URL without credentials in it")
        one = McpServer(name=name, url=url, policy=_policy(where, spec.get("policy")))
        if "token_secret" in spec:
            secret = spec["token_secret"]
            if not isinstance(secret, str) or not _SECRET.fullmatch(secret):
                raise _bad(
                    f"{where}.token_secret",
                    f"the name of a Secret Manager secret starting with {TOKEN_SECRET_PREFIX!r} "
                    "(a swarm never names CloudSwarm's own secrets)",
                )
            one["token_secret"] = secret
        out.append(one)
    return out


def json_schema() -> JSONObject:
    """The JSON Schema of a ``tools.mcp`` list: what ``validate`` enforces but for unique names."""
    return {
        "type": "array",
        "maxItems": MAX_SERVERS,
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "url", "policy"],
            "properties": {
                "name": {"type": "string", "pattern": NAME_PATTERN},
                "url": {"type": "string", "maxLength": MAX_URL, "pattern": URL_PATTERN},
                "token_secret": {"type": "string", "pattern": SECRET_PATTERN},
                "policy": {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": MAX_POLICY,
                    "propertyNames": {"pattern": TOOL_PATTERN},
                    "additionalProperties": {"enum": sorted(LEVELS)},
                },
            },
        },
        "description": "Remote MCP servers the swarm's agents may call, with a policy per tool. "
        "See docs/api.md (external tools).",
    }


def _list(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def level(server: McpServer, tool: str) -> str:
    """The policy for ``tool`` on ``server``: its own entry, else ``*``, else deny."""
    policy = server.get("policy") or {}
    return str(policy.get(tool, policy.get("*", "deny")))


def of_agent(agent: AgentDoc, swarm: SwarmDoc) -> list[McpServer]:
    """The servers an agent may call: those handed at spawn; a lead has the swarm's."""
    if (own := agent.get("tools")) is not None:
        listed = own.get("mcp")
    elif agent.get("role") == "lead":
        listed = (swarm.get("tools") or {}).get("mcp")
    else:
        return []
    return servers(listed)


def servers(listed: JSON) -> list[McpServer]:
    """A stored ``mcp`` list's servers."""
    return [s for s in map(_server, seq(listed)) if s is not None]


def _server(value: JSON) -> McpServer | None:
    """A server entry as ``validate`` stored it (None for anything else: no server, no call)."""
    spec = obj(value)
    name, url, secret = spec.get("name"), spec.get("url"), spec.get("token_secret")
    if not isinstance(name, str) or not isinstance(url, str):
        return None
    policy = {str(k): str(v) for k, v in obj(spec.get("policy")).items()}
    out = McpServer(name=name, url=url, policy=policy)
    if isinstance(secret, str):
        out["token_secret"] = secret
    return out


def hand(requested: Any, mine: list[McpServer]) -> list[McpServer]:
    """What a spawner hands a teammate: ``[{"name", "policy"?}]`` naming its own servers (the
    URL and token are always the spawner's); UserError when it would reach further."""
    if not isinstance(requested, list) or len(requested) > MAX_SERVERS:
        raise _bad("", "a list of servers you have, as {name, policy (optional)}")
    by_name = {s["name"]: s for s in mine}
    out: list[McpServer] = []
    for i, spec in enumerate(requested):
        if not isinstance(spec, dict) or set(spec) - {"name", "policy"}:
            raise _bad(f".{i}", "an object with name and, optionally, policy")
        parent = by_name.get(str(spec.get("name")))
        if parent is None:
            raise _bad(f".{i}.name", f"not one of your servers ({_list(by_name)})")
        policy = _policy(f".{i}", spec["policy"]) if "policy" in spec else dict(parent["policy"])
        child: McpServer = {**parent, "policy": policy}
        too_wide = wider([child], [parent])
        if too_wide:
            raise _bad(f".{i}.policy", too_wide)
        out.append(child)
    return out


def wider(child: list[McpServer], parent: list[McpServer]) -> str | None:
    """Why ``child`` reaches further than ``parent``: a server it lacks, another URL or token, or
    a tool whose policy is looser (deny < ask < allow); None when it is a subset."""
    by_name = {s["name"]: s for s in parent}
    for c in child:
        p = by_name.get(c.get("name", ""))
        if p is None:
            return f"server {c.get('name')!r} is not yours (you have: {_list(by_name)})"
        if c.get("url") != p.get("url") or c.get("token_secret") != p.get("token_secret"):
            return f"server {c['name']!r} must keep your URL and token"
        tools = {*(c.get("policy") or {}), *(p.get("policy") or {}), "*"}
        for tool in sorted(tools):
            if LEVELS[level(c, tool)] > LEVELS[level(p, tool)]:
                return f"{c['name']}.{tool}: {level(c, tool)} is looser than your {level(p, tool)}"
    return None


def namespaced(server: str, tool: str) -> str:
    return f"{server}{SEP}{tool}"


def schema_problem(schema: Any) -> str | None:
    """Why the API would refuse ``schema`` as a tool's input_schema (or we will not send it)."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return "input_schema is not a JSON Schema object of type 'object'"
    try:
        size = len(json.dumps(schema, separators=(",", ":")))
    except (TypeError, ValueError):
        return "input_schema is not JSON"
    if size > MAX_SCHEMA_BYTES:
        return f"input_schema is {size} bytes (over {MAX_SCHEMA_BYTES})"
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        return f"input_schema is not valid JSON Schema: {e.message[:200]}"
    return None


@dataclass(frozen=True)
class Listed:
    """A server's tools as the turn offers them, and the ones left out with why."""

    definitions: tuple[ToolDef, ...]
    left_out: tuple[tuple[str, str], ...]


def definitions(server: McpServer, listing: list[JSONObject]) -> Listed:
    """The request's definitions of ``server``'s allowed and asked tools, namespaced, their
    schemas as given; a tool the API would refuse (name, schema) is left out with the reason."""
    defs: list[ToolDef] = []
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for tool in listing[: MAX_TOOLS_PER_SERVER * 2]:
        name = str(tool.get("name", ""))[:200]
        if level(server, name) == "deny":
            continue
        full = namespaced(server["name"], name)
        why = None
        if not _API_NAME.fullmatch(full):
            why = "the namespaced name is not a valid tool name (letters, digits, _ and -, <= 64)"
        elif full in seen:
            why = "listed twice"
        elif len(defs) >= MAX_TOOLS_PER_SERVER:
            why = f"more than {MAX_TOOLS_PER_SERVER} tools on one server"
        else:
            why = schema_problem(tool.get("input_schema"))
        if why:
            out.append((full, why))
            continue
        seen.add(full)
        ask = level(server, name) == "ask"
        note = f"[External tool on MCP server '{server['name']}'"
        note += "; each call waits for a human's approval, and your turn ends]" if ask else "]"
        description = str(tool.get("description") or "")[:MAX_DESCRIPTION]
        schema = dict(obj(tool.get("input_schema")))  # an object: schema_problem said so
        defs.append(ToolDef(name=full, description=f"{note} {description}", input_schema=schema))
    return Listed(tuple(defs), tuple(out))


@dataclass(frozen=True)
class Refuse:
    reason: str
    code: str
    kind: Literal["refuse"] = "refuse"


@dataclass(frozen=True)
class Call:
    """Run the call: at once (allow) or once a human approves (ask)."""

    server: McpServer
    tool: str
    arguments: JSONObject
    ask: bool
    kind: Literal["call"] = "call"


def is_external(name: str) -> bool:
    return SEP in name


def judge(
    name: str, arguments: JSON, servers: list[McpServer], offered: list[ToolDef]
) -> Refuse | Call:
    """What to do with the model's call of ``name``: refused (not this agent's server, denied,
    not among the tools this turn offered, bad arguments) or called. The policy is read again
    here: what the request offered is no grant."""
    server_name, _, tool = name.partition(SEP)
    server = next((s for s in servers if s["name"] == server_name), None)
    if server is None:
        return Refuse(
            f"{name}: you were not given server {server_name!r} (yours: "
            f"{_list(s['name'] for s in servers)})",
            "forbidden",
        )
    if level(server, tool) == "deny":
        return Refuse(f"{name}: this swarm's policy denies it", "forbidden")
    definition = next((t for t in offered if t.get("name") == name), None)
    if definition is None:
        return Refuse(f"{name}: no such tool on {server_name}; use one you were offered", "unknown")
    if not isinstance(arguments, dict):
        return Refuse(f"{name}: the input must be an object", "invalid")
    try:
        jsonschema.validate(arguments, definition.get("input_schema", {}))
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "input"
        return Refuse(f"invalid input for {name} at {where}: {e.message[:300]}", "invalid")
    except jsonschema.SchemaError:
        return Refuse(f"{name}: its schema cannot be checked", "invalid")
    return Call(server, tool, dict(arguments), ask=level(server, tool) == "ask")


def capped(text: str, is_error: bool) -> JSONObject:
    """A call's result for the conversation: its text, cut with a note past the cap. The text
    is the server's: data for the model to read, never an instruction from us."""
    out: JSONObject = {"result": text[:MAX_RESULT_CHARS]}
    if len(text) > MAX_RESULT_CHARS:
        out["note"] = f"result cut to {MAX_RESULT_CHARS} of {len(text)} characters"
    if is_error:
        out = {"error": out.pop("result"), "code": "external_error", **out}
    return out


def approval_action(call: Call) -> str:
    return f"call {namespaced(call.server['name'], call.tool)} on {call.server['url']}"


def call_doc(call: Call) -> JSONObject:
    """What an approval keeps of the call: exactly what runs once approved."""
    return {"server": call.server["name"], "tool": call.tool, "arguments": call.arguments}
