"""Board rules carried out by both stores: same results, same refusals, idempotent replays.

Each rule is run as a tool call's effect (``run_effect``, under a tool_use id) unless the test
is about a human's request (``apply``). State is seeded with the rules themselves where one
exists (tasks are created, claimed and completed by the board's rules); the swarm and its agents,
whose rules are the team's, are seeded as documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from cloudswarm.core import board, paths
from cloudswarm.core import decisions as dc
from cloudswarm.core.records import EffectResult
from cloudswarm.errors import Conflict, InvalidTransition, NotFound, UserError

SID = "s-contract"


def _task(tid: str, status: str = "ready", owner: str | None = None, **kw: Any) -> dc.Write:
    return dc.set_doc(
        paths.task(SID, tid),
        {"title": tid, "status": status, "owner": owner, "blocked_by": [], "version": 1, **kw},
    )


def _swarm(**kw: Any) -> dc.Write:
    doc = {"status": "running", "lead_id": "lead", "task_count": 0, "tasks_done": 0, **kw}
    return dc.set_doc(paths.swarm(SID), doc)


def _agent(aid: str, role: str = "teammate") -> dc.Write:
    return dc.set_doc(paths.agent(SID, aid), {"role": role, "status": "idle"})


def _team(store: Any, *aids: str) -> None:
    store.seed(_swarm(), _agent("lead", "lead"), *(_agent(a) for a in aids))


def _run(store: Any, tuid: str, tool: str, rule: dc.Rule) -> EffectResult:
    return store.executor.run_effect(SID, tuid, tool, rule)


def _twice(store: Any, tuid: str, tool: str, rule: dc.Rule) -> EffectResult:
    """Run an effect, then replay it: the replay hands back the same result."""
    first = _run(store, tuid, tool, rule)
    again = _run(store, tuid, tool, rule)
    assert again.replayed and not first.replayed
    assert (again.content, again.is_error, again.ring) == (
        first.content,
        first.is_error,
        first.ring,
    )
    assert (again.progress, again.ends_turn) == (first.progress, first.ends_turn)
    return first


def _create(store: Any, tid: str, actor: str = "lead", **kw: Any) -> EffectResult:
    kw.setdefault("title", tid)
    kw.setdefault("max_tasks", 50)
    return _run(store, f"create-{tid}", "create_task", board.create_task(SID, actor, tid, **kw))


def _claim(store: Any, tid: str, actor: str) -> EffectResult:
    return _run(store, f"claim-{tid}", "claim_task", board.claim_task(SID, actor, tid))


def _complete(store: Any, tid: str, actor: str, result: str = "ok") -> EffectResult:
    rule = board.complete_task(SID, actor, "lead", tid, result)
    return _run(store, f"complete-{tid}", "complete_task", rule)


def _doc(store: Any, path: str) -> Mapping[str, Any] | None:
    return store.executor.get(path)


def _events(store: Any) -> list[Mapping[str, Any]]:
    """The swarm's events, read through a rule that only reads (both backends offer it)."""

    def read(r: dc.Reader) -> dc.Outcome:
        return dc.Decision(result={"events": [d for _, d in r.list(paths.events(SID), 500)]})

    return list(store.executor.run(read, what="read events").decision().result["events"])


def _kinds(store: Any) -> list[str]:
    return sorted(e["kind"] for e in _events(store))


def _refused(res: EffectResult, code: str, message: str) -> None:
    assert res.is_error and res.content == {"error": message, "code": code}
    assert res.ring == () and not res.progress


def _inbox(store: Any, aid: str) -> list[dict[str, Any]]:
    return store.queries.unread(SID, aid, limit=50)


# -- claim_task ----------------------------------------------------------------------------


