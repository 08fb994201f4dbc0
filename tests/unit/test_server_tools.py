"""Server tools as data: a swarm's ``tools`` object is checked at start, a teammate is never
handed more than its spawner has, and the definitions a request carries come from one table."""

from __future__ import annotations

import datetime as dt
import json

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudswarm.core import budget, context, pricing, prompt, server_tools, turn
from cloudswarm.core.models import Usage
from cloudswarm.errors import UserError
from cloudswarm.llm.claude import ModelResponse
from tests.unit.test_turn import make, results_sent
from tests.unit.turn_fakes import FakeStore, ScriptedModel, answer, text, tool_use

FULL = {
    "web_search": {"max_uses": 2, "allowed_domains": ["example.org"]},
    "web_fetch": {"max_uses": 1},
    "code_execution": {},
}


@pytest.mark.parametrize(
    ("tools", "field"),
    [
        ({"shell": {}}, "tools.shell"),
        ({"web_search": {}}, "tools.web_search.max_uses"),
        ({"web_search": {"max_uses": 0}}, "tools.web_search.max_uses"),
        ({"web_search": {"max_uses": 51}}, "tools.web_search.max_uses"),
        ({"web_search": {"max_uses": True}}, "tools.web_search.max_uses"),
        ({"web_fetch": {"max_uses": 1, "allowed_domains": ["https://x.org"]}},
         "tools.web_fetch.allowed_domains.0"),
        ({"web_search": {"max_uses": 1, "allowed_domains": ["a.org"],
                         "blocked_domains": ["b.org"]}}, "tools.web_search.blocked_domains"),
        ({"code_execution": {"max_uses": 1}}, "tools.code_execution.max_uses"),
        ({"web_search": {"max_uses": 1, "user_location": {"type": "exact"}}},
         "tools.web_search.user_location.type"),
        ({"web_fetch": {"max_uses": 1, "citations": {"enabled": "yes"}}},
         "tools.web_fetch.citations"),
        ([], "tools"),
    ],
)  # fmt: skip
def test_a_bad_tools_object_is_refused_naming_the_field(tools, field):
    with pytest.raises(UserError) as e:
        server_tools.validate(tools)
    assert str(e.value).startswith(field + ":") and e.value.code == "invalid_tools"


def test_a_good_tools_object_is_normalized_and_defined_with_the_sdk_type_strings():
    tools = server_tools.validate(FULL)
    assert tools["web_fetch"]["max_content_tokens"] == server_tools.DEFAULT_CONTENT_TOKENS
    defs = server_tools.definitions(tools)
    assert [(d["type"], d["name"]) for d in defs] == [
        ("web_search_20250305", "web_search"),
        ("web_fetch_20250910", "web_fetch"),
        ("code_execution_20250825", "code_execution"),
    ]
    assert defs[0]["allowed_domains"] == ["example.org"] and server_tools.validate(None) == {}


# -- the document's schema says what the check says ------------------------------------------

LONG_HOST = ("a" * 63 + ".") * 3 + "org"  # 195 characters: the edge is a host of 253
DOMAINS = ["example.org", "a.b.example.org/docs/x?y=1", "EXAMPLE.ORG", "x.org/", "localhost",
           "http://x.org", "-a.org", "a-.org", "a.o", "a.org/ space", "a.org/é", "a.org\n",
           "a..org", "a.123", "b" * 57 + "." + LONG_HOST, "b" * 58 + "." + LONG_HOST,
           "b" * 57 + "." + LONG_HOST + "/p", "a" * 64 + ".org", ""]  # fmt: skip
