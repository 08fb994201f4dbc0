"""Server tools (run on the model provider's side) as data: which exist, how a swarm's ``tools``
object is checked, what a teammate may be handed, and the definitions a request carries.

A swarm's ``tools`` object names the tools its agents may reach; absent means off. The type
strings are the versions the pinned SDK knows (``anthropic/types/*_tool_2025*_param.py``), kept
in this one table so that moving to a newer version is a one-line change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from cloudswarm.core import external, pricing
from cloudswarm.core.records import bounded_int
from cloudswarm.core.shapes import (
    JSON,
    AgentDoc,
    Block,
    JSONObject,
    Request,
    SwarmDoc,
    ToolDef,
    as_json,
    obj,
)
from cloudswarm.errors import UserError

# name -> the API's type string for it.
TYPES: dict[str, str] = {
    "web_search": "web_search_20250305",
    "web_fetch": "web_fetch_20250910",
    "code_execution": "code_execution_20250825",
}
# The options each tool takes in a swarm's ``tools`` object (the API's, minus cache/loading ones).
OPTIONS: dict[str, frozenset[str]] = {
    "web_search": frozenset({"max_uses", "allowed_domains", "blocked_domains", "user_location"}),
    "web_fetch": frozenset(
        {"max_uses", "allowed_domains", "blocked_domains", "citations", "max_content_tokens"}
    ),
    "code_execution": frozenset(),
}
# Searches and fetches must be bounded: the worst case of a call counts every use it allows.
BOUNDED = frozenset({"web_search", "web_fetch"})
MAX_USES = 50
MAX_DOMAINS = 100
MAX_CONTENT_TOKENS = 100_000
DEFAULT_CONTENT_TOKENS = 20_000  # sent when a swarm gives none, so a fetch's size has a bound
LOCATION_KEYS = frozenset({"type", "city", "region", "country", "timezone"})
LOCATION_CHARS = 100
# A host name of at most 253 characters, optionally with a path of printable ASCII; no scheme
# (the API refuses one). Written so that Python and ECMA-262 (the OpenAPI document's regex
# dialect) read it alike: explicit character classes, no flags; matched whole (fullmatch).
DOMAIN_PATTERN = (
    r"^(?=[^/]{1,253}(?:/|$))(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}(?:/[!-~]{0,200})?$"
)
_DOMAIN = re.compile(DOMAIN_PATTERN)
# The names a server_tool_use block may carry for each tool (code execution runs bash and edits).
USE_NAMES: dict[str, str] = {
    "web_search": "web_search",
    "web_fetch": "web_fetch",
    "code_execution": "code_execution",
    "bash_code_execution": "code_execution",
    "text_editor_code_execution": "code_execution",
}


def _bad(field: str, why: str) -> UserError:
    return UserError(f"tools.{field}: {why}", code="invalid_tools")


def _domains(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_DOMAINS:
        raise _bad(field, f"a list of 1 to {MAX_DOMAINS} domains")
    for i, d in enumerate(value):
        if not isinstance(d, str) or not _DOMAIN.fullmatch(d):
            raise _bad(f"{field}.{i}", f"{str(d)[:80]!r} is not a domain (like example.com)")
    return [d.lower() for d in value]


def _int(field: str, value: Any, low: int, high: int) -> int:
    checked = bounded_int(value, low, high)
    if checked is None:
        raise _bad(field, f"an integer from {low} to {high}")
    return checked


def _one(name: str, spec: Any) -> JSONObject:
    if not isinstance(spec, dict):
        raise _bad(name, "an object of options ({} for the defaults)")
    unknown = sorted(set(spec) - OPTIONS[name])
    if unknown:
        raise _bad(f"{name}.{unknown[0]}", f"unknown option; {name} takes {_list(OPTIONS[name])}")
    out: JSONObject = {}
    if name in BOUNDED:
        if "max_uses" not in spec:
            raise _bad(f"{name}.max_uses", "required: a budget needs a bound on uses per call")
        out["max_uses"] = _int(f"{name}.max_uses", spec["max_uses"], 1, MAX_USES)
    if "allowed_domains" in spec and "blocked_domains" in spec:
        raise _bad(f"{name}.blocked_domains", "give allowed_domains or blocked_domains, not both")
    for key in ("allowed_domains", "blocked_domains"):
        if key in spec:
            out[key] = _domains(f"{name}.{key}", spec[key])
    if "user_location" in spec:
        loc = spec["user_location"]
        if not isinstance(loc, dict) or set(loc) - LOCATION_KEYS:
            raise _bad(f"{name}.user_location", f"an object with {_list(LOCATION_KEYS)}")
        if loc.get("type", "approximate") != "approximate":
            raise _bad(f"{name}.user_location.type", "must be 'approximate'")
        for k, v in loc.items():
            if not isinstance(v, str) or not 0 < len(v) <= LOCATION_CHARS:
                raise _bad(
                    f"{name}.user_location.{k}", f"a string of 1 to {LOCATION_CHARS} characters"
                )
        out["user_location"] = {"type": "approximate", **loc}
    if "citations" in spec:
        c = spec["citations"]
        if not isinstance(c, dict) or set(c) != {"enabled"} or not isinstance(c["enabled"], bool):
            raise _bad(f"{name}.citations", 'must be {"enabled": true|false}')
        out["citations"] = {"enabled": c["enabled"]}
    if name == "web_fetch":
        out["max_content_tokens"] = _int(
            f"{name}.max_content_tokens",
            spec.get("max_content_tokens", DEFAULT_CONTENT_TOKENS),
            1,
            MAX_CONTENT_TOKENS,
        )
    return out


def _list(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "no options"


def validate(tools: Any) -> JSONObject:
    """The normalized ``tools`` object, or UserError (422) naming the field at fault."""
    if tools is None:
        return {}
    if not isinstance(tools, dict):
        raise UserError("tools: an object of tool name to options", code="invalid_tools")
    out: JSONObject = {}
    for name, spec in tools.items():
        if name == "mcp":
            out[name] = [as_json(s) for s in external.validate(spec)]
            continue
        if name not in TYPES:
            raise _bad(name, f"unknown tool; the server tools are {_list(TYPES)}")
        out[name] = _one(name, spec)
    return out


def json_schema() -> JSONObject:
    """The JSON Schema of a ``tools`` object: every constraint ``validate`` enforces, built from
    the same tables so the two cannot drift (the OpenAPI document states it; a unit test holds
    the two to the same verdicts)."""
    domains: JSONObject = {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_DOMAINS,
        "items": {"type": "string", "pattern": DOMAIN_PATTERN},
    }
    option: dict[str, JSONObject] = {
        "max_uses": {"type": "integer", "minimum": 1, "maximum": MAX_USES},
        "allowed_domains": domains,
        "blocked_domains": domains,
        "user_location": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                k: {"const": "approximate"}
                if k == "type"
                else {"type": "string", "minLength": 1, "maxLength": LOCATION_CHARS}
                for k in sorted(LOCATION_KEYS)
            },
        },
        "citations": {
            "type": "object",
            "additionalProperties": False,
            "required": ["enabled"],
            "properties": {"enabled": {"type": "boolean"}},
        },
        "max_content_tokens": {"type": "integer", "minimum": 1, "maximum": MAX_CONTENT_TOKENS},
    }
    tools: dict[str, JSONObject] = {}
    for name in TYPES:
        one: JSONObject = {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: option[k] for k in sorted(OPTIONS[name])},
        }
        if name in BOUNDED:
            one["required"] = ["max_uses"]
        if {"allowed_domains", "blocked_domains"} <= OPTIONS[name]:
            one["not"] = {"required": ["allowed_domains", "blocked_domains"]}
        tools[name] = one
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {**tools, "mcp": external.json_schema()},
        "description": "Server tools the swarm's agents may use (and, under mcp, external "
        "servers); a tool absent is off. "
        "See docs/api.md (server tools).",
    }


def wider(child: Mapping[str, Any], parent: Mapping[str, Any]) -> str | None:
    """Why ``child`` reaches further than ``parent`` (a teammate's tools against its spawner's);
    None when it is a subset: the same tools or fewer, no more uses, no more domains."""
    for name, spec in child.items():
        if name == "mcp":
            continue  # external servers: core/external.py's wider
        if name not in parent:
            return f"{name} is not enabled for this swarm (it has: {_list(parent) or 'none'})"
        mine = parent[name]
        if spec.get("max_uses", 0) > mine.get("max_uses", 0):
            return f"{name}.max_uses {spec['max_uses']} exceeds {mine.get('max_uses')}"
        if spec.get("max_content_tokens", 0) > mine.get("max_content_tokens", 0):
            return f"{name}.max_content_tokens exceeds {mine.get('max_content_tokens')}"
        if "allowed_domains" in mine:
            extra = set(spec.get("allowed_domains") or ["*"]) - set(mine["allowed_domains"])
            if extra:
                return f"{name} may only reach {_list(set(mine['allowed_domains']))}"
        if "blocked_domains" in mine and "allowed_domains" not in spec:
            missing = set(mine["blocked_domains"]) - set(spec.get("blocked_domains") or [])
            if missing:
                return f"{name} must keep blocking {_list(missing)}"
    return None


def of_agent(agent: AgentDoc, swarm: SwarmDoc) -> JSONObject:
    """The server tools an agent may use: its own set (handed at spawn); a lead has the swarm's.
    External servers (``mcp``) are not among them (core/external.py's ``of_agent``)."""
    if agent.get("tools") is not None:
        out = dict(agent["tools"])
    else:
        out = dict(swarm.get("tools") or {}) if agent.get("role") == "lead" else {}
    out.pop("mcp", None)
    return out


def definitions(tools: Mapping[str, JSON]) -> list[ToolDef]:
    """The request's definitions of ``tools`` (as ``validate`` left them), in a stable order
    (the cached prefix stays put)."""
    return [_definition(n, obj(tools[n])) for n in TYPES if n in tools]


def _definition(name: str, options: Mapping[str, JSON]) -> ToolDef:
    # The options as ``validate`` normalized them: each is a ToolDef key of the API's type
    # (tests/unit/test_server_tools.py holds OPTIONS to ToolDef), so they go on as they are.
    return cast(ToolDef, {"type": TYPES[name], "name": name, **options})


def is_server_block(block: Mapping[str, Any]) -> bool:
    """A block a server tool produced: its use, or any of its results."""
    kind = str(block.get("type", ""))
    return kind == "server_tool_use" or (kind.endswith("_tool_result") and kind != "tool_result")


def uses_code_execution(content: list[Block]) -> bool:
    return any(
        b.get("type") == "server_tool_use" and USE_NAMES.get(b.get("name", "")) == "code_execution"
        for b in content
    )


# A container this close to its expiry is not reused: a call may run that long.
CONTAINER_MARGIN_S = 600


def with_container(request: Request, agent: AgentDoc, now: dt.datetime) -> Request:
    """``request`` naming the agent's code-execution container while it lives; a request
    without one gets a new container from the API."""
    held = agent.get("container") or {}
    if not held.get("id") or not any(t.get("name") == "code_execution" for t in request["tools"]):
        return request
    try:
        expires = dt.datetime.fromisoformat(str(held.get("expires_at")).replace("Z", "+00:00"))
    except ValueError:
        return request
    if expires - now <= dt.timedelta(seconds=CONTAINER_MARGIN_S):
        return request
    return {**request, "container": held["id"]}


def charge(usage: Any, content: list[Block], tool_defs: list[ToolDef]) -> float:
    """What a finished call's server tools charged beyond its tokens (core/pricing.py)."""
    types = [str(t.get("type")) for t in tool_defs if t.get("type")]
    return pricing.server_tools_cost(usage, uses_code_execution(content), types)
