"""Scripted model policies as data: an ordered list of rules, first match answers.

A rule matches on what the request shows (the agent's role from the latest ``<turn>``, what the last
user turn holds, the tool that produced a result and whether it succeeded, predicates over any of
that) and answers with text and tool_uses rendered from templates. ``${path}`` in a template reads
the context: ``data`` (the scenario's data), ``turn``, ``agent``, ``role``, ``result`` (the parsed
tool result matched by ``tool``), ``input`` (the input of the tool_use it answers), ``item`` and
``index`` (inside ``for_each``). A template path that is missing makes the rule not match, so a
request the scenario did not foresee falls through to the fallback text instead of failing.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from .conversation import ToolResult, View, view_of
from .usage import compact

log = logging.getLogger(__name__)

SCENARIO_DIR = Path(__file__).parent / "scenarios"
SUMMARY_TAG = "<summarize-history/>"  # core/context.py opens a request to summarize with it
WHEN_KEYS = {"role", "agent", "last", "tool", "ok", "called", "not_called", "where"}
THEN_KEYS = {
    "text", "repeat", "pace_s", "tool_uses", "require_tool_uses", "server_tools", "pause_turn",
    "cite",
}  # fmt: skip
SERVER_USE_KEYS = {"name", "input", "result"}
USE_KEYS = {"name", "input", "for_each", "unless_called", "forge"}
PREDICATES = {"eq", "ne", "in", "exists", "len_min", "len_max", "all", "any"}
_WHOLE = re.compile(r"^\$\{([^}]+)\}$")
_PART = re.compile(r"\$\{([^}]+)\}")


class Missing(LookupError):
    """A template or predicate path that the request does not provide."""


@dataclass(frozen=True)
class Decision:
    rule: str
    text: str = ""
    tool_uses: list[tuple[str, dict]] = field(default_factory=list)
    pace_s: float = 0.0
    # Server tools the model "runs" before its text: (name, input, the scenario's result data).
    server_uses: list[tuple[str, dict, object]] = field(default_factory=list)
    pause_turn: bool = False  # answer with stop_reason pause_turn after the server tools
    cite: list[dict] = field(default_factory=list)  # search hits the text cites
    # Tool names the answer uses though the request does not define them: a forged call, as a
    # confused or hostile model might make (a test of the client's refusals).
    forged: frozenset[str] = frozenset()


def resolve(ctx, path: str):
    value = ctx
    for part in path.strip().split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        elif part == "len" and isinstance(value, list | dict | str):
            value = len(value)
        else:
            raise Missing(path)
    return value


def render(template, ctx):
    if isinstance(template, dict):
        return {k: render(v, ctx) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, ctx) for v in template]
    if not isinstance(template, str):
        return template
    whole = _WHOLE.match(template)
    if whole:
        return resolve(ctx, whole.group(1))

    def text(match):
        value = resolve(ctx, match.group(1))
        return value if isinstance(value, str) else compact(value)

    return _PART.sub(text, template)


def _predicate(pred: dict, ctx) -> bool:
    try:
        value = resolve(ctx, pred["path"])
    except Missing:
        return pred.get("exists") is False
    checks = {
        "eq": lambda want: value == want,
        "ne": lambda want: value != want,
        "in": lambda want: value in want,
        "exists": lambda want: bool(want),
        "len_min": lambda want: isinstance(value, list | dict | str) and len(value) >= want,
        "len_max": lambda want: isinstance(value, list | dict | str) and len(value) <= want,
        "all": lambda want: isinstance(value, list) and all(_fields(v, want) for v in value),
        "any": lambda want: isinstance(value, list) and any(_fields(v, want) for v in value),
    }
    return all(check(pred[key]) for key, check in checks.items() if key in pred)


def _fields(item, want: dict) -> bool:
    if not isinstance(item, dict):
        return False
    return all(
        item.get(k) in v if isinstance(v, list) else item.get(k) == v for k, v in want.items()
    )


def _one_of(value, want) -> bool:
    return value in want if isinstance(want, list) else value == want


class Scenario:
    def __init__(self, spec: dict):
        check_spec(spec)
        self.name: str = spec["name"]
        self.description: str = spec.get("description", "")
        self.data: dict = spec.get("data", {})
        self.rules: list[dict] = spec["rules"]
        self.fallback_text: str = spec.get("fallback_text", "Nothing to do right now.")
        # The text of a compaction block (a template, like a rule's text).
        self.compaction_summary = spec.get(
            "compaction_summary", "Summary of the conversation so far (emulated compaction)."
        )
        self.no_turn_text: str = spec.get(
            "no_turn_text", "I see no <turn> in this conversation, so there is nothing to do."
        )

    def decide(self, body: dict) -> Decision:
        """Never raises: a request the rules cannot handle gets a plain end_turn text."""
        try:
            view = view_of(body)
            if SUMMARY_TAG in view.last_text:
                # The platform's own summary of older history (its fallback without the API's
                # compaction): answered with the scenario's compaction text.
                return Decision("history-summary", self.summary(body))
            for rule in self.rules:
                decision = self._try(rule, view)
                if decision is not None:
                    return decision
        except Exception:
            log.exception("scenario %s failed on a request; answering with the fallback", self.name)
            return Decision("error", self.fallback_text)
        if view.turn is None:
            return Decision("no-turn", self.no_turn_text)
        return Decision("fallback", self.fallback_text)

    def summary(self, body: dict) -> str:
        """The text of a compaction block for ``body``: the scenario's template, rendered."""
        view = view_of(body)
        try:
            text = render(self.compaction_summary, {**view.context(), "data": self.data})
        except Missing:
            text = None
        return str(text) if text else "Summary of the conversation so far."

    def _try(self, rule: dict, view: View) -> Decision | None:
        when = rule.get("when", {})
        if "role" in when and not _one_of(view.role, when["role"]):
            return None
        if "agent" in when and not _one_of(view.agent, when["agent"]):
            return None
        last = when.get("last", "any")
        if last == "turn" and not view.last_has_turn:
            return None
        if last == "tool_result" and not view.results:
            return None
        called = {name for name, _ in view.calls}
        if "called" in when and when["called"] not in called:
            return None
        if "not_called" in when and when["not_called"] in called:
            return None
        result = self._result(when, view)
        if result is False:
            return None
        ctx = {**view.context(), "data": self.data}
        if isinstance(result, ToolResult):
            ctx.update(result=result.data, input=result.input, ok=result.ok)
        if not all(_predicate(p, ctx) for p in when.get("where", [])):
            return None
        try:
            return self._answer(rule, ctx, view)
        except Missing:
            return None

    @staticmethod
    def _result(when: dict, view: View) -> ToolResult | bool | None:
        """The tool result a rule is about; False when the rule needs one and there is none."""
        if "tool" not in when:
            return None
        for result in view.results:
            if _one_of(result.name, when["tool"]) and result.ok == when.get("ok", result.ok):
                return result
        return False

    def _answer(self, rule: dict, ctx: dict, view: View) -> Decision | None:
        then = rule.get("then", {})
        uses: list[tuple[str, dict]] = []
        for spec in then.get("tool_uses", []):
            items = resolve(ctx, spec["for_each"]) if "for_each" in spec else [None]
            if not isinstance(items, list):
                raise Missing(spec["for_each"])
            for index, item in enumerate(items):
                tool_input = render(spec.get("input", {}), {**ctx, "item": item, "index": index})
                key = spec.get("unless_called")
                if key and any(
                    name == spec["name"] and prior.get(key) == tool_input.get(key)
                    for name, prior in view.calls
                ):
                    continue  # already asked for in an earlier message: replans stay idempotent
                uses.append((spec["name"], tool_input))
        forged = frozenset(s["name"] for s in then.get("tool_uses", []) if s.get("forge"))
        if then.get("require_tool_uses") and not uses:
            return None
        text = render(then.get("text", ""), ctx) * int(then.get("repeat", 1))
        server = [
            (s["name"], render(s.get("input", {}), ctx), render(s.get("result"), ctx))
            for s in then.get("server_tools", [])
        ]
        cite = render(then["cite"], ctx) if "cite" in then else []
        return Decision(
            rule.get("name", "?"),
            text,
            uses,
            float(then.get("pace_s", 0.0)),
            server_uses=server,
            pause_turn=bool(then.get("pause_turn")),
            cite=cite if isinstance(cite, list) else [],
            forged=forged,
        )