def test_claim_moves_a_ready_task_to_its_claimer_once(store):
    store.seed(_task("a"))
    first = store.executor.run_effect(SID, "tu-1", "claim_task", board.claim_task(SID, "bob", "a"))
    assert not first.is_error and first.progress
    assert first.content["task"] == {
        "id": "a",
        "title": "a",
        "status": "in_progress",
        "owner": "bob",
        "blocked_by": [],
    }
    doc = store.executor.get(paths.task(SID, "a"))
    assert (doc["status"], doc["owner"], doc["version"]) == ("in_progress", "bob", 2)
    replay = store.executor.run_effect(SID, "tu-1", "claim_task", board.claim_task(SID, "bob", "a"))
    assert replay.replayed and replay.content == first.content
    assert store.executor.get(paths.task(SID, "a"))["version"] == 2  # nothing applied twice


def test_claim_refusals_name_the_reason_and_write_only_the_marker(store):
    store.seed(
        _task("blocked", "blocked", waiting_on=["x"]),
        _task("theirs", owner="carol"),
        _task("busy", "in_progress", owner="bob"),
    )
    cases = {
        "missing": ("not_found", "task missing does not exist"),
        "blocked": ("blocked", "task blocked is blocked by x"),
        "theirs": ("owned", "task theirs is owned by carol"),
        "busy": ("not_ready", "task busy is in_progress, not ready"),
    }
    for tid, (code, message) in cases.items():
        res = store.executor.run_effect(
            SID, f"tu-{tid}", "claim_task", board.claim_task(SID, "bob", tid)
        )
        assert res.is_error and res.content == {"error": message, "code": code}
        again = store.executor.run_effect(
            SID, f"tu-{tid}", "claim_task", board.claim_task(SID, "bob", tid)
        )
        assert again.replayed and again.content == res.content
    assert store.executor.get(paths.task(SID, "theirs"))["version"] == 1


def test_a_refusal_raises_its_error_for_a_direct_caller(store):
    applied = store.executor.run(board.claim_task(SID, "bob", "nope"), what="claim")
    assert isinstance(applied.outcome, dc.Refusal)
    with pytest.raises(NotFound, match="task nope does not exist"):
        applied.decision()


# -- send_message --------------------------------------------------------------------------


def test_a_message_reaches_each_recipient_once_and_rings_them(store):
    _team(store, "bob", "carol")
    rule = board.send_message(SID, "lead", ["bob", "carol"], "standup at 10", "tu-1")
    res = _twice(store, "tu-1", "send_message", rule)
    assert not res.is_error and not res.progress and not res.ends_turn
    assert res.content == {"sent": ["tu-1-bob", "tu-1-carol"]}
    assert res.ring == ("bob", "carol")
    for aid in ("bob", "carol"):
        [m] = _inbox(store, aid)
        assert (m["id"], m["from"], m["to"], m["body"]) == (
            f"tu-1-{aid}",
            "lead",
            aid,
            "standup at 10",
        )
        assert (m["kind"], m["read"]) == ("message", False) and m["created_at"] is not None
    [event] = _events(store)
    assert (event["kind"], event["actor"], event["data"]) == (
        "message",
        "lead",
        {"to": ["bob", "carol"]},
    )
    assert event["summary"] == "lead → bob, carol: standup at 10"


def test_a_message_to_an_unknown_agent_sends_nothing(store):
    _team(store, "bob")
    rule = board.send_message(SID, "lead", ["zed", "bob", "ghost"], "hi", "tu-1")
    res = _twice(store, "tu-1", "send_message", rule)
    _refused(res, "not_found", "no agent named ghost, zed in this swarm")
    assert _inbox(store, "bob") == [] and _events(store) == []


# -- create_task ---------------------------------------------------------------------------


def test_a_new_task_without_dependencies_is_ready_and_counted(store):
    _team(store)
    rule = board.create_task(
        SID, "lead", "a", title="Write it", description="all of it", max_tasks=50
    )
    res = _twice(store, "tu-1", "create_task", rule)
    assert not res.is_error and res.progress and res.ring == ()
    assert res.content == {
        "task": {"id": "a", "title": "Write it", "status": "ready", "owner": None, "blocked_by": []}
    }
    doc = _doc(store, paths.task(SID, "a"))
    assert {k: doc[k] for k in doc if k not in ("created_at", "updated_at")} == {
        "title": "Write it",
        "description": "all of it",
        "status": "ready",
        "owner": None,
        "blocked_by": [],
        "waiting_on": [],
        "blocks": [],
        "result": None,
        "created_by": "lead",
        "version": 1,
    }
    assert doc["created_at"] is not None and doc["updated_at"] is not None
    assert store.queries.count_tasks(SID) == {"total": 1, "done": 0}  # the replay added none
    [event] = _events(store)
    assert (event["kind"], event["summary"], event["data"]) == (
        "task_created",
        "Task a created: Write it",
        {"task": "a"},
    )
    assert store.queries.list_tasks(SID, status="ready", owner=None, limit=10) == [
        res.content["task"]
    ]