# A valid object with at most one field changed to a value of any kind: each verdict turns on
# the one change, and about half the objects are valid.
ANY = st.one_of(
    st.integers(-2, 120_000),
    st.sampled_from([True, 2.0, 2.5, 1e20, None, "2", [], {}, "approximate", ["a.org"] * 101]),
    st.lists(st.one_of(st.sampled_from(DOMAINS), st.text(max_size=8)), max_size=2),
    st.dictionaries(
        st.sampled_from(["type", "city", "enabled", "street"]),
        st.one_of(st.just("approximate"), st.booleans(), st.text(max_size=3), st.just("x" * 101)),
        max_size=2,
    ),
)
DOMAIN_LIST = st.lists(
    st.one_of(
        st.sampled_from(DOMAINS[:4]),
        st.from_regex(r"[a-z]{1,5}\.(org|io)(/[!-~]{0,5})?", fullmatch=True),
    ),
    min_size=1,
    max_size=3,
)
VALID = {
    "max_uses": st.integers(1, server_tools.MAX_USES),
    "max_content_tokens": st.integers(1, server_tools.MAX_CONTENT_TOKENS),
    "allowed_domains": DOMAIN_LIST,
    "blocked_domains": DOMAIN_LIST,
    "user_location": st.fixed_dictionaries(
        {},
        optional={
            "type": st.just("approximate"),
            "city": st.text(min_size=1, max_size=100),
            "timezone": st.just("Europe/Paris"),
        },
    ),
    "citations": st.fixed_dictionaries({"enabled": st.booleans()}),
}

# Each option's edges: its bounds and the near misses of its kind.
NUMBER_EDGES = [0, 1, 50, 51, 2.0, 50.0, 51.0, 2.5, True, "2", -1, None, 100_000, 100_001]
DOMAIN_EDGES = [[d] for d in DOMAINS] + [[], ["a.org"] * 100, ["a.org"] * 101, "a.org", [1]]
EDGES = {
    "max_uses": NUMBER_EDGES,
    "max_content_tokens": NUMBER_EDGES,
    "allowed_domains": DOMAIN_EDGES,
    "blocked_domains": DOMAIN_EDGES,
    "user_location": [{}, {"type": "approximate", "city": "x" * 100}, {"type": "exact"},
                      {"city": ""}, {"city": "x" * 101}, {"street": "x"}, {"region": 1},
                      {"type": None}, "here"],
    "citations": [{"enabled": False}, {}, {"enabled": 1}, {"enabled": True, "x": 1}, True],
    "extra": [None, {}],
}  # fmt: skip
BASE = {"web_search": {"max_uses": 2}, "web_fetch": {"max_uses": 2}, "code_execution": {}}
EDGE_CASES = [
    {name: {**BASE[name], key: value}}
    for name in server_tools.TYPES
    for key, values in EDGES.items()
    for value in values
] + [
    {name: {k: v for k, v in BASE[name].items() if k != "max_uses"}} for name in BASE
] + [
    {"web_fetch": {"max_uses": 1, "allowed_domains": ["a.org"], "blocked_domains": ["b.org"]}},
    {"shell": {}}, {"web_search": []}, {"code_execution": None}, {}, [], "web_search",
]  # fmt: skip


def _valid(name: str):
    keys = server_tools.OPTIONS[name] - {"max_uses", "blocked_domains"}
    return st.fixed_dictionaries(
        {"max_uses": VALID["max_uses"]} if name in server_tools.BOUNDED else {},
        optional={k: VALID[k] for k in sorted(keys)},
    )


@st.composite
def tools_objects(draw):
    tools = draw(st.fixed_dictionaries({}, optional={n: _valid(n) for n in server_tools.TYPES}))
    for spec in tools.values():  # blocked instead of allowed, now and then (never both)
        if "allowed_domains" in spec and draw(st.booleans()):
            spec["blocked_domains"] = spec.pop("allowed_domains")
    change = draw(st.sampled_from(["none", "none", "option", "option", "tool", "spec", "top"]))
    if change == "option" and tools:
        name = draw(st.sampled_from(sorted(tools)))
        key = draw(st.sampled_from([*sorted(OPTION_NAMES), "extra"]))
        edges = st.sampled_from(EDGES[key])
        tools[name][key] = draw(st.one_of(VALID.get(key, edges), edges, ANY))
    elif change == "option":
        tools["web_fetch"] = {"max_uses": 1, "allowed_domains": [draw(st.sampled_from(DOMAINS))]}
    elif change == "tool":
        tools[draw(st.sampled_from(["shell", "bash", "web_search"]))] = draw(ANY)
    elif change == "spec" and tools:
        tools[draw(st.sampled_from(sorted(tools)))].pop("max_uses", None)
    elif change == "top":
        tools = draw(st.sampled_from([[], "web_search", 1]))
    return tools