def check_spec(spec: dict) -> None:
    """Fail at load time, with the rule at fault, rather than on some request much later."""
    if not isinstance(spec.get("name"), str) or not isinstance(spec.get("rules"), list):
        raise ValueError("a scenario needs a 'name' and a list of 'rules'")
    for i, rule in enumerate(spec["rules"]):
        where = f"scenario {spec['name']} rule {i} ({rule.get('name', '?')})"
        extra = set(rule.get("when", {})) - WHEN_KEYS
        extra |= set(rule.get("then", {})) - THEN_KEYS
        for use in rule.get("then", {}).get("tool_uses", []):
            extra |= set(use) - USE_KEYS
            if "name" not in use:
                raise ValueError(f"{where}: a tool_use needs a 'name'")
        for use in rule.get("then", {}).get("server_tools", []):
            extra |= set(use) - SERVER_USE_KEYS
        for pred in rule.get("when", {}).get("where", []):
            extra |= set(pred) - PREDICATES - {"path"}
        if extra:
            raise ValueError(f"{where}: unknown keys {sorted(extra)}")
        if rule.get("when", {}).get("last", "any") not in ("any", "turn", "tool_result"):
            raise ValueError(f"{where}: 'last' is one of any, turn, tool_result")


def available() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.json"))


def load(name_or_path: str) -> Scenario:
    """A scenario by name (``scenarios/<name>.json``) or by file path; ``extends`` reuses rules."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.json"
    if not path.is_file():
        raise ValueError(f"no scenario {name_or_path!r}; known: {', '.join(available())}")
    spec = json.loads(path.read_text())
    if "extends" in spec:
        base = load(spec["extends"])
        spec = {
            "rules": base.rules,
            "fallback_text": base.fallback_text,
            "compaction_summary": base.compaction_summary,
            "no_turn_text": base.no_turn_text,
            **spec,
            "data": {**base.data, **spec.get("data", {})},
        }
    return Scenario(spec)
