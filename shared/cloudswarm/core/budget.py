"""Fail-closed spend: the worst case of a call is reserved before it is made."""

from __future__ import annotations

from cloudswarm.core import pricing


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


def chunk(budget: dict, need: dict, agents: int) -> dict:
    """How much allowance to take at once: a share of the budget, so the swarm document is
    written once every few calls rather than on every call, and never less than ``need``."""
    out = {}
    for axis in ("usd", "tokens", "turns"):
        cap = budget.get(axis)
        share = (cap / (4 * max(agents, 1))) if cap else 0
        out[axis] = max(need.get(axis, 0), share if axis != "turns" else max(1, int(share)))
    return out


def within_agent_budget(agent: dict, need: dict) -> str | None:
    """Why the agent's own budget refuses this call; None when it fits."""
    limits = agent.get("budget") or {}
    spent = agent.get("spent") or {}
    for axis in ("usd", "tokens", "turns"):
        cap = limits.get(axis)
        if cap is not None and spent.get(axis, 0) + need.get(axis, 0) > cap:
            return f"agent {axis} budget reached: {spent.get(axis, 0):g} of {cap:g}"
    return None
