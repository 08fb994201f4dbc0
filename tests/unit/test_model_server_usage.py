"""Token counting and prompt-cache accounting, with a hand-driven clock."""

from __future__ import annotations

import pytest

from emulators.model_server.usage import PromptCache, count_input_tokens

CC = {"type": "ephemeral"}
LONG = "The stable part of the prompt. " * 200  # ~1550 tokens at 4 chars a token
MODEL = "claude-sonnet-4-5"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def body(*messages: str, system: str = LONG, cached: bool = True, last_cached: bool = False):
    sys_block = {"type": "text", "text": system, **({"cache_control": CC} if cached else {})}
    msgs = []
    for i, text in enumerate(messages):
        block = {"type": "text", "text": text}
        if last_cached and i == len(messages) - 1:
            block["cache_control"] = CC
        msgs.append({"role": "user" if i % 2 == 0 else "assistant", "content": [block]})
    return {"model": MODEL, "max_tokens": 10, "system": [sys_block], "messages": msgs}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock) -> PromptCache:
    return PromptCache(min_tokens=1024, clock=clock)


def test_counting_is_deterministic_and_string_content_counts_like_a_text_block():
    a = {"messages": [{"role": "user", "content": "hello there"}]}
    b = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hello there"}]}]}
    assert count_input_tokens(a) == count_input_tokens(b) > 0
    assert count_input_tokens(body("x" * 4000)) > count_input_tokens(body("x"))


def test_first_call_writes_the_prefix_and_the_second_reads_it(cache):
    first = cache.account(MODEL, body("question one"))
    total = first.input_tokens + first.cache_creation_input_tokens
    assert first.cache_read_input_tokens == 0
    assert first.cache_creation_input_tokens >= 1024
    assert first.input_tokens > 0  # the uncached message after the breakpoint
    second = cache.account(MODEL, body("another question"))
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens + second.cache_read_input_tokens <= total + 5


def test_a_prefix_below_the_minimum_is_not_cached(cache):
    for _ in range(2):
        usage = cache.account(MODEL, body("q", system="short system prompt"))
        assert usage.cache_creation_input_tokens == usage.cache_read_input_tokens == 0


def test_the_minimum_is_configurable_per_model(cache):
    cache.min_tokens_by_model["claude-haiku-4-5"] = 4096
    assert cache.account("claude-haiku-4-5", body("q")).cache_creation_input_tokens == 0
    assert cache.account(MODEL, body("q")).cache_creation_input_tokens > 0


def test_entries_expire_after_five_minutes_and_reads_refresh_them(cache, clock):
    cache.account(MODEL, body("q"))
    clock.now += 299
    assert cache.account(MODEL, body("q")).cache_read_input_tokens > 0  # refreshed here
    clock.now += 299
    assert cache.account(MODEL, body("q")).cache_read_input_tokens > 0
    clock.now += 301
    again = cache.account(MODEL, body("q"))
    assert again.cache_read_input_tokens == 0 and again.cache_creation_input_tokens > 0


def test_a_one_hour_breakpoint_lives_an_hour_and_is_reported_apart(cache, clock):
    b = body("q")
    b["system"][0]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    first = cache.account(MODEL, b)
    assert first.cache_creation_1h == first.cache_creation_input_tokens > 0
    assert first.as_usage(5)["cache_creation"]["ephemeral_1h_input_tokens"] > 0
    clock.now += 3000
    assert cache.account(MODEL, b).cache_read_input_tokens > 0


def test_caches_are_per_model(cache):
    cache.account(MODEL, body("q"))
    assert cache.account("claude-opus-4-5", body("q")).cache_read_input_tokens == 0


def test_a_growing_conversation_reads_what_its_previous_call_wrote(cache):
    history = ["first question " * 50, "an answer " * 50, "a follow-up " * 50]
    first = cache.account(MODEL, body(*history, last_cached=True))
    grown = cache.account(MODEL, body(*history, "answer two " * 50, "q3", last_cached=True))
    assert grown.cache_read_input_tokens == first.cache_creation_input_tokens
    assert grown.cache_creation_input_tokens > 0  # the two new blocks
    assert grown.input_tokens == 0  # everything up to the breakpoint is cached


def test_a_changed_prefix_misses(cache):
    cache.account(MODEL, body("q"))
    usage = cache.account(MODEL, body("q", system=LONG + " changed"))
    assert usage.cache_read_input_tokens == 0 and usage.cache_creation_input_tokens > 0


def test_without_breakpoints_nothing_is_cached(cache):
    for _ in range(2):
        usage = cache.account(MODEL, body("q", cached=False))
        assert usage.cache_creation_input_tokens == usage.cache_read_input_tokens == 0


def test_top_level_cache_control_marks_the_last_block(cache):
    b = body("q" * 5000, cached=False)
    b["cache_control"] = CC
    assert cache.account(MODEL, b).cache_creation_input_tokens > 0
    assert cache.account(MODEL, b).cache_read_input_tokens > 0


def test_clear_forgets_everything(cache):
    cache.account(MODEL, body("q"))
    cache.clear()
    assert cache.account(MODEL, body("q")).cache_read_input_tokens == 0
