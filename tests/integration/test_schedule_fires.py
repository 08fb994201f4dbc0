"""Scheduled swarms on the real stack: the scheduler stand-in fires the declared schedules at
task_dispatch /schedule (the real function, the real Firestore emulator) as Cloud Scheduler does,
and a fire repeated for the same schedule time starts one swarm.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm import runtime
from tests.conftest import wait_until
from tests.integration.test_api_fixtures import functions

SCHEDULES = {
    "nightly": {
        "cron": "0 6 * * *",
        "time_zone": "Europe/Paris",
        "goal": "Write the nightly digest",
        "budget": {"usd": 1, "turns": 30},
    },
    # Fires on the stand-in's own clock, so one test can wait for it (an event, not a sleep).
    "minutely": {"cron": "* * * * *", "goal": "Check the queue"},
}


@pytest.fixture(scope="module")
def fns(stack, tmp_path_factory):
    path = tmp_path_factory.mktemp("schedules") / "schedules.auto.tfvars.json"
    path.write_text(json.dumps({"schedules": SCHEDULES}))
    extra = {"CLOUDSWARM_SCHEDULES_FILE": str(path)}
    with functions(stack, ["task_dispatch", "scheduler"], extra_env=extra) as started:
        yield started


def _http() -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    return http


def fire(fns, name: str, at: str) -> dict:
    resp = _http().post(
        fns["scheduler"].url + "/_control/fire", json={"schedule": name, "at": at}, timeout=60
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def swarms_where(field: str, value: str) -> list[dict]:
    q = runtime.store().db.collection("swarms").where(filter=FieldFilter(field, "==", value))
    return [s.to_dict() for s in q.stream()]


def unique_time() -> str:
    """A fire time no other test (or earlier run on this emulator) used."""
    n = uuid.uuid4().int
    return f"20{30 + n % 60}-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z"


def test_a_schedule_fired_twice_for_the_same_time_starts_one_swarm(fns):
    at = unique_time()
    first, second = fire(fns, "nightly", at), fire(fns, "nightly", at)
    assert first["status"] == 200 and second["status"] == 200, (first, second)
    assert first["response"]["created"] is True and second["response"]["created"] is False
    assert first["response"]["swarm_id"] == second["response"]["swarm_id"]
    rid = f"schedule:nightly:{at}"
    assert first["response"]["request_id"] == rid
    (swarm,) = swarms_where("request_id", rid)
    assert swarm["created_by"] == "schedule:nightly"
    assert swarm["goal"] == "Write the nightly digest"
    assert swarm["budget"]["usd"] == 1 and swarm["budget"]["turns"] == 30


def test_the_same_time_written_another_way_is_the_same_fire(fns):
    # A retry repeats the header as it was; an offset instead of Z still names the same instant.
    at = unique_time()
    offset = datetime.fromisoformat(at).astimezone(ZoneInfo("Asia/Tokyo")).isoformat()
    a, b = fire(fns, "nightly", at), fire(fns, "nightly", offset)
    assert a["response"]["swarm_id"] == b["response"]["swarm_id"]
    assert len(swarms_where("request_id", f"schedule:nightly:{at}")) == 1


def test_another_fire_time_starts_another_swarm(fns):
    a, b = fire(fns, "nightly", unique_time()), fire(fns, "nightly", unique_time())
    assert a["response"]["created"] and b["response"]["created"]
    assert a["response"]["swarm_id"] != b["response"]["swarm_id"]


def _post_function(fns, body, schedule_time: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if schedule_time is not None:
        headers["X-CloudScheduler-ScheduleTime"] = schedule_time
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return _http().post(
        fns["task_dispatch"].url + "/schedule", data=data, headers=headers, timeout=60
    )


def test_the_function_posted_twice_with_one_schedule_time_starts_one_swarm(fns):
    body = {"schedule": "direct", "goal": "Posted as Cloud Scheduler would", "budget": {"usd": 1}}
    at = unique_time()
    first, second = _post_function(fns, body, at), _post_function(fns, body, at)
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    assert first.json()["swarm_id"] == second.json()["swarm_id"]
    assert len(swarms_where("request_id", f"schedule:direct:{at}")) == 1


@pytest.mark.parametrize(
    ("body", "schedule_time", "words"),
    [
        ({"schedule": "ghost", "goal": "g"}, None, "X-CloudScheduler-ScheduleTime"),
        ({"schedule": "ghost", "goal": "g"}, "tomorrow", "RFC 3339"),
        (b"not json", "2030-01-01T06:00:00Z", "not JSON"),
        ({"schedule": "ghost", "goal": ""}, "2030-01-01T06:00:00Z", "goal"),
        ({"schedule": "ghost", "goal": "g", "admin": True}, "2030-01-01T06:00:00Z", "admin"),
        ({"schedule": "ghost", "goal": "g", "budget": {"usd": 0}}, "2030-01-01T06:00:00Z", "usd"),
        ({"schedule": "ghost", "goal": "g", "model": "gpt-4"}, "2030-01-01T06:00:00Z", "gpt-4"),
    ],
)
def test_a_bad_fire_is_refused_with_the_reason_and_starts_nothing(fns, body, schedule_time, words):
    resp = _post_function(fns, body, schedule_time)
    assert resp.status_code == 400, resp.text
    assert words in resp.json()["message"]
    assert swarms_where("created_by", "schedule:ghost") == []
    assert "refused schedule fire" in fns["task_dispatch"].log_tail(200)


def test_the_stand_in_reads_cron_in_the_schedules_time_zone(fns):
    listed = _http().get(fns["scheduler"].url + "/_control/schedules", timeout=10).json()
    by_name = {s["name"]: s for s in listed["schedules"]}
    assert set(by_name) == set(SCHEDULES)
    paris = datetime.fromisoformat(by_name["nightly"]["next_fire"]).astimezone(
        ZoneInfo("Europe/Paris")
    )
    assert (paris.hour, paris.minute) == (6, 0)


def test_firing_an_undeclared_schedule_is_a_404(fns):
    resp = _http().post(
        fns["scheduler"].url + "/_control/fire",
        json={"schedule": "nope", "at": "2030-01-01T06:00:00Z"},
        timeout=10,
    )
    assert resp.status_code == 404 and "nope" in resp.json()["error"]


def test_the_stand_in_fires_a_declared_schedule_on_its_cron(fns):
    # The every-minute schedule fires on the stand-in's clock; wait for its swarm to appear.
    minutely = lambda: swarms_where("created_by", "schedule:minutely")  # noqa: E731
    found = wait_until(minutely, timeout=120, every=1)
    assert found, fns["scheduler"].log_tail()
    assert re.fullmatch(r"schedule:minutely:\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", found[0]["request_id"])
    assert found[0]["goal"] == "Check the queue"
