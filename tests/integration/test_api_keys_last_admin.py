"""The last live admin key cannot be revoked, through the API or by two revocations racing for
the last two: without an admin key no one can manage keys short of writing Firestore by hand.

Each test starts from an empty Firestore, so the admin keys here are the only ones."""

from __future__ import annotations

import threading

import pytest

from cloudswarm.errors import Conflict
from tests.integration.test_api_fixtures import Api, error_of, functions, keys, new_key


@pytest.fixture(scope="module")
def api(stack) -> Api:
    with functions(stack, ["api"]) as fns:
        yield Api(fns["api"].url)


def live_admins(project: str) -> list[str]:
    return [k["key_id"] for k in keys(project).list() if k["role"] == "admin" and not k["revoked"]]


def test_the_api_refuses_to_revoke_the_last_admin_key(api, project, clean_firestore):
    first_id, first = new_key(project, "admin", "first")
    admin = api.token(first)
    refused = api.request("DELETE", f"/api/keys/{first_id}", admin)
    assert refused.status_code == 409
    assert error_of(refused) == {
        "code": "last_admin_key",
        "message": f"API key {first_id} is the last live admin key: revoking it would leave no "
        "one able to manage keys; create another admin key first (POST /api/keys), then revoke "
        "this one",
    }
    # Nothing changed: the key and its token still work.
    assert live_admins(project) == [first_id]
    assert api.request("GET", "/api/keys", admin).status_code == 200
    # A viewer or operator key does not count as a way back in.
    new_key(project, "operator", "ops")
    assert api.request("DELETE", f"/api/keys/{first_id}", admin).status_code == 409
    # With a second admin key the first can go, and then the second is the last.
    created = api.request("POST", "/api/keys", admin, json={"name": "second", "role": "admin"})
    assert created.status_code == 201
    second_id, second = created.json()["key_id"], created.json()["key"]
    revoked = api.request("DELETE", f"/api/keys/{first_id}", admin)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert api.request("GET", "/api/keys", admin).status_code == 401
    again = api.request("DELETE", f"/api/keys/{second_id}", api.token(second))
    assert again.status_code == 409 and error_of(again)["code"] == "last_admin_key"
    # Revoking an already revoked key is still a no-op, not a refusal.
    assert api.request("DELETE", f"/api/keys/{first_id}", api.token(second)).status_code == 200
    assert live_admins(project) == [second_id]


def race(records, key_ids: list[str]) -> dict[str, str]:
    """Revoke each key from its own thread, all at once: key id -> "revoked" or the refusal."""
    start = threading.Barrier(len(key_ids))
    outcomes: dict[str, str] = {}

    def revoke(key_id: str) -> None:
        start.wait()
        try:
            records.revoke(key_id, actor="tests", keep_one="admin")
            outcomes[key_id] = "revoked"
        except Conflict as e:
            outcomes[key_id] = e.code

    threads = [threading.Thread(target=revoke, args=(k,)) for k in key_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_revocations_racing_for_the_last_two_admin_keys_leave_one(project, clean_firestore):
    records = keys(project).records
    for round_ in range(4):
        ids = [new_key(project, "admin", f"racer-{round_}-{i}")[0] for i in range(2)]
        outcomes = race(records, ids)
        assert sorted(outcomes.values()) == ["last_admin_key", "revoked"], outcomes
        kept = [k for k, v in outcomes.items() if v != "revoked"]
        assert live_admins(project) == kept
        # The survivor goes in the next round, once two newer keys exist.
        records.revoke(kept[0], actor="tests")
