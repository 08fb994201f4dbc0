"""The price table and what calls cost: worked examples, id matching, and the fail-closed bound."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudswarm.core import pricing
from cloudswarm.core.models import Usage
from cloudswarm.errors import UserError

# Published list prices (input, output) per million tokens: the spec for prices.json.
LIST = {
    "claude-opus-4-5": (5, 25),
    "claude-opus-4-1": (15, 75),
    "claude-opus-4": (15, 75),
    "claude-sonnet-4-5": (3, 15),
    "claude-sonnet-4": (3, 15),
    "claude-haiku-4-5": (1, 5),
    "claude-3-5-haiku": (0.8, 4),
    "claude-opus-4-7": (5, 25),
    "claude-opus-4-6": (5, 25),
    "claude-sonnet-4-6": (3, 15),
}


def test_the_table_holds_the_list_prices():
    assert set(pricing.known_models()) == set(LIST)
    for model, (inp, out) in LIST.items():
        p = pricing.price(model)
        assert (p.input, p.output) == (inp, out), model
        assert p.cache_write == pytest.approx(1.25 * inp), model
        assert p.cache_read == pytest.approx(0.1 * inp), model


def test_worked_example():
    usage = Usage(input_tokens=1000, output_tokens=500, cache_read_tokens=20000,
                  cache_write_tokens=4000, cost_usd=99.0)  # fmt: skip
    # 1000*3 + 500*15 + 4000*3.75 + 20000*0.3 = 31500 per million
    assert pricing.cost("claude-sonnet-4-5", usage) == pytest.approx(0.0315)
    priced = pricing.with_cost("claude-sonnet-4-5", usage)
    assert priced.cost_usd == pytest.approx(0.0315)
    assert priced.input_tokens == 1000 and priced.cache_read_tokens == 20000


@pytest.mark.parametrize(
    ("field", "model", "usd"),
    [
        ("input_tokens", "claude-opus-4-5", 5.0),
        ("output_tokens", "claude-opus-4-1", 75.0),
        ("cache_write_tokens", "claude-haiku-4-5", 1.25),
        ("cache_read_tokens", "claude-3-5-haiku", 0.08),
    ],
)
def test_a_million_tokens_of_each_kind(field, model, usd):
    assert pricing.cost(model, Usage(**{field: 1_000_000})) == pytest.approx(usd)


def test_nothing_costs_nothing():
    assert pricing.cost("claude-haiku-4-5", Usage()) == 0


@pytest.mark.parametrize(
    ("model_id", "canonical"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-4-0", "claude-opus-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
    ],
)
def test_model_ids(model_id, canonical):
    assert pricing.canonical_model(model_id) == canonical


@pytest.mark.parametrize(
    "model_id",
    [
        "gpt-4o",
        "",
        "claude-sonnet",
        "claude-opus-4-9",  # must not fall back to claude-opus-4 by prefix
        "claude-sonnet-4-5-2025",  # not a full date
        "claude-sonnet-4-5-20250929-v1",
        "CLAUDE-SONNET-4-5",
        "claude-sonnet-4-5 ",
        "claude-sonnet-4-5-latest",
    ],
)
def test_unknown_models_are_refused_naming_the_known_ones(model_id):
    with pytest.raises(UserError) as info:
        pricing.cost(model_id, Usage(input_tokens=1))
    message = str(info.value)
    assert message.startswith(f"unknown model {model_id!r}: known models are claude-3-5-haiku, ")
    for known in LIST:
        assert known in message
    assert info.value.code == "unknown_model"
    with pytest.raises(UserError):
        pricing.worst_case_cost(model_id, 1, 1)


def test_worst_case_prices_all_input_as_cache_writes():
    # 10000 * 6.25 + 4096 * 25 = 164900 per million
    assert pricing.worst_case_cost("claude-opus-4-5", 10_000, 4096) == pytest.approx(0.1649)
    assert pricing.worst_case_cost("claude-opus-4-5", 0, 0) == 0


def test_worst_case_refuses_negative_counts():
    with pytest.raises(ValueError, match="must not be negative"):
        pricing.worst_case_cost("claude-opus-4-5", -1, 10)
    with pytest.raises(ValueError, match="must not be negative"):
        pricing.worst_case_cost("claude-opus-4-5", 1, -10)


token_counts = st.integers(0, 2_000_000)


@given(
    st.sampled_from(sorted(LIST)),
    token_counts,
    token_counts,
    token_counts,
    token_counts,
)
def test_the_worst_case_bounds_every_real_call(model, fresh, written, read, output):
    """However the API splits a prompt between fresh input and cache, the call costs no more
    than the bound computed from the prompt's size and max_tokens."""
    actual = pricing.cost(model, Usage(fresh, output, read, written))
    bound = pricing.worst_case_cost(model, fresh + written + read, output)
    assert actual <= bound * (1 + 1e-12)


@given(
    st.sampled_from(sorted(LIST)),
    st.tuples(token_counts, token_counts, token_counts, token_counts),
    st.tuples(token_counts, token_counts, token_counts, token_counts),
)
def test_cost_is_additive(model, a, b):
    ua, ub = Usage(*a), Usage(*b)
    assert pricing.cost(model, ua + ub) == pytest.approx(
        pricing.cost(model, ua) + pricing.cost(model, ub)
    )


# --- tariffs: what each provider charges ----------------------------------------------------


def test_every_provider_names_its_source_and_the_day_it_was_checked():
    for provider, spec in pricing._providers().items():
        assert spec["source"].startswith("https://"), provider
        assert len(spec["checked"]) == len("2026-12-01"), provider
        assert set(spec["regional_premium_models"]) <= set(pricing.known_models()), provider


def test_anthropic_and_the_vertex_global_endpoint_charge_the_list_price():
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    listed = pricing.cost("claude-sonnet-4-5", usage)
    assert pricing.cost("claude-sonnet-4-5", usage, pricing.tariff("anthropic")) == listed
    assert pricing.cost("claude-sonnet-4-5", usage, pricing.tariff("vertex", "global")) == listed


def test_a_vertex_regional_endpoint_costs_ten_percent_more_for_recent_models_only():
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_tokens=1_000_000)
    regional = pricing.tariff("vertex", "us-east5")
    assert pricing.cost("claude-sonnet-4-5@20250929", usage, regional) == pytest.approx(
        1.1 * pricing.cost("claude-sonnet-4-5", usage)
    )
    # Older models keep their price on every endpoint.
    assert pricing.cost("claude-sonnet-4", usage, regional) == pricing.cost(
        "claude-sonnet-4", usage
    )
    # The worst case follows the tariff, so a budget holds at the dearer price too.
    assert pricing.worst_case_cost("claude-haiku-4-5", 1000, 100, regional) == pytest.approx(
        1.1 * pricing.worst_case_cost("claude-haiku-4-5", 1000, 100)
    )


def test_an_unpriced_provider_is_refused_naming_the_priced_ones():
    with pytest.raises(ValueError, match="anthropic, vertex"):
        pricing.tariff("bedrock")
