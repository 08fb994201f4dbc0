"""What model calls cost, from the list-price table in prices.json.

A call is priced at a tariff: the provider that serves it and the endpoint (Vertex AI's regional
endpoints cost more than its global one for recent models).

Two questions are answered here: what a finished call cost (from the usage the API reported),
and the most a call about to be made could cost, which the budget checks compare against what is
left so that spend never crosses a cap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Tariff:
    """Where calls are served, as far as their price is concerned."""

    provider: str = "anthropic"
    region: str = "global"


LIST_PRICE = Tariff()


@cache
def _providers() -> dict[str, dict[str, Any]]:
    raw = json.loads(PRICES_FILE.read_text())["providers"]
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def tariff(provider: str, region: str = "global") -> Tariff:
    """The tariff of ``provider`` at ``region``; ValueError for a provider with no prices."""
    if provider not in _providers():
        raise ValueError(
            f"no prices for model provider {provider!r} in {PRICES_FILE.name}: "
            f"priced providers are {', '.join(sorted(_providers()))}"
        )
    return Tariff(provider, region or "global")


def _markup(model: str, at: Tariff) -> float:
    spec = _providers()[at.provider]
    if at.region != "global" and model in spec.get("regional_premium_models", ()):
        return 1.0 + float(spec["regional_premium"])
    return 1.0


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


def accepted_ids() -> list[str]:
    """Every undated id a model is known by: the priced ids and their aliases."""
    return sorted(_table()[1])


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


def price(model: str, at: Tariff = LIST_PRICE) -> Price:
    """The price of ``model`` at a tariff (default: the list price); UserError naming the known
    models if it has none.

    Refusing an unpriced model is deliberate: a budget cannot be enforced on a call whose cost
    is unknown.
    """
    canonical = canonical_model(model)
    listed = _table()[0][canonical]
    factor = _markup(canonical, at)
    if factor == 1.0:
        return listed
    return Price(
        input=listed.input * factor,
        output=listed.output * factor,
        cache_write=listed.cache_write * factor,
        cache_read=listed.cache_read * factor,
    )


def cost(model: str, usage: Usage, at: Tariff = LIST_PRICE) -> float:
    """USD for a finished call. ``usage.cost_usd`` is ignored: it is what this computes.

    The API counts cache reads and writes apart from ``input_tokens``, so the four never overlap.
    """
    p = price(model, at)
    return (
        usage.input_tokens * p.input
        + usage.output_tokens * p.output
        + usage.cache_write_tokens * p.cache_write
        + usage.cache_read_tokens * p.cache_read
    ) / PER


def with_cost(model: str, usage: Usage, at: Tariff = LIST_PRICE) -> Usage:
    """``usage`` with ``cost_usd`` filled in."""
    return replace(usage, cost_usd=cost(model, usage, at))


def worst_case_cost(
    model: str, input_tokens_upper_bound: int, max_tokens: int, at: Tariff = LIST_PRICE
) -> float:
    """The most a call can cost: every input token at the cache-write price (the dearest an
    input token can be), and ``max_tokens`` of output. Checking this before a call, rather than
    an estimate, is what makes the budgets fail closed.
    """
    if input_tokens_upper_bound < 0 or max_tokens < 0:
        raise ValueError(
            f"token counts must not be negative: got {input_tokens_upper_bound}, {max_tokens}"
        )
    p = price(model, at)
    dearest_input = max(p.input, p.cache_write, p.cache_read)
    return (input_tokens_upper_bound * dearest_input + max_tokens * p.output) / PER


# -- server tools ------------------------------------------------------------------------------


@cache
def _server_prices() -> dict[str, Any]:
    return dict(json.loads(PRICES_FILE.read_text())["server_tools"])


def server_tools_input_bound(tools: Mapping[str, Any]) -> int:
    """The most input tokens a call's server tools can add to it: every search it allows with
    results of the table's bound, every fetch at its ``max_content_tokens``."""
    t = _server_prices()
    total = 0
    if "web_search" in tools:
        total += int(tools["web_search"]["max_uses"]) * int(
            t["web_search"]["result_tokens_per_use"]
        )
    if "web_fetch" in tools:
        fetch = tools["web_fetch"]
        total += int(fetch["max_uses"]) * int(fetch["max_content_tokens"])
    return total


def _code_execution_free(types: Iterable[str]) -> bool:
    return bool(set(types) & set(_server_prices()["code_execution"].get("free_with", ())))


def code_execution_charge(billed_s: float, types: Iterable[str] = ()) -> float:
    """Container time at list price; nothing alongside the tool versions the table says free."""
    ce = _server_prices()["code_execution"]
    if _code_execution_free(types):
        return 0.0
    return float(ce["usd_per_hour"]) * max(billed_s, float(ce["min_billed_s"])) / 3600


def server_tools_charge_bound(tools: Mapping[str, Any], types: Iterable[str] = ()) -> float:
    """The most a call's server tools can charge beyond tokens: ``max_uses`` searches and
    fetches at their price per use, and the longest container time one call can hold."""
    t = _server_prices()
    usd = 0.0
    for name in ("web_search", "web_fetch"):
        if name in tools:
            usd += int(tools[name]["max_uses"]) * float(t[name]["usd_per_use"])
    if "code_execution" in tools:
        usd += code_execution_charge(float(t["code_execution"]["worst_case_s"]), types)
    return usd


def server_tools_cost(usage: Usage, ran_code: bool, types: Iterable[str] = ()) -> float:
    """What a finished call's server tools charged beyond tokens: the searches and fetches the
    API counted (``usage.server_tool_use``), and a container's minimum billed time when the call
    ran code (the API reports no container time per call, so its minimum is charged)."""
    t = _server_prices()
    usd = usage.web_search_requests * float(t["web_search"]["usd_per_use"])
    usd += usage.web_fetch_requests * float(t["web_fetch"]["usd_per_use"])
    if ran_code:
        usd += code_execution_charge(0.0, types)
    return usd
