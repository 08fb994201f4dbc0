"""The board's tools over the unit tests' store: input checks, role and alias handling, and the
real board rules behind them (the contract suite holds those to the Firestore store's behaviour).
"""

from __future__ import annotations

import hashlib
from typing import Any

from cloudswarm.core import tools
from cloudswarm.core.records import EffectResult
from tests.unit.turn_fakes import FakeStore, agent_doc, settings


class Workspace:
    """Content-addressed like the real one: the same bytes are the same object."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, swarm_id: str, data: bytes) -> str:
        name = f"{swarm_id}/{hashlib.sha256(data).hexdigest()}"
        self.objects[name] = data
        return name

    def get(self, name: str) -> bytes:
        return self.objects[name]


def _store() -> FakeStore:
    store = FakeStore()
    store.agents["bob"] = agent_doc("teammate")
    store.agents["carol"] = agent_doc("teammate")
    return store


def call(
    store: FakeStore,
    name: str,
    args: dict[str, Any],
    *,
    me: str = "lead",
    tuid: str | None = None,
    workspace: Workspace | None = None,
    msgs: int = 0,
) -> EffectResult:
    ctx = tools.ToolContext(
        swarm_id=store.SID,
        agent={"id": me, **store.agents[me]},
        lead_id="lead",
        tool_use_id=tuid or f"tu-{name}-{len(store.docs)}",
        store=store,
        workspace=workspace,
        settings=settings(),
        msgs_since_progress=msgs,
    )
    return tools.execute(ctx, name, args)


def test_a_task_created_behind_an_open_one_is_blocked_until_it_is_done():
    store = _store()
    call(store, "create_task", {"id": "a", "title": "A", "owner": "me"})
    made = call(
        store, "create_task", {"id": "b", "title": "B", "blocked_by": ["a"], "owner": "bob"}
    )
    assert made.content["task"]["status"] == "blocked" and made.ring == ()
    assert not call(store, "claim_task", {"task_id": "a"}).is_error
    refused = call(store, "claim_task", {"task_id": "b"}, me="bob")
    assert refused.is_error and refused.content["code"] == "blocked"
    done = call(store, "complete_task", {"task_id": "a", "result": "r"})
    assert done.content["unblocked"] == ["b"] and done.ring == ("bob",)
    assert [m["body"] for m in store.unread(store.SID, "bob")] == ["Task b (B) is now ready."]
    assert not call(store, "claim_task", {"task_id": "b"}, me="bob").is_error


def test_create_task_names_its_owner_by_alias_and_refuses_a_self_dependency():
    store = _store()
    mine = call(store, "create_task", {"id": "a", "title": "A", "owner": "me"}, me="bob")
    assert mine.content["task"]["owner"] == "bob" and mine.ring == ()
    for_lead = call(store, "create_task", {"id": "b", "title": "B", "owner": "lead"}, me="bob")
    assert for_lead.content["task"]["owner"] == "lead" and for_lead.ring == ("lead",)
    itself = call(store, "create_task", {"id": "c", "title": "C", "blocked_by": ["c"]})
    assert itself.content == {"error": "task c cannot be blocked by itself", "code": "invalid"}
    generated = call(store, "create_task", {"title": "D"}, tuid="toolu_x")
    expected = "t-" + hashlib.sha1(b"toolu_x").hexdigest()[:8]
    assert generated.content["task"]["id"] == expected
    assert sorted(store.tasks) == sorted(["a", "b", expected])


def test_a_replayed_tool_call_returns_its_first_result_and_changes_nothing():
    store = _store()
    first = call(store, "create_task", {"id": "a", "title": "A"}, tuid="toolu_1")
    again = call(store, "create_task", {"id": "a", "title": "A"}, tuid="toolu_1")
    assert again.replayed and again.content == first.content and not first.is_error
    assert store.count_tasks(store.SID) == {"total": 1, "done": 0}


def test_messages_go_to_all_or_the_lead_never_to_oneself_and_stop_at_the_loop_guard():
    store = _store()
    everyone = call(store, "send_message", {"to": "all", "body": "hi"}, me="bob", tuid="tu-1")
    assert everyone.ring == ("carol", "lead")
    assert everyone.content == {"sent": ["tu-1-carol", "tu-1-lead"]}
    to_lead = call(store, "send_message", {"to": "lead", "body": "q"}, me="bob", tuid="tu-2")
    assert to_lead.ring == ("lead",)
    own = call(store, "send_message", {"to": "bob", "body": "me"}, me="bob")
    assert own.content == {"error": "you cannot message yourself", "code": "invalid"}
    ghost = call(store, "send_message", {"to": "ghost", "body": "x"})
    assert ghost.content == {"error": "no agent named ghost in this swarm", "code": "not_found"}
    guarded = call(store, "send_message", {"to": "bob", "body": "x"}, msgs=12)
    assert guarded.is_error and guarded.content["code"] == "loop_guard"
    assert [m["body"] for m in store.unread(store.SID, "lead")] == ["hi", "q"]


def test_update_task_cancels_and_reassigns_through_the_board_rules():
    store = _store()
    call(store, "create_task", {"id": "a", "title": "A"})
    call(store, "create_task", {"id": "b", "title": "B", "blocked_by": ["a"], "owner": "carol"})
    moved = call(store, "update_task", {"task_id": "a", "owner": "bob"})
    assert moved.ring == ("bob",) and store.tasks["a"]["owner"] == "bob"
    cancelled = call(store, "update_task", {"task_id": "a", "status": "cancelled"})
    assert cancelled.ring == ("carol",) and store.tasks["b"]["status"] == "ready"
    final = call(store, "update_task", {"task_id": "a", "title": "again"})
    assert final.content["code"] == "invalid_transition"
    listed = call(store, "list_tasks", {"owner": "me"}, me="carol")
    assert [t["id"] for t in listed.content["tasks"]] == ["b"]


def test_artifacts_are_written_by_version_and_read_back():
    store, ws = _store(), Workspace()
    wrote = call(store, "write_artifact", {"path": "/docs/plan.md", "content": "v1"}, workspace=ws)
    assert wrote.content == {"path": "docs/plan.md", "version": 1}
    clash = call(store, "write_artifact", {"path": "docs/plan.md", "content": "v2"}, workspace=ws)
    assert clash.content["code"] == "exists"
    again = {"path": "docs/plan.md", "content": "v2", "expected_version": 1}
    assert call(store, "write_artifact", again, workspace=ws).content["version"] == 2
    read = call(store, "read_artifact", {"path": "docs/plan.md"}, workspace=ws)
    assert read.content == {"path": "docs/plan.md", "version": 2, "content": "v2"}
    listed = call(store, "list_artifacts", {"prefix": "docs/"}, workspace=ws)
    assert listed.content["count"] == 1 and listed.content["artifacts"][0]["size"] == 2
    escape = call(store, "write_artifact", {"path": "../x", "content": "x"}, workspace=ws)
    assert escape.is_error and "invalid artifact path" in escape.content["error"]
    missing = call(store, "read_artifact", {"path": "nope.md"}, workspace=ws)
    assert missing.content == {"error": "no artifact at nope.md", "code": "not_found"}
