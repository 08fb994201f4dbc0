"""Fail-closed spend: the worst case of a call is reserved before it is made."""

from __future__ import annotations

import datetime as dt

from cloudswarm.core import pricing

CALLS_PER_GRANT = 4  # worst-case calls one USD allowance covers


def today() -> str:
    """The day (UTC) the global daily USD cap counts against."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


def worst_case(model: str, request_bytes: int, max_tokens: int) -> dict:
    """Upper bounds for one call on every budget axis.

    A token is never shorter than one byte of the UTF-8 request, so the serialized request's
    length bounds its input tokens without a round trip to a token counter.
    """
    return {
        "usd": pricing.worst_case_cost(model, request_bytes, max_tokens),
        "tokens": request_bytes + max_tokens,
        "turns": 0,
    }


def chunk(budget: dict, need: dict, agents: int, daily_cap_usd: float) -> dict:
    """How much allowance to take at once: a share of the budget, so the swarm document (and the
    global daily-cap document) is written once every many calls rather than on every call, and
    never less than ``need``."""
    out = {}
    for axis in ("usd", "tokens", "turns"):
        cap = budget.get(axis)
        share = cap / (4 * max(agents, 1)) if cap else float("inf")
        if axis == "usd":
            # A few calls' worth at most: an allowance is reserved from the global daily cap
            # until its swarm ends, so a large one would starve other swarms of the cap.
            share = min(share, daily_cap_usd / 20, CALLS_PER_GRANT * need.get("usd", 0))
        elif axis == "turns":
            share = max(1, int(share)) if cap else 0
        out[axis] = max(need.get(axis, 0), share if share != float("inf") else 0)
    return out


def capped(need: dict, budget: dict) -> dict:
    """Only the axes something limits: USD always (the global daily cap), tokens and turns only
    when the swarm has a budget for them, so unlimited axes cost no writes at all."""
    return {a: v for a, v in need.items() if a == "usd" or budget.get(a) is not None}


def within_agent_budget(agent: dict, need: dict) -> str | None:
    """Why the agent's own budget refuses this call; None when it fits."""
    limits = agent.get("budget") or {}
    spent = agent.get("spent") or {}
    for axis in ("usd", "tokens", "turns"):
        cap = limits.get(axis)
        if cap is not None and spent.get(axis, 0) + need.get(axis, 0) > cap:
            return f"agent {axis} budget reached: {spent.get(axis, 0):g} of {cap:g}"
    return None


def past_wall_time(swarm: dict, now) -> str | None:
    """Why the swarm's wall-time budget refuses another call; None when time is left."""
    limit, started = (swarm.get("budget") or {}).get("wall_s"), swarm.get("created_at")
    if limit is None or started is None:
        return None
    used = (now - started).total_seconds()
    return f"swarm wall_s budget reached: {used:.0f}s of {limit:g}s" if used > limit else None