OPTION_NAMES = set().union(*server_tools.OPTIONS.values())
TOOLS = tools_objects()


def _accepted(tools) -> bool:
    try:
        server_tools.validate(tools)
    except UserError:
        return False
    return True


@settings(max_examples=600, deadline=None)
@given(TOOLS)
def test_the_documents_schema_and_the_check_give_the_same_verdict(tools):
    """The OpenAPI document states the ``tools`` object's every constraint (schemathesis's
    positive data once found a tools object the document allowed and the check refused).
    Verdicts come from jsonschema_rs, the validator schemathesis itself uses: it reads the
    pattern as ECMA-262 does ("$" is the end of the text, not before a final newline)."""
    assert SCHEMA.is_valid(tools) == _accepted(tools), tools


SCHEMA = jsonschema_rs.validator_for(server_tools.json_schema())


@pytest.mark.parametrize("tools", EDGE_CASES)
def test_at_each_options_edges_the_schema_and_the_check_agree(tools):
    assert SCHEMA.is_valid(tools) == _accepted(tools)


def test_the_swarm_body_in_the_document_carries_the_tools_schema():
    from cloudswarm.api.openapi import document

    jsonschema.Draft202012Validator.check_schema(server_tools.json_schema())
    body = document()["components"]["schemas"]["SwarmCreate"]["properties"]["tools"]
    assert server_tools.json_schema() in body["anyOf"] and {"type": "null"} in body["anyOf"]


@pytest.mark.parametrize(
    ("child", "why"),
    [
        ({"web_search": {"max_uses": 3, "allowed_domains": ["example.org"]}}, "max_uses"),
        ({"web_search": {"max_uses": 1}}, "may only reach"),
        ({"web_search": {"max_uses": 1, "allowed_domains": ["other.org"]}}, "may only reach"),
        ({"web_fetch": {"max_uses": 1, "max_content_tokens": 50_000}}, "max_content_tokens"),
        ({"shell": {}}, "not enabled"),
    ],
)
def test_a_wider_set_is_named(child, why):
    assert why in server_tools.wider(child, server_tools.validate(FULL))


def test_a_subset_is_not_wider():
    parent = server_tools.validate(FULL)
    child = server_tools.validate(
        {"web_search": {"max_uses": 1, "allowed_domains": ["example.org"]}}
    )
    assert server_tools.wider(child, parent) is None and server_tools.wider({}, parent) is None
    blocked = server_tools.validate({"web_fetch": {"max_uses": 2, "blocked_domains": ["x.org"]}})
    assert "keep blocking" in server_tools.wider(
        server_tools.validate({"web_fetch": {"max_uses": 1}}), blocked
    )


def _spawn(store, args):
    model = ScriptedModel(answer(tool_use("spawn_agent", args)), answer(text("done")))
    d, _ = make(model, store)
    store.mail("lead", "go")
    turn.run_turn(d, "s1", "lead")
    return model, json.loads(results_sent(model.requests[1])[0]["content"])


def test_the_lead_has_the_swarms_tools_and_a_teammate_gets_at_most_that():
    store = FakeStore()
    store.swarm["tools"] = server_tools.validate(FULL)
    wide = {"name": "w", "instructions": "i", "tools": {"web_search": {"max_uses": 9}}}
    model, result = _spawn(store, wide)
    assert result["code"] == "forbidden" and "max_uses 9" in result["error"]
    assert "w" not in store.agents
    lead_tools = {t["name"]: t.get("type") for t in model.requests[0]["tools"]}
    assert lead_tools["web_search"] == "web_search_20250305" and "code_execution" in lead_tools


