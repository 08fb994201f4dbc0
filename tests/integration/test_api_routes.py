"""Every route of the API through the real HTTP function on the local stack, every role
boundary, and revocation of tokens and keys."""

from __future__ import annotations

import json
import time

import pytest
from google.cloud import firestore

from cloudswarm import runtime
from cloudswarm.api import webhooks
from cloudswarm.api.openapi import document
from cloudswarm.api.routes import ROUTE_TABLE
from cloudswarm.api.routing import ROLES
from cloudswarm.core import board as board_rules
from cloudswarm.core import budget, team
from cloudswarm.gcp.journal import Journal, Workspace
from tests.integration.test_api_fixtures import Api, error_of, functions, new_key, webhook_config

HOOK_SECRET = "deploy-hook-secret-0123456789"
WEBHOOKS = webhook_config(
    deploy={"secret": HOOK_SECRET, "template": "Deploy {service} at {ref}", "budget": {"usd": 1}}
)


@pytest.fixture(scope="module")
def api(stack) -> Api:
    with functions(stack, ["api"], {"CLOUDSWARM_WEBHOOK_SECRETS": WEBHOOKS}) as fns:
        yield Api(fns["api"].url)


@pytest.fixture(scope="module")
def keys(project) -> dict[str, tuple[str, str]]:
    """role -> (key id, key)"""
    return {role: new_key(project, role) for role in ROLES}


@pytest.fixture(scope="module")
def tok(api, keys) -> dict[str, str]:
    """role -> a fresh token"""
    runtime.store().set_kill_switch(engaged=False, reason="test setup", actor="tests")
    return {role: api.token(key) for role, (_, key) in keys.items()}


def _ok(resp, status=200):
    assert resp.status_code == status, f"{resp.status_code}: {resp.text}"
    return (
        resp.json() if resp.headers.get("Content-Type", "").startswith("application/json") else resp
    )


def _swarm(api, tok, goal="write a haiku", **kw) -> str:
    body = {"goal": goal, **kw}
    return _ok(api.request("POST", "/api/swarms", tok["operator"], json=body), 201)["swarm_id"]


