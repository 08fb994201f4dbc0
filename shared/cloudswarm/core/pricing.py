"""What model calls cost, from the list-price table in prices.json.

Two questions are answered here: what a finished call cost (from the usage the API reported),
and the most a call about to be made could cost, which the budget checks compare against what is
left so that spend never crosses a cap.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from cloudswarm.core.models import Usage
from cloudswarm.errors import UserError

PRICES_FILE = Path(__file__).with_name("prices.json")
PER = 1_000_000  # prices are per million tokens
# A dated snapshot id: "claude-sonnet-4-5-20250929", or Vertex AI's "claude-sonnet-4-5@20250929".
_DATED = re.compile(r"^(?P<base>.+)[-@]\d{8}$")


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float  # the 5-minute cache write, the price this project's caching uses
    cache_read: float


@cache
def _table() -> tuple[dict[str, Price], dict[str, str]]:
    """(price per model, model per accepted id), read once per process."""
    raw = json.loads(PRICES_FILE.read_text())["models"]
    prices: dict[str, Price] = {}
    ids: dict[str, str] = {}
    for model, row in raw.items():
        prices[model] = Price(
            input=float(row["input"]),
            output=float(row["output"]),
            cache_write=float(row["cache_write"]),
            cache_read=float(row["cache_read"]),
        )
        for alias in (model, *row.get("aliases", ())):
            if alias in ids:
                raise ValueError(f"{PRICES_FILE}: id {alias} is listed twice")
            ids[alias] = model
    return prices, ids


def known_models() -> list[str]:
    """The priced models, by their undated ids."""
    return sorted(_table()[0])


def canonical_model(model: str) -> str:
    """The price-table id for ``model``: itself, an alias's model, or a dated id's base.

    Only an exact id or an eight-digit date suffix is accepted, never a prefix match, so
    claude-opus-4-1 can never be priced as claude-opus-4.
    """
    _, ids = _table()
    if model in ids:
        return ids[model]
    dated = _DATED.match(model)
    if dated and dated["base"] in ids:
        return ids[dated["base"]]
    raise UserError(
        f"unknown model {model!r}: known models are {', '.join(known_models())} "
        "(a dated id such as claude-sonnet-4-5-20250929 works too)",
        code="unknown_model",
    )


def price(model: str) -> Price:
    """The list price of ``model``; UserError naming the known models if it has none.

    Refusing an unpriced model is deliberate: a budget cannot be enforced on a call whose cost
    is unknown.
    """
    return _table()[0][canonical_model(model)]


def cost(model: str, usage: Usage) -> float:
    """USD for a finished call. ``usage.cost_usd`` is ignored: it is what this computes.

    The API counts cache reads and writes apart from ``input_tokens``, so the four never overlap.
    """
    p = price(model)
    return (
        usage.input_tokens * p.input
        + usage.output_tokens * p.output
        + usage.cache_write_tokens * p.cache_write
        + usage.cache_read_tokens * p.cache_read
    ) / PER


def with_cost(model: str, usage: Usage) -> Usage:
    """``usage`` with ``cost_usd`` filled in."""
    return replace(usage, cost_usd=cost(model, usage))


def worst_case_cost(model: str, input_tokens_upper_bound: int, max_tokens: int) -> float:
    """The most a call can cost: every input token at the cache-write price (the dearest an
    input token can be), and ``max_tokens`` of output. Checking this before a call, rather than
    an estimate, is what makes the budgets fail closed.
    """
    if input_tokens_upper_bound < 0 or max_tokens < 0:
        raise ValueError(
            f"token counts must not be negative: got {input_tokens_upper_bound}, {max_tokens}"
        )
    p = price(model)
    dearest_input = max(p.input, p.cache_write, p.cache_read)
    return (input_tokens_upper_bound * dearest_input + max_tokens * p.output) / PER