def test_a_teammate_spawned_with_a_subset_keeps_it_and_one_without_inherits():
    store = FakeStore()
    store.swarm["tools"] = server_tools.validate(FULL)
    narrow = {"web_search": {"max_uses": 1, "allowed_domains": ["example.org"]}}
    _spawn(store, {"name": "r", "instructions": "i", "tools": narrow})
    assert store.agents["r"]["tools"] == server_tools.validate(narrow)
    store2 = FakeStore()
    store2.swarm["tools"] = server_tools.validate(FULL)
    _spawn(store2, {"name": "r", "instructions": "i"})
    assert store2.agents["r"]["tools"] == store2.swarm["tools"]


def test_a_swarm_without_tools_hands_none_and_a_bad_tools_argument_is_an_error():
    store = FakeStore()
    _, result = _spawn(store, {"name": "r", "instructions": "i", "tools": {"web_fetch": {}}})
    assert "tools.web_fetch.max_uses" in result["error"] and "r" not in store.agents
    store = FakeStore()
    _, result = _spawn(store, {"name": "r", "instructions": "i", "tools": {"code_execution": {}}})
    assert result["code"] == "forbidden" and "r" not in store.agents


# -- the turn ------------------------------------------------------------------------------------

SEARCH_USE = {
    "type": "server_tool_use",
    "id": "srvtoolu_1",
    "name": "web_search",
    "input": {"query": "q"},
}
SEARCH_RESULT = {
    "type": "web_search_tool_result",
    "tool_use_id": "srvtoolu_1",
    "content": [
        {"type": "web_search_result", "url": "https://a.org/x", "title": "A", "page_age": None,
         "encrypted_content": "EnC0nt3nt=="}
    ],
}  # fmt: skip


def served(*blocks, stop="end_turn", searches=0, container=None) -> ModelResponse:
    return ModelResponse(
        id="msg_s",
        model="claude-sonnet-4-5",
        content=list(blocks),
        stop_reason=stop,
        usage={
            "input_tokens": 100,
            "output_tokens": 10,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "web_search_requests": searches,
            "web_fetch_requests": 0,
        },
        container=container,
    )


def research_store(**budget) -> FakeStore:
    store = FakeStore()
    store.swarm["tools"] = server_tools.validate(FULL)
    store.swarm["budget"] = budget
    return store


def test_pause_turn_continues_the_turn_sending_the_server_blocks_back_verbatim():
    store = research_store()
    paused = served(SEARCH_USE, SEARCH_RESULT, text("searching"), stop="pause_turn", searches=1)
    model = ScriptedModel(paused, answer(text("done")))
    d, _ = make(model, store)
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "done" and len(model.requests) == 2
    sent = model.requests[1]["messages"][-1]
    assert sent["role"] == "assistant" and sent["content"][:2] == [SEARCH_USE, SEARCH_RESULT]
    lead = store.agents["lead"]
    assert lead["usage"]["web_search_requests"] == 1
    per_search = pricing.server_tools_cost(Usage(web_search_requests=1), ran_code=False)
    assert per_search == pytest.approx(0.01) and lead["usage"]["cost_usd"] > per_search


def test_a_pause_at_the_turns_time_limit_is_continued_by_the_next_turn_not_lost():
    """The paused answer is saved, the turn rings itself at its time limit, and the next turn
    (no new mail) sends the conversation again, the paused answer last, as received."""

    def tick(request, should_abort):
        d.clock.t += 100

    store = research_store()
    paused = served(SEARCH_USE, SEARCH_RESULT, text("searching"), stop="pause_turn", searches=1)
    model = ScriptedModel(paused, answer(text("done")), on_call=tick)
    d, _ = make(model, store, turn_wall_s=50, lease_ttl_s=120)
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "continued" and d.bus.rings == ["lead"] and len(model.requests) == 1
    assert store.agents["lead"]["paused_answer"] is True
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "done" and len(model.requests) == 2
    sent = model.requests[1]["messages"][-1]
    assert sent["role"] == "assistant"
    assert _uncached(sent["content"]) == [SEARCH_USE, SEARCH_RESULT, text("searching")]
    assert store.agents["lead"]["paused_answer"] is False
    assert turn.run_turn(d, "s1", "lead").kind == "idle"  # and then it is over


