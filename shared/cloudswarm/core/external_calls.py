"""Calling an external (MCP) tool at most once per tool_use, under the policy and the switch.

The order, for one key (a ``tool_use`` id, or an approval's id for a call a human approved):

1. the kill switch and the swarm's status are read (``check``: Halted stops the turn);
2. ``begin`` notes the attempt (``external_calls/{key}``, phase ``sending``) in a transaction
   that also reads the key's effect marker: a recorded result is handed back as it was, and a
   noted attempt without a result means an earlier process died during the call;
3. the server is called;
4. the result is recorded as the key's effect marker (``effects/{key}``) before the turn goes on.

A process that dies between 2 and 4 leaves the attempt noted and no result: the next turn does
not call again (it cannot know whether the server acted) and tells the model the outcome is
unknown, so the model checks the server's state before trying again. The guarantee is therefore
at most one call per key, and exactly one when no process dies mid-call. A request that never
left (the server refused the connection: ``NotDelivered``) clears its note and the turn retries
later as a transient error.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from cloudswarm.core import external, paths
from cloudswarm.core.decisions import (
    SERVER_TIME,
    Decision,
    Outcome,
    Reader,
    Rule,
    WriteFields,
    set_doc,
)
from cloudswarm.core.ports import ExternalTools, ToolStore
from cloudswarm.core.records import EffectResult
from cloudswarm.core.shapes import JSONObject
from cloudswarm.errors import NotDelivered

UNKNOWN = (
    "the outcome of this call is unknown: the process running it stopped before the server's "
    "answer was recorded. It was not sent again. Check the server's state before trying again."
)


def begin(sid: str, key: str) -> Rule:
    """Note an attempt unless the key has a result (``done``) or a noted attempt (``unknown``);
    the result's ``state`` says which (``go``: call now)."""
    final, noted = paths.effect(sid, key), paths.external_call(sid, key)

    def rule(r: Reader) -> Outcome:
        docs = r.get_many([final, noted])
        if docs[final] is not None:
            return Decision(result={"state": "done"})
        if (docs[noted] or {}).get("phase") == "sending":
            return Decision(result={"state": "unknown"})
        return Decision(
            result={"state": "go"},
            writes=(set_doc(noted, {"phase": "sending", "key": key, "at": SERVER_TIME}),),
        )

    return rule


def not_sent(sid: str, key: str) -> Rule:
    """The attempt never left: a later one may send it."""

    def rule(r: Reader) -> Outcome:
        doc: WriteFields = {"phase": "not_sent", "key": key, "at": SERVER_TIME}
        return Decision(result={}, writes=(set_doc(paths.external_call(sid, key), doc),))

    return rule


def recorded(content: JSONObject) -> Rule:
    """The call's result as its effect (the marker ``effects/{key}``). Nothing else is written:
    a counter on the swarm document would make it a hot document, written on every external
    call of every agent."""

    def rule(r: Reader) -> Outcome:
        return Decision(result=content)

    return rule


def _error_of(content: JSONObject) -> bool:
    return "error" in content


def run_once(
    store: ToolStore,
    port: ExternalTools,
    sid: str,
    key: str,
    call: external.Call,
    *,
    check: Callable[[], None],
    chaos: Callable[[str], None],
) -> EffectResult:
    """The call's result, the server called at most once for ``key`` (see the module's doc)."""
    label = external.namespaced(call.server["name"], call.tool)
    check()
    chaos("before_external")
    state = store.apply(begin(sid, key), what=f"begin {label}").result["state"]
    if state == "done":
        return _result(store.effect(sid, key, label, _never))
    if state == "unknown":
        content: JSONObject = {"error": UNKNOWN, "code": "outcome_unknown"}
        return _result(store.effect(sid, key, label, recorded(content)))
    try:
        text, is_error = port.call(call.server, call.tool, call.arguments)
    except NotDelivered:
        store.apply(not_sent(sid, key), what=f"not sent {label}")
        raise
    chaos("after_external")
    content = external.capped(text, is_error)
    return _result(store.effect(sid, key, label, recorded(content)))


def _result(res: EffectResult) -> EffectResult:
    """An error the server reported is an error result for the model to act on."""
    if _error_of(res.content) and not res.is_error:
        return EffectResult(res.content, is_error=True, replayed=res.replayed)
    return res


def _never(r: Reader) -> Outcome:
    # Reached only when the marker exists: run_effect hands the stored result back instead.
    raise AssertionError("an external call's recorded result vanished")


def approved_body(body: object, content: JSONObject, is_error: bool) -> str:
    """An approval's inbox message with the approved call's result, for the agent's next turn."""
    what = "failed" if is_error else "ran"
    result = json.dumps(content, separators=(",", ":"))
    return f"{body} The approved call {what}; its result: {result}"