def test_a_task_waits_on_its_unsettled_dependencies_only(store):
    _team(store, "bob")
    _create(store, "a")
    _create(store, "b")
    _claim(store, "b", "bob")
    _complete(store, "b", "bob")
    res = _create(store, "c", blocked_by=["a", "b", "a"])
    assert res.content["task"]["status"] == "blocked"
    assert res.content["task"]["blocked_by"] == ["a", "b"]  # duplicates dropped
    c = _doc(store, paths.task(SID, "c"))
    assert (c["waiting_on"], c["blocked_by"]) == (["a"], ["a", "b"])
    assert _doc(store, paths.task(SID, "a"))["blocks"] == ["c"]
    assert _doc(store, paths.task(SID, "b"))["blocks"] == ["c"]
    settled_only = _create(store, "d", blocked_by=["b"])
    assert settled_only.content["task"]["status"] == "ready"
    assert _doc(store, paths.task(SID, "d"))["waiting_on"] == []
    assert store.queries.count_tasks(SID) == {"total": 4, "done": 1}


def test_an_owner_other_than_the_creator_is_told_when_the_task_is_ready(store):
    _team(store, "bob", "carol")
    _create(store, "first")
    told = _create(store, "mine", owner="bob")
    assert told.ring == ("bob",) and told.content["task"]["owner"] == "bob"
    [note] = _inbox(store, "bob")
    assert (note["id"], note["from"], note["kind"], note["task"]) == (
        "task-ready-mine",
        "system",
        "task_update",
        "mine",
    )
    assert note["body"] == "Task mine is assigned to you and ready."
    # Their own task, or one still blocked, needs no note.
    assert _create(store, "own", actor="carol", owner="carol").ring == ()
    assert _create(store, "later", owner="carol", blocked_by=["first"]).ring == ()
    assert _inbox(store, "carol") == []


def test_create_task_refusals_write_nothing_but_the_marker(store):
    _team(store, "bob")
    _create(store, "a")
    cases = {
        "dup": (
            board.create_task(SID, "lead", "a", title="again", max_tasks=50),
            "conflict",
            "task a already exists; pick another id",
        ),
        "full": (
            board.create_task(SID, "lead", "b", title="b", max_tasks=1),
            "conflict",
            "the board is full (1 tasks); finish or cancel some",
        ),
        "deps": (
            board.create_task(SID, "lead", "b", title="b", blocked_by=["y", "a", "x"], max_tasks=5),
            "not_found",
            "blocked_by names unknown tasks: y, x",
        ),
        "owner": (
            board.create_task(SID, "lead", "b", title="b", owner="ghost", max_tasks=5),
            "not_found",
            "owner ghost is not an agent of this swarm",
        ),
        "swarm": (
            board.create_task("s-gone", "lead", "b", title="b", max_tasks=5),
            "not_found",
            "swarm s-gone does not exist",
        ),
    }
    for tuid, (rule, code, message) in cases.items():
        _refused(_twice(store, tuid, "create_task", rule), code, message)
    assert _doc(store, paths.task(SID, "b")) is None
    assert _doc(store, paths.task(SID, "a"))["title"] == "a"
    assert store.queries.count_tasks(SID) == {"total": 1, "done": 0}
    assert _kinds(store) == ["task_created"]


# -- complete_task -------------------------------------------------------------------------