def test_a_paused_answer_left_by_a_halted_turn_is_continued_when_the_swarm_resumes():
    store = research_store()
    paused = served(SEARCH_USE, SEARCH_RESULT, stop="pause_turn", searches=1)

    def pause_the_swarm(request, should_abort):
        store.swarm["status"] = "paused"  # the operator pauses while the model answers

    model = ScriptedModel(paused, on_call=pause_the_swarm)
    d, _ = make(model, store)
    store.mail("lead", "go")
    assert turn.run_turn(d, "s1", "lead").kind == "halted"
    assert store.agents["lead"]["resume_pending"] and store.agents["lead"]["paused_answer"]
    store.swarm["status"] = "running"
    model.on_call, model.answers = None, [answer(text("done"))]
    assert turn.run_turn(d, "s1", "lead").kind == "done"
    assert _uncached(model.requests[-1]["messages"][-1]["content"]) == [SEARCH_USE, SEARCH_RESULT]


def _uncached(blocks: list[dict]) -> list[dict]:
    """The blocks without the cache breakpoint the request puts on its last block."""
    return [{k: v for k, v in b.items() if k != "cache_control"} for b in blocks]


def test_the_container_is_kept_per_agent_reused_while_it_lives_and_dropped_when_expired():
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    store = research_store()
    model = ScriptedModel(
        served(text("ran"), container={"id": "container_1", "expires_at": later}),
        answer(text("again")),
    )
    d, _ = make(model, store)
    store.mail("lead", "go")
    turn.run_turn(d, "s1", "lead")
    assert store.agents["lead"]["container"]["id"] == "container_1"
    store.mail("lead", "more")
    turn.run_turn(d, "s1", "lead")
    assert "container" not in model.requests[0] and model.requests[1]["container"] == "container_1"
    gone = {"id": "container_1", "expires_at": dt.datetime.now(dt.UTC).isoformat()}
    assert "container" not in server_tools.with_container(
        model.requests[0], {"container": gone}, dt.datetime.now(dt.UTC)
    )


def _worst(tools) -> float:
    return budget.worst_case("claude-sonnet-4-5", 20_000, 1000, server=tools)["usd"]


def test_a_call_whose_searches_could_cross_the_budget_is_refused_before_it_is_made():
    tools = server_tools.validate(FULL)
    with_search, without = _worst(tools), _worst({})
    assert with_search >= without + 2 * 0.01  # two searches at their list price, at least
    store = research_store(usd=(with_search + without) / 2)
    model = ScriptedModel(answer(text("never")))
    d, _ = make(model, store)
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "halted" and "budget" in out.detail and model.requests == []


def _searching_store(max_uses: int, **budget) -> FakeStore:
    store = FakeStore()
    store.swarm["tools"] = server_tools.validate({"web_search": {"max_uses": max_uses}})
    store.swarm["budget"] = budget
    return store


def _first_request(max_uses: int) -> dict:
    """The request a lead with ``max_uses`` searches makes first (any budget lets it through)."""
    model = ScriptedModel(answer(text("done")))
    d, store = make(model, _searching_store(max_uses))
    store.mail("lead", "go")
    turn.run_turn(d, "s1", "lead")
    return model.requests[0]


