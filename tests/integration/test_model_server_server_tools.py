"""Server tools on the local model server through the real SDK and the project's Claude client:
the definitions checked as the API checks them, the real block shapes streamed, pause_turn,
usage.server_tool_use counted, containers reused, and altered blocks refused."""

from __future__ import annotations

import copy
import json
import urllib.request

import anthropic
import pytest

from cloudswarm.core import prompt, server_tools
from cloudswarm.errors import PermanentError
from cloudswarm.llm.claude import Claude
from emulators.model_server import ModelServer

TOOLS = server_tools.validate(
    {"web_search": {"max_uses": 2}, "web_fetch": {"max_uses": 1}, "code_execution": {}}
)


@pytest.fixture(scope="module")
def server():
    srv = ModelServer(port=0, scenario="research").start()
    yield srv
    srv.stop()


@pytest.fixture
def claude(server):
    client = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
    return Claude(client=client, timeout_s=30, max_retries=0)


def stats(server) -> dict:
    with urllib.request.urlopen(server.url + "/_control/stats", timeout=10) as r:
        return json.loads(r.read())


def researcher_request(messages=None, tools=TOOLS, **extra) -> dict:
    turn = {"agent": "researcher", "role": "teammate", "swarm": "s", "inbox": [], "board": {}}
    text = f"<turn>{json.dumps(turn)}</turn>"
    opening = {"role": "user", "content": [{"type": "text", "text": text}]}
    return {
        **prompt.build_request(
            model="claude-sonnet-4-6",
            max_tokens=4000,
            system="You research.",
            tools=prompt.tools_for("teammate", tools),
            messages=messages or [opening],
        ),
        **extra,
    }


def never(*_):
    return False


def test_search_pauses_the_turn_and_the_continuation_fetches_computes_and_cites(server, claude):
    before = stats(server)["server_tool_use"]["web_search_requests"]
    first = claude.call(researcher_request(), never)
    assert first.stop_reason == "pause_turn"
    kinds = [b["type"] for b in first.content]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text"]
    hits = first.content[1]["content"]
    assert {"url", "title", "page_age", "encrypted_content"} <= set(hits[0])
    assert first.usage["web_search_requests"] == 1
    assert stats(server)["server_tool_use"]["web_search_requests"] == before + 1

    messages = [
        researcher_request()["messages"][0],
        {"role": "assistant", "content": first.content},
    ]
    second = claude.call(researcher_request(messages), never)
    kinds = [b["type"] for b in second.content]
    assert kinds[:4] == [
        "server_tool_use",
        "web_fetch_tool_result",
        "server_tool_use",
        "bash_code_execution_tool_result",
    ]
    code = second.content[3]["content"]
    assert code["return_code"] == 0 and "cloud-run" in code["stdout"] and code["stderr"] == ""
    assert second.content[1]["content"]["content"]["type"] == "document"
    cited = next(b for b in second.content if b["type"] == "text")["citations"]
    assert [c["url"] for c in cited] == [h["url"] for h in hits]
    assert second.container and second.container["id"].startswith("container_")
    assert second.usage["web_fetch_requests"] == 1 and second.stop_reason == "tool_use"

    # The container is reused while it lives.
    again = {"role": "assistant", "content": second.content}
    results = prompt.tool_results_message(
        [(b["id"], {"ok": True}, False) for b in second.content if b["type"] == "tool_use"]
    )
    third = claude.call(
        researcher_request([*messages, again, results], container=second.container["id"]), never
    )
    assert third.container["id"] == second.container["id"]


def test_a_server_block_altered_on_its_way_back_is_refused(claude):
    first = claude.call(researcher_request(), never)
    opening = researcher_request()["messages"][0]
    for tamper in ("encrypted_content", "url"):
        content = copy.deepcopy(first.content)
        content[1]["content"][0][tamper] = content[1]["content"][0][tamper] + "x"
        messages = [opening, {"role": "assistant", "content": content}]
        with pytest.raises(PermanentError, match="altered"):
            claude.call(researcher_request(messages), never)
    dropped = [b for b in first.content if b["type"] != "web_search_tool_result"]
    with pytest.raises(PermanentError, match="no result"):
        claude.call(researcher_request([opening, {"role": "assistant", "content": dropped}]), never)


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ({"type": "web_search_20250305", "name": "web_search", "max_uses": 0}, "max_uses"),
        (
            {
                "type": "web_search_20250305",
                "name": "web_search",
                "allowed_domains": ["a.org"],
                "blocked_domains": ["b.org"],
            },
            "both allowed_domains and blocked_domains",
        ),
        (
            {
                "type": "web_fetch_20250910",
                "name": "web_fetch",
                "allowed_domains": ["https://a.org"],
            },
            "scheme",
        ),
        ({"type": "code_execution_20250825", "name": "bash"}, "name"),
        ({"type": "code_execution_20250825", "name": "code_execution", "max_uses": 2}, "Extra"),
    ],
)
def test_server_tool_definitions_are_checked_as_the_api_does(claude, tool, message):
    request = researcher_request(tools={})
    request["tools"] = [*request["tools"], tool]
    with pytest.raises(PermanentError, match=message):
        claude.call(request, never)


def test_a_tool_the_request_does_not_define_is_never_run(server, claude):
    before = stats(server)["server_tool_use"]["web_search_requests"]
    answer = claude.call(researcher_request(tools={}), never)
    assert [b["type"] for b in answer.content] == ["text"] and answer.stop_reason == "end_turn"
    assert stats(server)["server_tool_use"]["web_search_requests"] == before
