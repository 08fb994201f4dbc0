"""Scheduled swarms: the request id a fire maps to, the fire body's validation, and the local
scheduler stand-in's declarations and cron evaluation (in a time zone, across DST)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from cloudswarm.errors import ConfigError, UserError
from cloudswarm.triggers import parse_schedule_fire, schedule_request_id
from emulators import scheduler
from emulators.scheduler import Schedule, fire_forever, load

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "terraform" / "schedules.auto.tfvars.json.example"


def body(**over) -> bytes:
    return json.dumps({"schedule": "nightly", "goal": "Write the digest", **over}).encode()


# ----------------------------------------------------------------------- request id


@pytest.mark.parametrize(
    "header",
    ["2026-12-01T06:00:00Z", "2026-12-01T06:00:00.000Z", "2026-12-01T07:00:00+01:00"],
)
def test_one_fire_time_is_one_request_id_however_it_is_written(header):
    assert schedule_request_id("nightly", header) == "schedule:nightly:2026-12-01T06:00:00Z"


def test_another_fire_time_or_schedule_is_another_request_id():
    ids = {
        schedule_request_id("nightly", "2026-12-01T06:00:00Z"),
        schedule_request_id("nightly", "2026-12-02T06:00:00Z"),
        schedule_request_id("weekly", "2026-12-01T06:00:00Z"),
    }
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, "header is missing"),
        ("", "header is missing"),
        ("yesterday", "not an RFC 3339 time"),
        ("2026-12-01T06:00:00", "with a zone"),  # naive: no way to know which 06:00
    ],
)
def test_a_fire_without_a_usable_time_is_refused(header, words):
    with pytest.raises(UserError, match=words):
        parse_schedule_fire(body(), header)


# ------------------------------------------------------------------------- the body


def test_a_good_body_parses_with_its_budget_and_request_id():
    fire, rid = parse_schedule_fire(
        body(model="claude-haiku-4-5", budget={"usd": 2, "turns": 40}), "2026-12-01T06:00:00Z"
    )
    assert rid == "schedule:nightly:2026-12-01T06:00:00Z"
    assert fire.goal == "Write the digest" and fire.model == "claude-haiku-4-5"
    assert fire.to_budget().usd == 2 and fire.to_budget().turns == 40


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "invalid schedule body"),
        (json.dumps({"goal": "g"}).encode(), "schedule"),
        (body(schedule="Has Space"), "schedule"),
        (body(goal=""), "goal"),
        (body(budget={"usd": -1}), "budget.usd"),
        (body(budget={"dollars": 1}), "budget.dollars"),
        (body(admin=True), "admin"),
    ],
)
def test_a_bad_body_says_what_is_wrong(raw, words):
    with pytest.raises(UserError, match=words):
        parse_schedule_fire(raw, "2026-12-01T06:00:00Z")


# ------------------------------------------------------------- the stand-in's declarations


def test_the_example_file_declares_valid_schedules():
    schedules = load(EXAMPLE)
    assert schedules and any(s.paused for s in schedules.values())
    for name, s in schedules.items():
        fire, _ = parse_schedule_fire(s.body(name), "2026-12-01T06:00:00Z")
        assert fire.schedule == name and fire.goal == s.goal


def test_the_stand_in_posts_terraforms_body_shape():
    # terraform/schedules.tf's jsonencode writes these keys, sorted, unset budget axes as null.
    raw = Schedule(cron="0 6 * * *", goal="g", budget={"usd": 2}).body("nightly")
    assert json.loads(raw) == {
        "budget": {"tokens": None, "turns": None, "usd": 2.0, "wall_s": None},
        "goal": "g",
        "model": None,
        "schedule": "nightly",
    }
    assert list(json.loads(raw)) == sorted(json.loads(raw))


def _write(tmp_path, schedules) -> Path:
    path = tmp_path / "schedules.auto.tfvars.json"
    path.write_text(json.dumps({"schedules": schedules}))
    return path


@pytest.mark.parametrize(
    ("schedules", "words"),
    [
        ({"n": {"cron": "0 6 * *", "goal": "g"}}, "five-field"),
        ({"n": {"cron": "0 0 6 * * *", "goal": "g"}}, "five-field"),
        ({"n": {"cron": "0 6 * * *", "goal": "g", "time_zone": "Mars/Olympus"}}, "IANA"),
        ({"Bad_Name": {"cron": "0 6 * * *", "goal": "g"}}, "must match"),
        ({"n": {"cron": "0 6 * * *", "goal": "g", "when": "soon"}}, "when"),
        ({"n": {"cron": "0 6 * * *"}}, "goal"),
        ([], "expected"),
    ],
)
def test_a_bad_schedules_file_fails_with_the_reason(tmp_path, schedules, words):
    with pytest.raises(ConfigError, match=words):
        load(_write(tmp_path, schedules))


def test_null_takes_the_default_as_terraform_gives_it(tmp_path):
    entry = {"cron": "0 6 * * *", "goal": "g", "time_zone": None, "budget": None, "paused": None}
    (s,) = load(_write(tmp_path, {"n": entry})).values()
    assert (s.time_zone, s.paused, s.budget.usd) == ("Etc/UTC", False, None)


def test_no_file_means_no_schedules_and_a_missing_named_file_is_an_error(tmp_path):
    assert load(None) == {}
    with pytest.raises(ConfigError, match=r"missing\.json"):
        load(tmp_path / "missing.json")


def test_the_schedules_file_comes_from_the_flag_then_the_env():
    env = {"CLOUDSWARM_SCHEDULES_FILE": "/from/env.json"}
    assert scheduler.schedules_file("/from/flag.json", env) == Path("/from/flag.json")
    assert scheduler.schedules_file(None, env) == Path("/from/env.json")
    assert scheduler.schedules_file(None, {"CLOUDSWARM_SCHEDULES_FILE": ""}) is None


# ------------------------------------------------------------------------- cron and zone


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_cron_is_read_in_the_time_zone_across_a_dst_change():
    s = Schedule(cron="0 6 * * *", time_zone="Europe/Paris", goal="g")
    # 06:00 in Paris is 05:00 UTC in winter and 04:00 UTC once summer time starts (29 March).
    assert s.next_fire(at("2026-03-27T12:00:00Z")) == at("2026-03-28T05:00:00Z")
    assert s.next_fire(at("2026-03-28T12:00:00Z")) == at("2026-03-29T04:00:00Z")
    assert Schedule(cron="0 6 * * *", goal="g").next_fire(at("2026-03-28T12:00:00Z")) == at(
        "2026-03-29T06:00:00Z"
    )


def test_next_fire_is_strictly_after():
    s = Schedule(cron="*/15 * * * *", goal="g")
    assert s.next_fire(at("2026-12-01T06:15:00Z")) == at("2026-12-01T06:30:00Z")


class RecordingFirer:
    """Records the fires the loop asks for; stops the loop after `n`."""

    def __init__(self, schedules, n):
        self.schedules, self.n, self.fired = schedules, n, []

    def fire_with_retries(self, name, due, stop):
        self.fired.append((name, due))
        if len(self.fired) >= self.n:
            stop.set()


def test_the_loop_fires_unpaused_schedules_and_skips_what_a_stall_missed():
    schedules = {
        "minutely": Schedule(cron="* * * * *", goal="g"),
        "off": Schedule(cron="* * * * *", goal="g", paused=True),
    }
    firer = RecordingFirer(schedules, n=3)
    start, ticks = at("2026-12-01T06:00:30Z"), iter(range(1000))
    # Each read of the clock is ten minutes later: the loop never waits and always runs behind.
    clock = lambda: start + timedelta(minutes=10 * next(ticks))  # noqa: E731
    fire_forever(firer, threading.Event(), clock=clock)
    names = {n for n, _ in firer.fired}
    times = [t for _, t in firer.fired]
    assert names == {"minutely"}
    assert times[0] == at("2026-12-01T06:01:00Z")
    assert all(t.second == 0 and t.tzinfo == UTC for t in times)
    # Behind by ten minutes each time, it fires the next due time from now, not each missed one.
    assert all(b - a > timedelta(minutes=1) for a, b in pairwise(times))