def test_a_budget_allowing_two_searches_refuses_the_call_that_could_make_three():
    """The budget is exactly the worst case of the lead's first call with two searches (their
    price and their results as input): that call is made. The same swarm allowing three
    searches per call is refused before anything is sent, and so is a second call once the
    first has spent part of the budget; what is recorded stays within it."""
    two = server_tools.validate({"web_search": {"max_uses": 2}})
    request = _first_request(2)
    room = budget.worst_case(request["model"], prompt.request_bytes(request), 1000, server=two)
    per_search = pricing.server_tools_charge_bound(two) / 2
    assert per_search == pytest.approx(0.01)  # the price table's, at list price
    assert room["usd"] > 2 * per_search

    model = ScriptedModel(answer(text("never")))
    d, store = make(model, _searching_store(3, usd=room["usd"]))
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "halted" and "budget" in out.detail and model.requests == []
    assert store.swarm["status"] == "paused"

    searching = served(SEARCH_USE, SEARCH_RESULT, tool_use("list_tasks", {}), stop="tool_use",
                       searches=2)  # fmt: skip
    model = ScriptedModel(searching, answer(text("never")))
    d, store = make(model, _searching_store(2, usd=room["usd"]))
    store.mail("lead", "go")
    out = turn.run_turn(d, "s1", "lead")
    assert len(model.requests) == 1 and model.requests[0]["tools"] == request["tools"]
    assert out.kind == "halted" and "budget" in out.detail
    lead = store.agents["lead"]
    assert lead["usage"]["web_search_requests"] == 2
    assert 2 * per_search < lead["usage"]["cost_usd"] <= room["usd"]
    assert store.swarm["status"] == "paused"


def test_recorded_spend_with_searches_never_exceeds_the_budget():
    store = research_store(usd=0.5)
    search = tool_use("list_tasks", {})
    model = ScriptedModel(*[served(search, stop="tool_use", searches=2) for _ in range(60)])
    d, _ = make(model, store)
    store.mail("lead", "go")
    for _ in range(20):
        if turn.run_turn(d, "s1", "lead").kind == "halted":
            break
    lead = store.agents["lead"]
    assert lead["usage"]["web_search_requests"] >= 2
    assert lead["usage"]["cost_usd"] <= 0.5 and store.swarm["status"] == "paused"


def test_a_fold_never_parts_a_server_tools_use_from_its_result():
    def opening(i):
        return {"role": "user", "content": [text(f'<turn>{{"n": {i}}}</turn>')]}

    messages = []
    for i in range(30):
        messages += [opening(i), {"role": "assistant", "content": [SEARCH_USE, SEARCH_RESULT]}]
    cut = context.fold_point(messages, keep_bytes=len(json.dumps(messages[-7:])))
    kept = context.folded(messages, cut, [text("Searched.")])
    assert len(kept) < len(messages)
    for m in kept[1:]:
        if m["role"] == "assistant":
            assert m["content"] == [SEARCH_USE, SEARCH_RESULT]
    assert kept[0]["role"] == "user" and kept[1]["content"] == [SEARCH_USE, SEARCH_RESULT]


def test_every_option_a_swarm_may_give_is_a_field_of_a_tool_definition():
    # server_tools.definitions passes the validated options on as ToolDef fields.
    from cloudswarm.core.shapes import ToolDef

    fields = set(ToolDef.__annotations__)
    for name, options in server_tools.OPTIONS.items():
        assert options <= fields, (name, options - fields)


def test_a_definition_carries_every_validated_option():
    tools = server_tools.validate(
        {
            "web_search": {"max_uses": 3, "allowed_domains": ["example.com"]},
            "web_fetch": {"max_uses": 2, "citations": {"enabled": True}},
            "code_execution": {},
        }
    )
    by_name = {d["name"]: d for d in server_tools.definitions(tools)}
    assert by_name["web_search"] == {
        "type": server_tools.TYPES["web_search"],
        "name": "web_search",
        "max_uses": 3,
        "allowed_domains": ["example.com"],
    }
    assert by_name["web_fetch"]["citations"] == {"enabled": True}
    assert by_name["web_fetch"]["max_content_tokens"] == server_tools.DEFAULT_CONTENT_TOKENS
    assert by_name["code_execution"] == {
        "type": server_tools.TYPES["code_execution"],
        "name": "code_execution",
    }
