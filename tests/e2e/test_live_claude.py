"""A smoke test against the real Anthropic API. Opt-in only: it spends money.

Runs when ANTHROPIC_API_KEY is set and CLOUDSWARM_LIVE_TESTS=1; the model is
CLOUDSWARM_LIVE_MODEL (default claude-haiku-4-5).
"""

from __future__ import annotations

import os

import pytest

from cloudswarm.core import prompt
from cloudswarm.llm.claude import Claude

LIVE = bool(os.environ.get("ANTHROPIC_API_KEY")) and os.environ.get("CLOUDSWARM_LIVE_TESTS") == "1"
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not LIVE, reason="opt-in: set ANTHROPIC_API_KEY and CLOUDSWARM_LIVE_TESTS=1"
    ),
]


def test_real_claude_answers_a_turn_request_with_a_tool_call():
    model = os.environ.get("CLOUDSWARM_LIVE_MODEL", "claude-haiku-4-5")
    agent = {"id": "worker", "role": "teammate", "instructions": "Check your tasks first."}
    request = prompt.build_request(
        model=model,
        max_tokens=512,
        system=prompt.system_prompt(agent, "Smoke-test the platform."),
        tools=prompt.tools_for("teammate"),
        messages=[prompt.turn_message(agent, "s-live", [], {"mine": [], "ready": []})],
    )
    client = Claude(os.environ["ANTHROPIC_API_KEY"], timeout_s=60, max_retries=2)
    answer = client.call(request, should_abort=lambda: False)
    assert answer.stop_reason in ("tool_use", "end_turn")
    assert answer.usage["input_tokens"] + answer.usage["cache_write_tokens"] > 0
    assert answer.usage["output_tokens"] > 0
    names = {b["name"] for b in answer.content if b["type"] == "tool_use"}
    assert names <= {t["name"] for t in prompt.tools_for("teammate")}
