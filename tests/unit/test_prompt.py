"""Requests the turn builds: cache breakpoints, resumable logs, and honest compaction."""

from __future__ import annotations

import itertools
import json

import pytest

from cloudswarm.core import context, doorbell, prompt
from cloudswarm.errors import UserError


def turn_msg(n: int) -> dict:
    return prompt.turn_message({"id": "a", "role": "teammate"}, "s", [], {"n": n})


def exchange(n: int) -> list[dict]:
    call = {"type": "tool_use", "id": f"tu{n}", "name": "list_tasks", "input": {}}
    return [
        turn_msg(n),
        {"role": "assistant", "content": [call]},
        prompt.tool_results_message([(f"tu{n}", {"tasks": []}, False)]),
        {"role": "assistant", "content": [{"type": "text", "text": f"done {n}"}]},
    ]


def test_request_marks_tools_system_and_newest_message_for_caching():
    tools = prompt.tools_for("lead")
    req = prompt.build_request(
        model="m", max_tokens=10, system="sys", tools=tools, messages=exchange(1)
    )
    assert json.dumps(req).count("cache_control") == 3
    assert "cache_control" in req["tools"][-1] and "cache_control" in req["system"][0]
    assert "cache_control" in req["messages"][-1]["content"][-1]
    # The log itself is not changed by building a request from it.
    assert "cache_control" not in json.dumps(exchange(1))


def test_teammates_are_not_offered_lead_only_tools():
    names = {t["name"] for t in prompt.tools_for("teammate")}
    assert "spawn_agent" not in names and "finish_swarm" not in names and "send_message" in names


def test_pending_tool_uses_are_the_unanswered_calls_of_the_last_answer():
    log = exchange(1)[:2]
    assert [b["id"] for b in prompt.pending_tool_uses(log)] == ["tu1"]
    assert prompt.pending_tool_uses(exchange(1)) == []


def test_a_fold_keeps_a_stated_summary_and_every_call_with_its_result():
    log = [m for n in range(10) for m in exchange(n)]
    keep = len(json.dumps(log[-8:], separators=(",", ":")))
    cut = context.fold_point(log, keep_bytes=keep)
    assert cut is not None and log[cut]["role"] == "assistant" and len(log) - cut <= 8
    assert len(log) - cut >= 6  # as much as fits is kept
    ask = context.summary_messages(log, cut)
    assert ask[:-1] == log[: cut - 1] and ask[-1]["role"] == "user"
    assert ask[-1]["content"][:-1] == log[cut - 1]["content"]
    assert ask[-1]["content"][-1]["text"].startswith(context.SUMMARY_TAG)
    out = context.folded(log, cut, [{"type": "text", "text": "What happened."}])
    head = out[0]["content"][0]["text"]
    assert head.startswith(f"[The {cut} earlier messages") and "transcript" in head
    assert head.endswith("What happened.") and out[1:] == log[cut:]
    roles = [m["role"] for m in out]
    assert all(a != b for a, b in itertools.pairwise(roles))
    ids_used = {b["id"] for m in out for b in m["content"] if b.get("type") == "tool_use"}
    ids_answered = {
        b["tool_use_id"] for m in out for b in m["content"] if b.get("type") == "tool_result"
    }
    assert ids_used == ids_answered


def test_a_log_with_no_answer_after_a_user_message_has_no_fold_point():
    assert context.fold_point(exchange(1)[:1], keep_bytes=10) is None
    assert context.fold_point(exchange(1)[:2], keep_bytes=10) == 1  # the newest, though large


def test_doorbell_reads_the_push_body_and_the_eventarc_data_alike():
    body = {"message": {"attributes": {"swarm_id": "s-1", "agent_id": "lead"}, "data": ""}}
    assert doorbell.parse(body) == ("s-1", "lead")


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"message": {}},
        {"message": {"attributes": {"swarm_id": "s-1"}}},
        {"message": {"attributes": {"swarm_id": "../x", "agent_id": "lead"}}},
        {"message": {"attributes": {"swarm_id": "s-1", "agent_id": 5}}},
    ],
)
def test_malformed_doorbells_are_refused_with_the_reason(data):
    with pytest.raises(UserError) as e:
        doorbell.parse(data)
    assert e.value.code == "bad_doorbell"