def test_completing_a_task_settles_what_waits_on_it_and_tells_owners_or_the_lead(store):
    _team(store, "bob", "carol")
    _create(store, "a")
    _create(store, "x")
    _create(store, "b", owner="bob", blocked_by=["a"])
    _create(store, "c", owner="carol", blocked_by=["a", "x"])
    _create(store, "d", title="Ship", blocked_by=["a"])
    _claim(store, "a", "carol")
    rule = board.complete_task(SID, "carol", "lead", "a", "built")
    res = _twice(store, "tu-done", "complete_task", rule)
    assert not res.is_error and res.progress
    assert res.content == {"task": "a", "status": "done", "unblocked": ["b", "d"]}
    assert res.ring == ("bob", "lead")
    a = _doc(store, paths.task(SID, "a"))
    assert (a["status"], a["result"], a["owner"], a["version"]) == ("done", "built", "carol", 3)
    b, c, d = (_doc(store, paths.task(SID, t)) for t in "bcd")
    assert (b["status"], b["waiting_on"]) == ("ready", [])
    assert (c["status"], c["waiting_on"]) == ("blocked", ["x"])
    assert (d["status"], d["waiting_on"]) == ("ready", [])
    [to_bob] = _inbox(store, "bob")
    assert (to_bob["id"], to_bob["body"], to_bob["kind"], to_bob["task"]) == (
        "task-ready-b",
        "Task b (b) is now ready.",
        "task_update",
        "b",
    )
    [to_lead] = _inbox(store, "lead")
    assert (to_lead["id"], to_lead["body"]) == (
        "task-ready-d",
        "Task d (Ship) is now ready and has no owner.",
    )
    assert _inbox(store, "carol") == []
    assert store.queries.count_tasks(SID) == {"total": 5, "done": 1}
    done = [e for e in _events(store) if e["kind"] == "task_done"]
    assert [(e["actor"], e["data"]) for e in done] == [
        ("carol", {"task": "a", "unblocked": ["b", "d"]})
    ]


def test_only_the_claimer_completes_a_claimed_task(store):
    _team(store, "bob")
    _create(store, "a")
    _create(store, "b")
    _claim(store, "b", "bob")
    cases = {
        "missing": (
            board.complete_task(SID, "bob", "lead", "zz", "r"),
            "not_found",
            "task zz does not exist",
        ),
        "ready": (
            board.complete_task(SID, "bob", "lead", "a", "r"),
            "not_claimed",
            "task a is ready (owner none); claim it before completing it",
        ),
        "theirs": (
            board.complete_task(SID, "lead", "lead", "b", "r"),
            "not_claimed",
            "task b is in_progress (owner bob); claim it before completing it",
        ),
    }
    for tuid, (rule, code, message) in cases.items():
        _refused(_twice(store, tuid, "complete_task", rule), code, message)
    assert _doc(store, paths.task(SID, "b"))["status"] == "in_progress"
    assert store.queries.count_tasks(SID) == {"total": 2, "done": 0}


# -- update_task ---------------------------------------------------------------------------


def _update(store: Any, tuid: str, tid: str, actor: str = "lead", **changes: Any) -> EffectResult:
    rule = board.update_task(SID, actor, tid, {"task_id": tid, **changes}, lead="lead")
    return _twice(store, tuid, "update_task", rule)


def test_an_update_changes_title_and_description_and_names_the_fields(store):
    _team(store)
    _create(store, "a")
    res = _update(store, "u1", "a", title="Better", description="more")
    assert not res.is_error and res.progress and res.ring == ()
    assert res.content["task"] == {
        "id": "a",
        "title": "Better",
        "status": "ready",
        "owner": None,
        "blocked_by": [],
    }
    a = _doc(store, paths.task(SID, "a"))
    assert (a["title"], a["description"], a["version"]) == ("Better", "more", 2)  # replay: once
    [event] = [e for e in _events(store) if e["kind"] == "task_updated"]
    assert (event["actor"], event["summary"], event["data"]) == (
        "lead",
        "lead updated a",
        {"task": "a", "fields": ["description", "task_id", "title"]},
    )


