"""The provider-capability table: model ids per provider, and what a swarm is refused at start."""

from __future__ import annotations

import pytest

from cloudswarm.core import pricing
from cloudswarm.errors import UserError
from cloudswarm.llm import providers
from cloudswarm.settings import MODEL_PROVIDERS


def test_every_settings_provider_has_capabilities_and_prices():
    for provider in MODEL_PROVIDERS:
        assert providers.server_tools(provider) is not None
        assert pricing.tariff(provider).provider == provider


def test_vertex_serves_every_priced_model_under_its_own_id():
    for model in pricing.known_models():
        vertex_id = providers.model_id("vertex", model)
        # Its own id prices as the same model, so budgets hold on Vertex too.
        assert pricing.canonical_model(vertex_id) == model


@pytest.mark.parametrize(
    ("model", "vertex_id"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5@20250929"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5@20250929"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5@20250929"),
        ("claude-haiku-4-5", "claude-haiku-4-5@20251001"),
        ("claude-opus-4-0", "claude-opus-4@20250514"),
        ("claude-sonnet-4-6", "claude-sonnet-4-6"),
    ],
)
def test_model_ids_on_vertex(model, vertex_id):
    assert providers.model_id("vertex", model) == vertex_id


def test_anthropic_takes_the_ids_as_they_are():
    assert providers.model_id("anthropic", "claude-sonnet-4-5-20250929") == (
        "claude-sonnet-4-5-20250929"
    )


def test_an_unpriced_model_is_refused_on_every_provider():
    for provider in MODEL_PROVIDERS:
        with pytest.raises(UserError) as info:
            providers.model_id(provider, "claude-unknown-9")
        assert info.value.code == "unknown_model"


def test_a_server_tool_vertex_lacks_is_refused_naming_provider_and_tool():
    providers.refuse_unsupported("vertex", server_tools_used=["web_search"])
    with pytest.raises(UserError) as info:
        providers.refuse_unsupported(
            "vertex", models=["claude-sonnet-4-6"], server_tools_used=["web_search", "web_fetch"]
        )
    assert info.value.code == "unsupported_by_provider"
    message = str(info.value)
    assert "web_fetch" in message and "vertex" in message and "Vertex AI" in message
    providers.refuse_unsupported("anthropic", server_tools_used=["web_fetch", "code_execution"])


def test_a_model_without_a_vertex_id_is_refused_at_start(monkeypatch):
    table = providers._table()
    trimmed = {k: v for k, v in table["vertex"]["model_ids"].items() if k != "claude-3-5-haiku"}
    monkeypatch.setitem(table, "vertex", {**table["vertex"], "model_ids": trimmed})
    with pytest.raises(UserError, match="not available on Claude on Vertex AI") as info:
        providers.refuse_unsupported("vertex", models=["claude-3-5-haiku"])
    assert info.value.code == "unsupported_by_provider"
    providers.refuse_unsupported("anthropic", models=["claude-3-5-haiku"])