def test_every_route_through_one_swarm_lifecycle(api, tok, keys, project):
    viewer, operator, admin = tok["viewer"], tok["operator"], tok["admin"]

    # -- meta and auth --------------------------------------------------------------------------
    assert _ok(api.request("GET", "/api/health"))["status"] == "ok"
    served = _ok(api.request("GET", "/api/openapi.json"))
    assert served == json.loads(json.dumps(document()))
    fb = _ok(api.request("POST", "/api/auth/firebase-token", viewer))
    assert fb["emulator"] is True and fb["project_id"] == project
    assert fb["mock_user_token"]["role"] == "viewer" and fb["mock_user_token"]["sub"] == fb["uid"]

    # -- swarms ---------------------------------------------------------------------------------
    sid = _swarm(api, tok, budget={"usd": 2, "turns": 50}, model="claude-haiku-4-5")
    swarm = _ok(api.request("GET", f"/api/swarms/{sid}", viewer))
    assert swarm["status"] == "running" and swarm["budget"]["usd"] == 2
    assert swarm["created_by"].endswith(f"#{keys['operator'][0]}")
    others = [_swarm(api, tok, goal=f"other {i}") for i in range(2)]
    listed, token = [], None
    while True:
        page = _ok(
            api.request(
                "GET",
                "/api/swarms",
                viewer,
                params={"limit": 1, **({"page_token": token} if token else {})},
            )
        )
        listed += [s["id"] for s in page["swarms"]]
        # A page sums no budget shards: it shows no stale granted of the documents either.
        assert not any("granted" in s or "granted_day" in s for s in page["swarms"])
        token = page["next_page_token"]
        if not token:
            break
    assert {sid, *others} <= set(listed) and len(listed) == len(set(listed))
    running = _ok(api.request("GET", "/api/swarms", viewer, params={"status": "running"}))
    assert all(s["status"] == "running" for s in running["swarms"])

    # -- agents and messages --------------------------------------------------------------------
    agents = _ok(api.request("GET", f"/api/swarms/{sid}/agents", viewer))["agents"]
    assert [a["id"] for a in agents] == ["lead"]
    assert _ok(api.request("GET", f"/api/swarms/{sid}/agents/lead", viewer))["role"] == "lead"
    sent = _ok(
        api.request(
            "POST", f"/api/swarms/{sid}/agents/lead/messages", operator, json={"body": "hurry"}
        ),
        201,
    )
    msgs = _ok(api.request("GET", f"/api/swarms/{sid}/messages", viewer))["messages"]
    assert [m["id"] for m in msgs] == ["goal", sent["message_id"]]
    assert msgs[1]["from"].startswith("human:test-operator#") and msgs[1]["body"] == "hurry"
    first = _ok(api.request("GET", f"/api/swarms/{sid}/messages", viewer, params={"limit": 1}))
    assert first["next_page_token"] == "goal"
    second = _ok(
        api.request(
            "GET", f"/api/swarms/{sid}/messages", viewer,
            params={"limit": 1, "page_token": first["next_page_token"]},
        )
    )  # fmt: skip
    assert [m["id"] for m in second["messages"]] == [sent["message_id"]]
    newest = _ok(
        api.request(
            "GET", f"/api/swarms/{sid}/events", viewer, params={"order": "desc", "limit": 1}
        )
    )
    assert newest["events"][0]["kind"] == "message"

    # -- tasks ----------------------------------------------------------------------------------
    design = _ok(
        api.request(
            "POST", f"/api/swarms/{sid}/tasks", operator,
            json={"id": "design", "title": "Design it", "owner": "lead"},
        ),
        201,
    )  # fmt: skip
    assert design["status"] == "ready" and design["owner"] == "lead"
    build = _ok(
        api.request(
            "POST", f"/api/swarms/{sid}/tasks", operator,
            json={"title": "Build it", "blocked_by": ["design"]},
        ),
        201,
    )  # fmt: skip
    assert build["status"] == "blocked"
    board = _ok(api.request("GET", f"/api/swarms/{sid}/tasks", viewer))["tasks"]
    assert {t["id"] for t in board} == {"design", build["id"]}
    got = _ok(api.request("GET", f"/api/swarms/{sid}/tasks/design", viewer))
    assert got["title"] == "Design it" and got["created_by"].startswith("human:")
    cancelled = _ok(api.request("POST", f"/api/swarms/{sid}/tasks/design/cancel", operator))
    assert cancelled["status"] == "cancelled"
    again = api.request("POST", f"/api/swarms/{sid}/tasks/design/cancel", operator)
    assert again.status_code == 409 and error_of(again)["code"] == "invalid_transition"
    # A cancellation that leaves an ownerless task ready tells the swarm's lead, not the human.
    for body in (
        {"id": "plan", "title": "Plan"},
        {"id": "ship", "title": "Ship", "blocked_by": ["plan"]},
    ):
        _ok(api.request("POST", f"/api/swarms/{sid}/tasks", operator, json=body), 201)
    _ok(api.request("POST", f"/api/swarms/{sid}/tasks/plan/cancel", operator))
    told = [m["body"] for m in runtime.store().unread(sid, "lead", limit=50)]
    assert any(b.startswith("Task ship (Ship) is now ready and has no owner") for b in told), told
    dup = api.request(
        "POST", f"/api/swarms/{sid}/tasks", operator, json={"id": "design", "title": "again"}
    )
    assert dup.status_code == 409

    # -- approvals ------------------------------------------------------------------------------
    store = runtime.store()
    for aid in ("ap-1", "ap-2"):
        store.apply(team.request_approval(sid, "lead", aid, "deploy", "to production"), what="t")
    pending = _ok(
        api.request("GET", f"/api/swarms/{sid}/approvals", viewer, params={"status": "pending"})
    )
    assert {a["id"] for a in pending["approvals"]} == {"ap-1", "ap-2"}
    approved = _ok(
        api.request(
            "POST", f"/api/swarms/{sid}/approvals/ap-1/approve", operator, json={"comment": "ok"}
        )
    )
    assert approved["status"] == "approved" and approved["comment"] == "ok"
    rejected = _ok(api.request("POST", f"/api/swarms/{sid}/approvals/ap-2/reject", operator))
    assert rejected["status"] == "rejected"
    twice = api.request("POST", f"/api/swarms/{sid}/approvals/ap-1/reject", operator)
    assert twice.status_code == 409
    inbox = _ok(api.request("GET", f"/api/swarms/{sid}/messages", viewer))["messages"]
    assert {"approval-ap-1", "approval-ap-2"} <= {m["id"] for m in inbox}

    # -- transcript and usage -------------------------------------------------------------------
    journal = Journal(runtime.blobs(), runtime.settings().bucket("transcripts"))
    for seq in range(2):
        journal.write_transcript(sid, "lead", 1, "turn1", seq, {"seq": seq, "request": {"x": 1}})
    resp = api.request("GET", f"/api/swarms/{sid}/agents/lead/transcript", viewer)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith(
        "application/x-ndjson"
    )
    lines = [json.loads(line) for line in resp.text.splitlines()]
    assert [x["record"]["seq"] for x in lines] == [0, 1]
    # -- the workspace (each case in tests/integration/test_api_artifacts.py) ---------------------
    ws = Workspace(runtime.blobs(), runtime.settings().bucket("artifacts"))
    rule = board_rules.write_artifact(sid, "lead", "out.md", ws.put(sid, b"# out\n"), 6, None)
    assert not store.effect(sid, "tu-out", "write_artifact", rule).is_error
    listed = _ok(api.request("GET", f"/api/swarms/{sid}/artifacts", viewer))["artifacts"]
    assert [(a["path"], a["version"]) for a in listed] == [("out.md", 1)]
    where = {"path": "out.md"}
    versions = _ok(
        api.request("GET", f"/api/swarms/{sid}/artifacts/versions", viewer, params=where)
    )
    assert [v["version"] for v in versions["versions"]] == [1]
    body = api.request("GET", f"/api/swarms/{sid}/artifacts/content", viewer, params=where)
    assert (body.status_code, body.content) == (200, b"# out\n")
    store.p.agent(sid, "lead").update(
        {
            "usage.input_tokens": firestore.Increment(1000),
            "usage.cost_usd": firestore.Increment(0.25),
        }
    )
    usage = _ok(api.request("GET", f"/api/swarms/{sid}/usage", viewer))
    assert usage["total"]["input_tokens"] == 1000 and usage["total"]["cost_usd"] == 0.25
    assert usage["agents"][0]["agent_id"] == "lead" and usage["budget"]["usd"] == 2

    # -- kill switch ----------------------------------------------------------------------------
    engaged = _ok(
        api.request("POST", "/api/kill-switch/engage", operator, json={"reason": "drill"})
    )
    assert engaged["engaged"] is True and engaged["actor"].startswith("test-operator#")
    released = _ok(
        api.request("POST", "/api/kill-switch/release", admin, json={"reason": "drill over"})
    )
    assert released["engaged"] is False
    switch = _ok(api.request("GET", "/api/kill-switch", operator))
    assert [a["reason"] for a in switch["audit"][:2]] == ["drill over", "drill"]
    seen_by_viewer = _ok(api.request("GET", "/api/kill-switch", viewer))
    assert seen_by_viewer["engaged"] is False and seen_by_viewer["audit"] == []

    # -- swarm and agent control ----------------------------------------------------------------
    # What the agents were handed is the sum of the swarm's budget shards, shown by a read and
    # by each status change, and it falls when the ended swarm's agents give theirs back.
    err, _ = runtime.store().grant_allowance(
        sid, "lead", {"usd": 0.25}, {"usd": 0.5}, daily_cap_usd=100, day=budget.today()
    )
    assert err is None
    assert _ok(api.request("GET", f"/api/swarms/{sid}", viewer))["granted"]["usd"] == 0.5
    paused = _ok(
        api.request("POST", f"/api/swarms/{sid}/pause", operator, json={"reason": "lunch"})
    )
    assert paused["status"] == "paused" and paused["status_reason"] == "lunch"
    assert paused["granted"] == {"usd": 0.5, "tokens": 0, "turns": 0}
    assert _ok(api.request("POST", f"/api/swarms/{sid}/resume", operator))["status"] == "running"
    lead = f"/api/swarms/{sid}/agents/lead"
    assert _ok(api.request("POST", f"{lead}/pause", operator))["status"] == "paused"
    assert _ok(api.request("POST", f"{lead}/resume", operator))["status"] == "idle"
    stopped = _ok(api.request("POST", f"/api/swarms/{sid}/agents/lead/stop", operator))
    assert stopped["status"] == "stopped"
    busy = api.request("DELETE", f"/api/swarms/{sid}", admin)
    assert busy.status_code == 409 and error_of(busy)["code"] == "swarm_active"
    killed = _ok(api.request("POST", f"/api/swarms/{sid}/stop", operator))
    assert killed["status"] == "killed" and killed["granted"]["usd"] == 0
    assert _ok(api.request("GET", f"/api/swarms/{sid}", viewer))["granted"]["usd"] == 0
    late = api.request(
        "POST", f"/api/swarms/{sid}/agents/lead/messages", operator, json={"body": "x"}
    )
    assert late.status_code == 409 and error_of(late)["code"] == "swarm_ended"
    assert _ok(api.request("DELETE", f"/api/swarms/{sid}", admin))["deleted"] is True
    gone = api.request("GET", f"/api/swarms/{sid}", viewer)
    assert gone.status_code == 404 and error_of(gone)["code"] == "not_found"
    assert journal.transcript_objects(sid, "lead") == []

    # -- team templates ---------------------------------------------------------------------------
    mine = {"name": "ops-team", "lead_instructions": "Keep it running."}
    assert _ok(api.request("POST", "/api/templates", admin, json=mine), 201)["source"] == "admin"
    names = [t["name"] for t in _ok(api.request("GET", "/api/templates", viewer))["templates"]]
    assert {"research", "repo", "ops-team"} <= set(names)

    # -- keys -----------------------------------------------------------------------------------
    created = _ok(
        api.request("POST", "/api/keys", admin, json={"name": "ci", "role": "viewer"}), 201
    )
    assert created["key"].startswith(f"csk_{created['key_id']}_")
    listed_keys = _ok(api.request("GET", "/api/keys", admin))["keys"]
    row = next(k for k in listed_keys if k["key_id"] == created["key_id"])
    assert "hash" not in row and "key" not in row and row["created_by"].startswith("test-admin#")
    revoked = _ok(api.request("DELETE", f"/api/keys/{created['key_id']}", admin))
    assert revoked["revoked"] is True

    # -- webhooks and token revocation ----------------------------------------------------------
    raw = json.dumps({"service": "billing", "ref": "v1.2"}).encode()
    stamp = str(int(time.time()))
    hook = api.request(
        "POST", "/webhooks/deploy", data=raw,
        headers={
            "Content-Type": "application/json", "X-CloudSwarm-Timestamp": stamp,
            "X-CloudSwarm-Delivery": "d-1",
            "X-CloudSwarm-Signature": webhooks.sign(HOOK_SECRET, raw, stamp),
        },
    )  # fmt: skip
    started = _ok(hook, 202)
    assert _ok(api.request("GET", f"/api/swarms/{started['swarm_id']}", viewer))["goal"] == (
        "Deploy billing at v1.2"
    )
    spare = api.token(keys["viewer"][1])
    renewed = _ok(api.request("POST", "/api/auth/refresh", spare))
    assert (renewed["role"], renewed["key_id"]) == ("viewer", keys["viewer"][0])
    assert _ok(api.request("POST", "/api/auth/revoke", spare))["revoked"] is True
    assert api.request("POST", "/api/auth/refresh", spare).status_code == 401

    assert api.unseen() == []