def test_a_new_owner_of_a_ready_task_is_told_once_per_assignment(store):
    _team(store, "bob", "carol")
    _create(store, "a")
    _create(store, "x")
    _create(store, "blocked", blocked_by=["x"])
    to_bob = _update(store, "u1", "a", owner="bob")
    assert to_bob.ring == ("bob",) and to_bob.content["task"]["owner"] == "bob"
    [note] = _inbox(store, "bob")
    assert (note["id"], note["body"], note["kind"], note["task"]) == (
        "assigned-a-v2",
        "Task a was assigned to you and is ready.",
        "task_update",
        "a",
    )
    assert _update(store, "u2", "a", owner="carol").ring == ("carol",)
    assert [m["id"] for m in _inbox(store, "carol")] == ["assigned-a-v3"]
    assert _update(store, "u3", "a", owner="bob").ring == ("bob",)  # back again: a new note
    assert [m["id"] for m in _inbox(store, "bob")] == ["assigned-a-v2", "assigned-a-v4"]
    # Taking a task yourself, giving one that is blocked, or the same owner again: no note.
    assert _update(store, "u4", "x", actor="carol", owner="carol").ring == ()
    assert _update(store, "u5", "blocked", owner="carol").ring == ()
    assert _update(store, "u6", "a", owner="bob", title="same owner").ring == ()
    assert len(_inbox(store, "carol")) == 1 and len(_inbox(store, "bob")) == 2


def test_update_refusals_change_nothing(store):
    _team(store, "bob")
    _create(store, "a")
    _create(store, "busy")
    _claim(store, "busy", "bob")
    _create(store, "done")
    _claim(store, "done", "bob")
    _complete(store, "done", "bob")
    cases = [
        ("missing", {}, "not_found", "task missing does not exist"),
        (
            "a",
            {},
            "invalid",
            "nothing to change: give title, description, owner, blocked_by or status",
        ),
        ("a", {"owner": "ghost"}, "not_found", "owner ghost is not an agent of this swarm"),
        ("busy", {"owner": "lead"}, "conflict", "task busy is in progress with bob"),
        (
            "done",
            {"title": "t"},
            "invalid_transition",
            "task done is done and can no longer change",
        ),
    ]
    for i, (tid, changes, code, message) in enumerate(cases):
        rule = board.update_task(SID, "lead", tid, {"task_id": tid, **changes})
        _refused(_twice(store, f"u{i}", "update_task", rule), code, message)
    assert _doc(store, paths.task(SID, "a"))["version"] == 1
    assert _doc(store, paths.task(SID, "busy"))["owner"] == "bob"
    assert "task_updated" not in _kinds(store)


def test_new_dependencies_move_a_task_between_blocked_and_ready(store):
    _team(store, "bob")
    _create(store, "a")
    _create(store, "b")
    _create(store, "s")
    _claim(store, "s", "bob")
    _complete(store, "s", "bob")
    blocked = _update(store, "u1", "b", blocked_by=["a", "s", "a"])
    assert blocked.content["task"]["status"] == "blocked"
    b = _doc(store, paths.task(SID, "b"))
    assert (b["blocked_by"], b["waiting_on"], b["status"]) == (["a", "s"], ["a"], "blocked")
    assert _doc(store, paths.task(SID, "a"))["blocks"] == ["b"]
    freed = _update(store, "u2", "b", blocked_by=["s"])
    assert freed.content["task"] == {
        "id": "b",
        "title": "b",
        "status": "ready",
        "owner": None,
        "blocked_by": ["s"],
    }
    assert _doc(store, paths.task(SID, "a"))["blocks"] == []
    assert _doc(store, paths.task(SID, "s"))["blocks"] == ["b"]
    assert _doc(store, paths.task(SID, "b"))["waiting_on"] == []


