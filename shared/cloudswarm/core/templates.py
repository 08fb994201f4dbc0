"""Team templates as data: a team's lead instructions, the teammates it may spawn, its tools
and policy, and a default budget. Examples ship as files (``cloudswarm/templates/*.json``);
an admin adds more through the API (Firestore ``templates/{name}``). Starting a swarm from one
gives its lead the instructions and the roster, and the template's tools and budget unless the
request gives its own."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cloudswarm.core import server_tools
from cloudswarm.core.shapes import JSONObject
from cloudswarm.errors import Conflict, UserError

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
_NAME = re.compile(NAME_PATTERN)
KEYS = frozenset({"name", "description", "lead_instructions", "teammates", "tools", "budget"})
MATE_KEYS = frozenset({"name", "role", "instructions", "model"})
BUDGET_KEYS = frozenset({"usd", "tokens", "turns", "wall_s"})
MAX_TEAMMATES = 10
MAX_TEXT = 8000
# A URL placeholder a shipped template may use for its MCP servers: the local stack's server
# (or whatever the deployment sets), so one file serves every port offset.
MCP_URL = "${CLOUDSWARM_MCP_URL}"


def _bad(field: str, why: str) -> UserError:
    return UserError(f"template.{field}: {why}", code="invalid_template")


def _text(field: str, value: Any, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise _bad(field, f"text of 1 to {MAX_TEXT} characters")
    return value


def validate(doc: Any) -> JSONObject:
    """The normalized template, or UserError (422) naming the field at fault."""
    if not isinstance(doc, dict):
        raise UserError("template: an object", code="invalid_template")
    unknown = sorted(set(doc) - KEYS)
    if unknown:
        raise _bad(unknown[0], f"unknown key; a template takes {', '.join(sorted(KEYS))}")
    name = doc.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _bad("name", "lowercase letters, digits and '-', starting with a letter")
    mates = doc.get("teammates", [])
    if not isinstance(mates, list) or len(mates) > MAX_TEAMMATES:
        raise _bad("teammates", f"a list of at most {MAX_TEAMMATES}")
    out_mates: list[JSONObject] = []
    for i, mate in enumerate(mates):
        if not isinstance(mate, dict) or set(mate) - MATE_KEYS:
            raise _bad(f"teammates.{i}", f"an object with {', '.join(sorted(MATE_KEYS))}")
        if not isinstance(mate.get("name"), str) or not _NAME.fullmatch(mate["name"]):
            raise _bad(f"teammates.{i}.name", "lowercase letters, digits and '-'")
        instructions = _text(f"teammates.{i}.instructions", mate.get("instructions"))
        one: JSONObject = {"name": mate["name"], "instructions": instructions}
        for key in ("role", "model"):
            if key in mate:
                one[key] = _text(f"teammates.{i}.{key}", mate[key])
        out_mates.append(one)
    budget = doc.get("budget") or {}
    if not isinstance(budget, dict) or set(budget) - BUDGET_KEYS:
        raise _bad("budget", f"an object of {', '.join(sorted(BUDGET_KEYS))}")
    for key, value in budget.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise _bad(f"budget.{key}", "a positive number")
    try:
        tools = server_tools.validate(_with_url(doc.get("tools"), "http://127.0.0.1/mcp"))
    except Conflict as e:  # a server named twice: as the API answers it for a swarm (409)
        raise Conflict(f"template.{e}", code=e.code) from None
    except UserError as e:
        raise _bad(str(e).split(":")[0], str(e).split(":", 1)[1].strip()) from None
    return {
        "name": name,
        "description": _text("description", doc.get("description"), required=False),
        "lead_instructions": _text("lead_instructions", doc.get("lead_instructions")),
        "teammates": out_mates,
        "tools": {**tools, **({"mcp": doc["tools"]["mcp"]} if "mcp" in tools else {})},
        "budget": dict(budget),
    }


def _with_url(tools: Any, url: str) -> Any:
    """``tools`` with the MCP URL placeholder filled in (``url``)."""
    if not isinstance(tools, dict) or not isinstance(tools.get("mcp"), list):
        return tools
    servers = [
        {**s, "url": url} if isinstance(s, dict) and s.get("url") == MCP_URL else s
        for s in tools["mcp"]
    ]
    return {**tools, "mcp": servers}


def lead_instructions(template: Mapping[str, Any]) -> str:
    """What the lead is told: the template's instructions and the teammates it may spawn."""
    lines = [template["lead_instructions"], "", f"Your team (template {template['name']}):"]
    for m in template["teammates"]:
        model = f", model {m['model']}" if m.get("model") else ""
        lines.append(f"- {m['name']} ({m.get('role', 'teammate')}{model}): {m['instructions']}")
    return "\n".join(lines)


def resolved(
    template: Mapping[str, Any],
    *,
    tools: Mapping[str, Any] | None,
    budget: Mapping[str, Any] | None,
    mcp_url: str,
) -> tuple[JSONObject | None, dict[str, float]]:
    """(tools, budget) for a swarm started from ``template``: the request's own when it gives
    them, else the template's (its MCP URL placeholder filled in with ``mcp_url``)."""
    chosen_tools = dict(tools) if tools is not None else _with_url(template.get("tools"), mcp_url)
    chosen_budget = dict(budget) if budget else dict(template.get("budget") or {})
    return (chosen_tools or None), chosen_budget