# -- roles -------------------------------------------------------------------------------------


def _concrete(path: str) -> str:
    return (
        path.replace("{sid}", "s-none")
        .replace("{key_id}", "000000000000")
        .replace("{aid}", "lead")
        .replace("{tid}", "t1")
        .replace("{approval_id}", "ap-1")
    )


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTE_TABLE if r.auth == "bearer" and r.role != "viewer"],
    ids=lambda r: f"{r.method} {r.path}",
)
def test_weaker_roles_are_refused_before_anything_happens(api, tok, route):
    weaker = ROLES[: ROLES.index(route.role)]
    for role in weaker:
        resp = api.request(route.method, _concrete(route.path), tok[role], json={})
        assert resp.status_code == 403, f"{role}: {resp.status_code} {resp.text}"
        assert error_of(resp)["code"] == "forbidden"


def test_viewer_cannot_mutate_anything(api, tok):
    mutating = [
        r for r in ROUTE_TABLE
        if r.method != "GET" and r.auth == "bearer" and not r.path.startswith("/api/auth/")
    ]  # fmt: skip
    assert mutating and all(r.role in ("operator", "admin") for r in mutating)
    before = len(
        _ok(api.request("GET", "/api/swarms", tok["viewer"], params={"limit": 200}))["swarms"]
    )
    refused = api.request("POST", "/api/swarms", tok["viewer"], json={"goal": "sneaky"})
    assert refused.status_code == 403
    after = len(
        _ok(api.request("GET", "/api/swarms", tok["viewer"], params={"limit": 200}))["swarms"]
    )
    assert after == before


