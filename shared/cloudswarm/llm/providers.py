"""What each model provider supports, and the model id it serves a priced model under.

Read from providers.json. Kept free of the SDK so the API can check a swarm at start without
paying for the SDK's import: a swarm that needs a tool or a model its provider lacks is refused
then, with the provider and the feature named, instead of failing in the middle of a turn.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from cloudswarm.core import pricing
from cloudswarm.errors import UserError

PROVIDERS_FILE = Path(__file__).with_name("providers.json")


@cache
def _table() -> dict[str, dict]:
    return json.loads(PROVIDERS_FILE.read_text())["providers"]


def _spec(provider: str) -> dict:
    table = _table()
    if provider not in table:
        raise ValueError(f"unknown model provider {provider!r}: known are {', '.join(table)}")
    return table[provider]


def server_tools(provider: str) -> frozenset[str]:
    """The server tools (run on the provider's side) that ``provider`` offers."""
    return frozenset(_spec(provider)["server_tools"])


def model_id(provider: str, model: str) -> str:
    """The id ``provider`` serves ``model`` under; UserError when it does not serve it.

    Agents keep the price table's ids (``claude-sonnet-4-5``); the provider's own form is made
    only here. An id already in Vertex AI's form (``claude-sonnet-4-5@20250929``) is taken as it
    is, once its model is known to be priced.
    """
    spec = _spec(provider)
    canonical = pricing.canonical_model(model)  # UserError for an unpriced model
    ids = spec["model_ids"]
    if ids == "as-is":
        return model
    if "@" in model:
        return model
    if canonical not in ids:
        served = ", ".join(sorted(ids))
        raise UserError(
            f"model {model!r} is not available on {spec['label']} (provider {provider}): "
            f"choose one of {served}, or add its id to {PROVIDERS_FILE.name}",
            code="unsupported_by_provider",
        )
    return ids[canonical]


def refuse_unsupported(
    provider: str, *, models: Iterable[str] = (), server_tools_used: Iterable[str] = ()
) -> None:
    """Raise UserError naming the provider and the first model or server tool it lacks."""
    for model in models:
        model_id(provider, model)
    offered = server_tools(provider)
    for tool in server_tools_used:
        if tool not in offered:
            raise UserError(
                f"server tool {tool!r} is not available on {_spec(provider)['label']} "
                f"(provider {provider}); it offers {', '.join(sorted(offered)) or 'none'}",
                code="unsupported_by_provider",
            )