def test_dependency_refusals_name_the_cycle_or_the_problem(store):
    _team(store, "bob")
    _create(store, "a")
    _create(store, "b", blocked_by=["a"])
    _create(store, "c", blocked_by=["b"])
    _create(store, "w")
    _claim(store, "w", "bob")
    cases = [
        (
            "a",
            ["b"],
            "dependency_cycle",
            "blocked_by would create a dependency cycle: a -> b -> a (each task would wait on "
            "the next forever); remove one of these dependencies",
        ),
        (
            "a",
            ["c"],
            "dependency_cycle",
            "blocked_by would create a dependency cycle: a -> c -> b -> a (each task would wait "
            "on the next forever); remove one of these dependencies",
        ),
        (
            "a",
            ["a"],
            "self_dependency",
            "task a cannot be blocked by itself: remove a from blocked_by",
        ),
        (
            "a",
            ["zz"],
            "not_found",
            "blocked_by names unknown task ids: zz; create those tasks first or use list_tasks "
            "to see the existing ids",
        ),
        (
            "w",
            ["a"],
            "conflict",
            "task w is in progress and cannot wait on unfinished tasks (a); release it first or "
            "keep its current dependencies",
        ),
    ]
    for i, (tid, deps, code, message) in enumerate(cases):
        rule = board.update_task(SID, "lead", tid, {"task_id": tid, "blocked_by": deps})
        _refused(_twice(store, f"u{i}", "update_task", rule), code, message)
    assert _doc(store, paths.task(SID, "a"))["blocked_by"] == []
    assert _doc(store, paths.task(SID, "a"))["blocks"] == ["b"]


def test_cancelling_settles_what_waits_and_is_final(store):
    _team(store, "bob")
    _create(store, "a")
    _create(store, "b", owner="bob", blocked_by=["a"])
    _create(store, "c", title="Ship", blocked_by=["a"])
    res = _update(store, "u1", "a", status="cancelled")
    assert not res.is_error and res.progress and res.ring == ("bob", "lead")
    assert res.content["task"]["status"] == "cancelled"
    assert _doc(store, paths.task(SID, "a"))["status"] == "cancelled"
    assert [_doc(store, paths.task(SID, t))["status"] for t in "bc"] == ["ready", "ready"]
    assert [m["body"] for m in _inbox(store, "bob")] == ["Task b (b) is now ready."]
    assert [m["body"] for m in _inbox(store, "lead")] == [
        "Task c (Ship) is now ready and has no owner."
    ]
    assert store.queries.count_tasks(SID) == {"total": 3, "done": 0}  # a cancelled one is not done
    again = _update(store, "u2", "a", status="cancelled")
    _refused(again, "invalid_transition", "task a is cancelled and can no longer change")


# -- what a human's request runs: apply ----------------------------------------------------


def test_apply_carries_out_a_rule_and_raises_its_refusal_as_the_error(store):
    _team(store, "bob")
    made = store.queries.apply(
        board.create_task(SID, "human:op", "a", title="A", owner="bob", max_tasks=5),
        what="create task",
    )
    assert made.ring == ("bob",) and made.result["task"]["status"] == "ready"
    with pytest.raises(Conflict, match="task a already exists") as dup:
        store.queries.apply(
            board.create_task(SID, "human:op", "a", title="A", max_tasks=5), what="create task"
        )
    assert dup.value.code == "conflict"
    cancelled = store.queries.apply(board.cancel_task(SID, "human:op", "a"), what="cancel")
    assert cancelled.result["task"]["status"] == "cancelled"
    with pytest.raises(InvalidTransition) as final:
        store.queries.apply(board.cancel_task(SID, "human:op", "a"), what="cancel")
    assert final.value.code == "invalid_transition"
    with pytest.raises(NotFound, match="task zz does not exist"):
        store.queries.apply(board.update_task(SID, "human:op", "zz", {"title": "t"}), what="x")
    store.queries.apply(board.create_task(SID, "human:op", "b", title="B", max_tasks=5), what="c")
    with pytest.raises(UserError, match="b cannot be blocked by itself") as own:
        store.queries.apply(
            board.update_task(SID, "human:op", "b", {"blocked_by": ["b"]}), what="u"
        )
    assert own.value.code == "self_dependency"


# -- write_artifact ------------------------------------------------------------------------


