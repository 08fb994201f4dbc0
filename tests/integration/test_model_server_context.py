"""Context edits on the local model server through the real SDK and the project's Claude client:
old tool results cleared past the trigger, a compaction block past the compaction trigger (its
tokens billed), the conversation going on from the block, and an altered block refused."""

from __future__ import annotations

import copy
import json

import anthropic
import pytest

from cloudswarm.core import context, prompt
from cloudswarm.errors import PermanentError
from cloudswarm.llm.claude import Claude
from emulators.model_server import ModelServer

PAGE = "A fetched page of search results. " * 480  # about 4,000 tokens once in a tool result


@pytest.fixture(scope="module")
def sdk():
    """The real SDK's client on a model server playing the long-run scenario."""
    srv = ModelServer(port=0, scenario="longrun").start()
    try:
        yield anthropic.Anthropic(base_url=srv.url, api_key="k", max_retries=0)
    finally:
        srv.stop()


@pytest.fixture
def claude(sdk):
    return Claude(client=sdk, timeout_s=30, max_retries=0)


def never(*_):
    return False


def conversation(pages: int) -> list[dict]:
    """A teammate's turn that has read ``pages`` large pages, ending with the last result."""
    turn = {"agent": "reader", "role": "teammate", "swarm": "s", "inbox": [], "board": {}}
    out: list[dict] = [
        {"role": "user", "content": [{"type": "text", "text": f"<turn>{json.dumps(turn)}</turn>"}]}
    ]
    for i in range(pages):
        use = {"type": "tool_use", "id": f"toolu_r{i}", "name": "read_artifact", "input": {}}
        use["input"] = {"path": f"p{i:05d}"}
        result = {"path": f"p{i:05d}", "version": 1, "content": PAGE}
        out.append({"role": "assistant", "content": [use]})
        out.append(prompt.tool_results_message([(f"toolu_r{i}", result, False)]))
    return out


def request(messages: list[dict], settings: dict | None = None) -> dict:
    base = prompt.build_request(
        model="claude-sonnet-4-6",
        max_tokens=2000,
        system="You read pages.",
        tools=prompt.tools_for("teammate"),
        messages=messages,
    )
    edits = context.edits(settings or context.validate(None), "anthropic", "claude-sonnet-4-6")
    return context.with_edits(base, edits)


def test_below_the_triggers_nothing_is_edited(claude):
    answer = claude.call(request(conversation(2)), never)
    assert answer.context_management == {"applied_edits": []}
    assert [b["type"] for b in answer.content] == ["tool_use"]
    assert answer.content[0]["name"] == "complete_task"


def test_past_the_clearing_trigger_old_results_are_cleared_and_reported(claude):
    settings = context.validate(
        {"compaction": False, "clear_tool_results": {"trigger_tokens": 30_000}}
    )
    plain = claude.call(request(conversation(12), {"compaction": False, **_no_clear()}), never)
    cleared = claude.call(request(conversation(12), settings), never)
    edits = cleared.context_management["applied_edits"]
    assert [e["type"] for e in edits] == [context.CLEAR]
    assert edits[0]["cleared_tool_uses"] == 12 - 4  # all but the ``keep`` most recent
    assert read(plain.usage) - read(cleared.usage) == pytest.approx(
        edits[0]["cleared_input_tokens"], abs=50
    )
    # The model still sees the newest result: it completes the task it just read.
    assert cleared.content[0]["input"]["task_id"] == "p00011"


def read(usage: dict) -> int:
    """Every input token a call was billed for, from the cache or not."""
    return usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]


def _no_clear() -> dict:
    return {"clear_tool_results": False}


def test_past_the_compaction_trigger_the_answer_opens_with_a_block_that_goes_back(claude):
    settings = context.validate({"clear_tool_results": False})
    messages = conversation(14)  # about 56,000 tokens: past the 50,000 trigger
    answer = claude.call(request(messages, settings), never)
    block = answer.content[0]
    assert block["type"] == "compaction" and "ready tasks" in block["content"]
    assert answer.content[1]["input"]["task_id"] == "p00013"  # answered from the context read
    assert context.applied(answer.context_management, answer.content) == [{"type": context.COMPACT}]
    # The compaction read the whole context once more: billed, so counted in the usage.
    assert read(answer.usage) > 50_000

    kept = context.since_compaction([*messages, {"role": "assistant", "content": answer.content}])
    assert kept[0]["role"] == "user" and kept[1]["content"][0] == block
    tid = answer.content[1]["id"]
    kept.append(prompt.tool_results_message([(tid, {"task": {"id": "p00013"}}, False)]))
    after = claude.call(request(kept, settings), never)
    assert after.content[0]["name"] == "list_tasks"  # goes on from the block
    assert read(after.usage) < 10_000

    altered = copy.deepcopy(kept)
    altered[1]["content"][0]["content"] += " (edited)"
    with pytest.raises(PermanentError, match="compaction block was modified"):
        claude.call(request(altered, settings), never)


def test_an_edit_without_its_beta_header_is_refused(sdk):
    body = request(conversation(1))
    with pytest.raises(anthropic.BadRequestError, match="compact-2026-01-12"):
        sdk.beta.messages.create(**body, betas=["context-management-2025-06-27"])