def test_operator_can_engage_but_not_release_the_kill_switch_nor_manage_keys(api, tok):
    op = tok["operator"]
    _ok(api.request("POST", "/api/kill-switch/engage", op, json={"reason": "incident"}))
    try:
        refused = api.request("POST", "/api/kill-switch/release", op, json={"reason": "fixed"})
        assert refused.status_code == 403
        assert _ok(api.request("GET", "/api/kill-switch", op))["engaged"] is True
    finally:
        _ok(api.request("POST", "/api/kill-switch/release", tok["admin"], json={"reason": "fixed"}))
    for method, path, body in [
        ("GET", "/api/keys", None),
        ("POST", "/api/keys", {"name": "x", "role": "admin"}),
        ("DELETE", "/api/keys/000000000000", None),
        ("POST", "/api/templates", {"name": "x", "lead_instructions": "y"}),
    ]:
        assert api.request(method, path, op, json=body).status_code == 403


def test_kill_switch_changes_need_a_reason(api, tok):
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        resp = api.request("POST", "/api/kill-switch/engage", tok["admin"], json=body)
        assert resp.status_code == 422, body


# -- revocation --------------------------------------------------------------------------------


def test_a_revoked_token_is_refused_at_once_and_others_keep_working(api, keys):
    key = keys["operator"][1]
    first, second = api.token(key), api.token(key)
    _ok(api.request("POST", "/api/auth/revoke", first))
    refused = api.request("GET", "/api/kill-switch", first)
    assert refused.status_code == 401 and error_of(refused)["code"] == "unauthorized"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    _ok(api.request("GET", "/api/kill-switch", second))


