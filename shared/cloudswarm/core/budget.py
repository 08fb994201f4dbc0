"""Fail-closed spend: the worst case of a call is reserved before it is made."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from cloudswarm.core import pricing, server_tools, shards
from cloudswarm.core.shapes import JSON, SwarmDoc

CALLS_PER_GRANT = 4  # worst-case calls one USD allowance covers
FIRST_CALL_BYTES = 12_000  # a bound on a new agent's first request without its instructions


def today() -> str:
    """The day (UTC) the global daily USD cap counts against."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


def worst_case(
    model: str,
    request_bytes: int,
    max_tokens: int,
    at: pricing.Tariff = pricing.LIST_PRICE,
    server: Mapping[str, JSON] | None = None,
    compaction: bool = False,
) -> dict[str, float]:
    """Upper bounds for one call on every budget axis.

    A token is never shorter than one byte of the UTF-8 request, so the serialized request's
    length bounds its input tokens without a round trip to a token counter. The ``server`` tools
    the call may use add what they can bring in (results, fetched pages) and charge (searches,
    container time): every use ``max_uses`` allows. A call that may be ``compaction``'s doubles
    both: the API reads the whole context once more to write the summary (at most ``max_tokens``
    of it), then the answer reads what is left (core/context.py).
    """
    tools = server or {}
    input_bound = request_bytes + pricing.server_tools_input_bound(tools)
    output_bound = max_tokens
    if compaction:
        input_bound, output_bound = 2 * input_bound, 2 * max_tokens
    return {
        "usd": pricing.worst_case_cost(model, input_bound, output_bound, at)
        + pricing.server_tools_charge_bound(tools, [server_tools.TYPES[n] for n in tools]),
        "tokens": input_bound + output_bound,
        "turns": 0,
    }


def chunk(
    budget: Mapping[str, float | None], need: dict[str, float], agents: int, daily_cap_usd: float
) -> dict[str, float]:
    """How much allowance to take at once: a share of the budget, so the swarm document (and the
    global daily-cap document) is written once every many calls rather than on every call, and
    never less than ``need``."""
    out: dict[str, float] = {}
    for axis in ("usd", "tokens", "turns"):
        cap = budget.get(axis)
        share = cap / (4 * max(agents, 1)) if cap else float("inf")
        if axis == "usd":
            # A few calls' worth at most: an allowance is reserved from the global daily cap
            # until its swarm ends, so a large one would starve other swarms of the cap. And at
            # most half a daily-cap shard, so a grant draws from one shard (two at worst) rather
            # than several: grants of agents woken together (a kill switch released) that
            # spanned shards met each other's locks until their transactions gave up.
            share = min(
                share,
                daily_cap_usd / (2 * shards.DAY_SHARDS),
                CALLS_PER_GRANT * need.get("usd", 0),
            )
        elif axis == "turns":
            share = max(1, int(share)) if cap else 0
        out[axis] = max(need.get(axis, 0), share if share != float("inf") else 0)
    return out


def capped(need: dict[str, float], budget: Mapping[str, float | None]) -> dict[str, float]:
    """Only the axes something limits: USD always (the global daily cap), tokens and turns only
    when the swarm has a budget for them, so unlimited axes cost no writes at all."""
    return {a: v for a, v in need.items() if a == "usd" or budget.get(a) is not None}


def past_wall_time(swarm: SwarmDoc, now: dt.datetime) -> str | None:
    """Why the swarm's wall-time budget refuses another call; None when time is left."""
    limit, started = (swarm.get("budget") or {}).get("wall_s"), swarm.get("created_at")
    if limit is None or started is None:
        return None
    used = (now - started).total_seconds()
    return f"swarm wall_s budget reached: {used:.0f}s of {limit:g}s" if used > limit else None