def test_artifact_versions_detect_conflicting_writes(store):
    _team(store, "bob")

    def write(tuid: str, actor: str, obj: str, expected: int | None) -> EffectResult:
        rule = board.write_artifact(SID, actor, "notes.md", obj, 3, expected)
        return _twice(store, tuid, "write_artifact", rule)

    first = write("w1", "lead", "obj1", None)
    assert first.content == {"path": "notes.md", "version": 1} and not first.progress
    _refused(
        write("w2", "bob", "obj2", None),
        "exists",
        "notes.md already exists at version 1 (last written by lead); read it and pass "
        "expected_version=1 to replace it",
    )
    _refused(
        write("w3", "bob", "obj2", 0),
        "version_conflict",
        "notes.md is at version 1, not 0: someone else wrote it meanwhile; read it again and merge",
    )
    assert write("w4", "bob", "obj2", 1).content == {"path": "notes.md", "version": 2}
    meta = store.queries.get_artifact(SID, "notes.md")
    assert (meta["object"], meta["version"], meta["size"], meta["updated_by"]) == (
        "obj2",
        2,
        3,
        "bob",
    )
    assert [a["path"] for a in store.queries.list_artifacts(SID, "notes")] == ["notes.md"]
    assert store.queries.list_artifacts(SID) == [
        {"path": "notes.md", "version": 2, "size": 3, "updated_by": "bob"}
    ]
    written = [e for e in _events(store) if e["kind"] == "artifact_written"]
    assert sorted(e["summary"] for e in written) == [
        "bob wrote notes.md v2",
        "lead wrote notes.md v1",
    ]
    with pytest.raises(NotFound, match=r"no artifact at other\.md"):
        store.queries.get_artifact(SID, "other.md")


def test_artifact_listings_filter_by_prefix_in_path_order(store):
    for i, p in enumerate(["src/b.py", "docs/a.md", "src/a.py", "srcx.txt"]):
        _run(
            store, f"w{i}", "write_artifact", board.write_artifact(SID, "lead", p, f"o{i}", i, None)
        )
    assert [a["path"] for a in store.queries.list_artifacts(SID, "src/")] == [
        "src/a.py",
        "src/b.py",
    ]
    assert [a["path"] for a in store.queries.list_artifacts(SID, limit=2)] == [
        "docs/a.md",
        "src/a.py",
    ]


def test_every_artifact_version_keeps_its_own_record(store):
    _team(store, "bob")
    for i, (actor, expected) in enumerate((("lead", None), ("bob", 1), ("lead", 2))):
        rule = board.write_artifact(SID, actor, "docs/plan.md", f"obj{i + 1}", 10 + i, expected)
        assert _twice(store, f"v{i}", "write_artifact", rule).content["version"] == i + 1
    # A refused write (stale version) adds no version record.
    stale = board.write_artifact(SID, "bob", "docs/plan.md", "objx", 1, 1)
    assert _run(store, "v9", "write_artifact", stale).is_error
    q = store.queries
    versions = q.list_artifact_versions(SID, "docs/plan.md", limit=10)
    assert [(v["id"], v["version"], v["size"], v["updated_by"]) for v in versions] == [
        ("00000003", 3, 12, "lead"),
        ("00000002", 2, 11, "bob"),
        ("00000001", 1, 10, "lead"),
    ]
    assert all(v["updated_at"] is not None and "object" not in v for v in versions)
    assert q.list_artifact_versions(SID, "docs/plan.md", limit=1)[0]["version"] == 3
    assert q.get_artifact_version(SID, "docs/plan.md", 2)["object"] == "obj2"
    assert q.get_artifact_version(SID, "docs/plan.md", None)["object"] == "obj3"
    with pytest.raises(NotFound, match=r"no version 4 of docs/plan\.md"):
        q.get_artifact_version(SID, "docs/plan.md", 4)
    with pytest.raises(NotFound, match=r"no artifact at nope\.md"):
        q.get_artifact_version(SID, "nope.md", None)
    assert q.list_artifact_versions(SID, "nope.md", limit=10) == []