def test_only_an_admin_revokes_another_token(api, keys):
    victim = _ok(api.request("POST", "/api/auth/token", json={"api_key": keys["viewer"][1]}))
    other = api.token(keys["operator"][1])
    refused = api.request("POST", "/api/auth/revoke", other, json={"jti": victim["jti"]})
    assert refused.status_code == 403
    _ok(api.request("GET", "/api/swarms", victim["token"]))
    admin = api.token(keys["admin"][1])
    _ok(api.request("POST", "/api/auth/revoke", admin, json={"jti": victim["jti"]}))
    assert api.request("GET", "/api/swarms", victim["token"]).status_code == 401
    _ok(api.request("GET", "/api/swarms", other))


def test_revoking_a_key_kills_its_live_tokens_and_its_exchange(api, keys, project):
    key_id, key = new_key(project, "operator", "doomed")
    live = api.token(key)
    _ok(api.request("GET", "/api/swarms", live))
    admin = api.token(keys["admin"][1])
    _ok(api.request("DELETE", f"/api/keys/{key_id}", admin))
    assert api.request("GET", "/api/swarms", live).status_code == 401
    exchange = api.request("POST", "/api/auth/token", json={"api_key": key})
    assert exchange.status_code == 401 and error_of(exchange)["message"] == "invalid API key"


def test_cors_allows_the_local_ui_origin_only(api, tok):
    origin = "http://127.0.0.1:8080"
    pre = api.request(
        "OPTIONS", "/api/swarms",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )  # fmt: skip
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    got = api.request("GET", "/api/swarms", tok["viewer"], headers={"Origin": origin})
    assert got.headers["Access-Control-Allow-Origin"] == origin
    evil = api.request("GET", "/api/swarms", tok["viewer"], headers={"Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    bad_pre = api.request(
        "OPTIONS", "/api/swarms",
        headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
    )  # fmt: skip
    assert bad_pre.status_code == 403
    assert got.headers["Cache-Control"] == "no-store"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
