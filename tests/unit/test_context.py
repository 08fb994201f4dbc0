"""Context management as data (core/context.py): checking a swarm's ``context``, the edits a
request carries, and what a compaction leaves of the conversation."""

from __future__ import annotations

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudswarm.core import budget, context
from cloudswarm.errors import UserError


def test_absent_means_both_edits_with_their_defaults():
    got = context.validate(None)
    assert got == context.DEFAULTS
    assert got is not context.DEFAULTS  # a copy: a swarm document never aliases the table


def test_false_turns_an_edit_off_and_options_fill_in():
    got = context.validate({"compaction": False, "clear_tool_results": {"keep": 2}})
    assert got["compaction"] is False
    assert got["clear_tool_results"]["keep"] == 2
    assert got["clear_tool_results"]["trigger_tokens"] == 100_000


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"compaction": {"trigger_tokens": 10}}, "context.compaction.trigger_tokens"),
        ({"compaction": {"trigger_tokens": True}}, "context.compaction.trigger_tokens"),
        ({"clear_tool_results": {"keep": -1}}, "context.clear_tool_results.keep"),
        ({"clear_tool_results": {"ttl": 1}}, "context.clear_tool_results.ttl"),
        ({"summarize": {}}, "context.summarize"),
        ({"compaction": "on"}, "context.compaction"),
        ([], "context"),
    ],
)
def test_a_bad_value_names_its_field(value, field):
    with pytest.raises(UserError) as e:
        context.validate(value)
    assert str(e.value).startswith(field + ":") and e.value.code == "invalid_context"


def test_edits_on_the_api_for_a_model_that_compacts():
    edits = context.edits(context.validate(None), "anthropic", "claude-sonnet-4-6")
    assert [e["type"] for e in edits] == [context.COMPACT, context.CLEAR]
    compact, clear = edits
    assert clear["trigger"] == {"type": "input_tokens", "value": 100_000}
    assert clear["keep"] == {"type": "tool_uses", "value": 4}
    assert compact["trigger"] == {"type": "input_tokens", "value": 50_000}
    assert "artifacts" in compact["instructions"]
    request = context.with_edits({"model": "m"}, edits)
    assert context.betas(request) == ["compact-2026-01-12", "context-management-2025-06-27"]
    assert context.compacts(request)


def test_no_compaction_for_a_model_without_it_and_nothing_on_vertex():
    settings = context.validate(None)
    older = context.edits(settings, "anthropic", "claude-sonnet-4-5-20250929")
    assert [e["type"] for e in older] == [context.CLEAR]
    assert context.edits(settings, "anthropic", "claude-sonnet-4-6@20260101")[0]["type"] == (
        context.COMPACT
    )
    assert context.edits(settings, "vertex", "claude-sonnet-4-6") == []
    assert context.with_edits({"model": "m"}, []) == {"model": "m"}
    assert context.betas({"model": "m"}) == []


def test_a_swarm_from_before_the_setting_gets_the_defaults():
    assert context.of_swarm({}) == context.DEFAULTS
    assert context.of_swarm({"context": {"compaction": False}}) == {"compaction": False}


def test_since_compaction_keeps_the_block_exactly_and_what_follows():
    block = {"type": "compaction", "content": "summary", "signature": "abc"}
    use = {"type": "tool_use", "id": "t1", "name": "list_tasks", "input": {}}
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "<turn>{}</turn>"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "old"}]},
        {"role": "user", "content": [{"type": "text", "text": "more"}]},
        {"role": "assistant", "content": [block, use]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
    ]
    kept = context.since_compaction(messages)
    assert kept == [context.COMPACTED_OPENING, *messages[3:]]
    assert kept[0]["role"] == "user" and kept[1]["content"][0] is block
    assert context.since_compaction(kept) == kept  # cut once, however often it is asked
    assert context.since_compaction(messages[:3]) == messages[:3]
    assert context.just_compacted(kept[:2]) and not context.just_compacted(kept)


def test_applied_records_the_edits_and_a_compaction():
    edits = {"applied_edits": [{"type": context.CLEAR, "cleared_tool_uses": 3}]}
    got = context.applied(edits, [{"type": "compaction", "content": "s"}])
    assert got == [{"type": context.CLEAR, "cleared_tool_uses": 3}, {"type": context.COMPACT}]
    assert context.applied(None, [{"type": "text", "text": "x"}]) == []


def test_a_call_that_may_compact_reserves_the_compaction_too():
    plain = budget.worst_case("claude-sonnet-4-6", 40_000, 1000)
    compacting = budget.worst_case("claude-sonnet-4-6", 40_000, 1000, compaction=True)
    assert compacting["tokens"] == 2 * plain["tokens"]
    assert compacting["usd"] == pytest.approx(2 * plain["usd"])


CONTEXTS = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["compaction", "clear_tool_results", "other"]),
        st.one_of(
            st.just(False),
            st.just(True),
            st.dictionaries(
                st.sampled_from(["trigger_tokens", "keep", "clear_at_least", "ttl"]),
                st.one_of(
                    st.integers(-10, 2_000_000),
                    st.booleans(),
                    st.floats(allow_nan=False),
                    st.text(max_size=3),
                ),
                max_size=3,
            ),
        ),
        max_size=3,
    ),
)
SCHEMA = jsonschema_rs.validator_for(context.json_schema())


def _accepted(value) -> bool:
    try:
        context.validate(value)
    except UserError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(CONTEXTS.filter(lambda v: v is not None))
def test_the_documents_schema_and_the_check_give_the_same_verdict(value):
    assert SCHEMA.is_valid(value) == _accepted(value), value


def test_the_swarm_body_in_the_document_carries_the_context_schema():
    from cloudswarm.api.openapi import document

    jsonschema.Draft202012Validator.check_schema(context.json_schema())
    body = document()["components"]["schemas"]["SwarmCreate"]["properties"]["context"]
    assert context.json_schema() in body["anyOf"] and {"type": "null"} in body["anyOf"]