def test_artifact_pages_follow_path_order_under_a_prefix(store):
    names = ["src/c.py", "docs/a.md", "src/a.py", "src/b.py", "srcx.txt"]
    for i, p in enumerate(names):
        _run(
            store, f"w{i}", "write_artifact", board.write_artifact(SID, "lead", p, f"o{i}", i, None)
        )
    q = store.queries
    first, token = q.page_artifacts(SID, prefix="src/", limit=2, token=None)
    assert [a["path"] for a in first] == ["src/a.py", "src/b.py"]
    assert token == first[1]["id"] == paths.artifact_key("src/b.py")
    assert set(first[0]) == {"id", "path", "version", "size", "updated_by", "updated_at"}
    rest, end = q.page_artifacts(SID, prefix="src/", limit=2, token=token)
    assert ([a["path"] for a in rest], end) == (["src/c.py"], None)
    everything, none = q.page_artifacts(SID, prefix="", limit=10, token=None)
    assert [a["path"] for a in everything] == sorted(names) and none is None
    with pytest.raises(UserError, match="page_token: unknown or expired"):
        q.page_artifacts(SID, prefix="", limit=2, token="0" * 40)


# -- ported from the Firestore store's tests: the board end to end ---------------------------


def test_task_transactions_block_claim_complete_and_notify(store):
    _team(store, "bob")

    def create(tuid, tid, deps=(), owner=None):
        rule = board.create_task(
            SID, "lead", tid, title=tid, owner=owner, blocked_by=list(deps), max_tasks=50
        )
        return _run(store, tuid, "create_task", rule)

    assert create("c1", "a").content["task"]["status"] == "ready"
    assert create("c2", "b", ["a"], owner="bob").content["task"]["status"] == "blocked"
    unknown = create("c3", "c", ["zzz"])
    assert unknown.is_error and "zzz" in unknown.content["error"]
    assert _doc(store, paths.task(SID, "c")) is None  # nothing but the marker was written

    blocked = _run(store, "k1", "claim_task", board.claim_task(SID, "bob", "b"))
    assert blocked.is_error and blocked.content["error"] == "task b is blocked by a"
    assert not _run(store, "k2", "claim_task", board.claim_task(SID, "lead", "a")).is_error
    taken = _run(store, "k3", "claim_task", board.claim_task(SID, "bob", "a"))
    assert taken.is_error and "owned by lead" in taken.content["error"]

    complete = board.complete_task(SID, "lead", "lead", "a", "result")
    done = _run(store, "d1", "complete_task", complete)
    assert done.content["unblocked"] == ["b"] and done.ring == ("bob",)
    again = _run(store, "d1", "complete_task", complete)
    assert again.replayed and again.content == done.content
    assert _doc(store, paths.task(SID, "b"))["status"] == "ready"
    ready_notes = [m for m in _inbox(store, "bob") if m.get("kind") == "task_update"]
    assert len(ready_notes) == 1
    swarm = store.queries.get_swarm(SID)
    assert (swarm["task_count"], swarm["tasks_done"]) == (2, 1)


def test_dependency_cycle_is_rejected_with_its_path(store):
    _team(store)
    for tid, deps in (("a", []), ("b", ["a"])):
        _create(store, tid, blocked_by=deps)
    res = _run(
        store,
        "u1",
        "update_task",
        board.update_task(SID, "lead", "a", {"task_id": "a", "blocked_by": ["b"]}),
    )
    assert res.is_error and "a -> b -> a" in res.content["error"]
    assert _doc(store, paths.task(SID, "a"))["blocked_by"] == []


def test_the_board_queries_filter_order_and_bound(store):
    _team(store, "bob")
    for tid in ("t1", "t2", "t3"):
        _create(store, tid, owner="bob")
    _create(store, "t4")
    _claim(store, "t2", "bob")
    newest_first = store.queries.list_tasks(SID, status=None, owner=None, limit=10)
    assert [t["id"] for t in newest_first] == ["t4", "t3", "t2", "t1"]
    assert [t["id"] for t in store.queries.list_tasks(SID, status=None, owner="bob", limit=2)] == [
        "t3",
        "t2",
    ]
    ready = store.queries.list_tasks(SID, status="ready", owner="bob", limit=10)
    assert [t["id"] for t in ready] == ["t3", "t1"]
    assert store.queries.count_tasks(SID) == {"total": 4, "done": 0}
