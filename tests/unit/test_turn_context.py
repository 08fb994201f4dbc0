"""The turn engine's context handling against in-memory ports: the API's edits sent and a
compaction saved as the new version; without them, the model's own summary of older history."""

from __future__ import annotations

import json

from cloudswarm.core import context, turn
from cloudswarm.llm.claude import ModelResponse
from tests.unit.test_turn import make
from tests.unit.turn_fakes import ScriptedModel, answer, text, tool_use

BLOCK = {"type": "compaction", "content": "Summary: t1 claimed.", "signature": "sig"}


def long_history(exchanges: int = 30) -> list[dict]:
    """A conversation well past the fallback's threshold: large results of read_artifact."""
    out: list[dict] = [{"role": "user", "content": [text("<turn>{}</turn>")]}]
    for i in range(exchanges):
        use = tool_use("read_artifact", {"path": f"p{i}"}, tid=f"toolu_r{i}")
        result = json.dumps({"path": f"p{i}", "content": "x" * 15_000})
        out.append({"role": "assistant", "content": [use]})
        out.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"]}]})
        out[-1]["content"][0]["content"] = result
    out.append({"role": "assistant", "content": [text("Read them all.")]})
    return out


def test_without_the_apis_edits_a_long_history_is_summarized_by_the_model_first():
    summary = answer(text("I read pages p0 to p29; nothing is open."))
    model = ScriptedModel(summary, answer(text("done")))
    d, store = make(model, model_provider="vertex")
    d.journal.conversations[("lead", 1)] = long_history()
    store.agents["lead"]["conv_version"] = 1
    store.mail("lead", "anything left?")
    assert turn.run_turn(d, "s1", "lead").kind == "done"

    ask, call = model.requests
    assert "context_management" not in ask and "context_management" not in call
    assert ask["tool_choice"] == {"type": "none"}
    assert ask["messages"][-1]["content"][-1]["text"].startswith(context.SUMMARY_TAG)
    head = call["messages"][0]["content"][0]["text"]
    assert head.startswith("[The ") and "I read pages p0 to p29" in head
    trigger = context.DEFAULTS["compaction"]["trigger_tokens"]
    assert len(json.dumps(call)) < trigger * context.BYTES_PER_TOKEN
    # The new mail is still there, after the messages the fold kept.
    assert "anything left?" in call["messages"][-1]["content"][0]["text"]

    edits = [rec["context_edits"] for *_, rec in d.journal.transcripts]
    assert edits[0][0]["type"] == context.FOLD and edits[1] == []
    saved = d.journal.conversations[("lead", 2)]
    assert saved[0]["content"][0]["text"] == head  # the folded conversation is the new version
    # Both calls are paid for, and saved with the answer.
    spent = store.agents["lead"]["spent"]
    assert spent["usd"] == sum(c["usd"] for c in d.meter.calls) and len(d.meter.calls) == 2
    assert spent["turns"] == 1


def test_a_short_history_or_compaction_turned_off_is_not_summarized():
    model = ScriptedModel(answer(text("done")), answer(text("done")))
    d, store = make(model, model_provider="vertex")
    store.mail("lead", "go")
    turn.run_turn(d, "s1", "lead")
    assert len(model.requests) == 1 and "tool_choice" not in model.requests[0]

    store.swarm["context"] = context.validate({"compaction": False})
    d.journal.conversations[("lead", 5)] = long_history()
    store.agents["lead"]["conv_version"] = 5
    store.mail("lead", "go on")
    turn.run_turn(d, "s1", "lead")
    assert len(model.requests) == 2 and "tool_choice" not in model.requests[1]


def test_the_apis_compaction_becomes_the_new_version_and_the_next_call_starts_there():
    claim = tool_use("claim_task", {"task_id": "t9"}, tid="toolu_c1")
    compacted = ModelResponse(
        id="msg_c",
        model="claude-sonnet-4-6",
        content=[BLOCK, claim],
        stop_reason="tool_use",
        usage={"input_tokens": 10, "output_tokens": 5, "cache_read_tokens": 0,
               "cache_write_tokens": 0},
        context_management={"applied_edits": []},
    )  # fmt: skip
    model = ScriptedModel(compacted, answer(text("done")))
    d, store = make(model)
    store.agents["lead"]["model"] = "claude-sonnet-4-6"
    store.mail("lead", "go")
    turn.run_turn(d, "s1", "lead")

    first, second = model.requests
    kinds = [e["type"] for e in first["context_management"]["edits"]]
    assert kinds == [context.COMPACT, context.CLEAR]
    assert d.journal.conversations[("lead", 1)] == [
        context.COMPACTED_OPENING,
        {"role": "assistant", "content": [BLOCK, claim]},
    ]
    assert second["messages"][0] == context.COMPACTED_OPENING
    opening = second["messages"][1]["content"][0]
    assert {k: v for k, v in opening.items() if k != "cache_control"} == BLOCK
    assert second["messages"][2]["content"][0]["tool_use_id"] == "toolu_c1"
    assert d.journal.transcripts[0][3]["context_edits"] == [{"type": context.COMPACT}]
