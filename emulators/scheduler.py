"""A stand-in for Cloud Scheduler: the watchdog sweep on a fixed period, and the deployment's
declared schedules on their cron, in their time zone.

In GCP, Cloud Scheduler jobs call task_dispatch (terraform/messaging.tf, terraform/schedules.tf);
locally this process does, with the same bodies and the same X-CloudScheduler-* headers, so a
scheduled fire takes the same path through the same function. The schedules come from the file
Terraform reads (a `*.tfvars.json` holding `{"schedules": {...}}`, docs/deploy.md): the
`--schedules` path, else CLOUDSWARM_SCHEDULES_FILE (empty: none), else
terraform/schedules.auto.tfvars.json if it exists.

HTTP (127.0.0.1 only): GET / answers OK (the stack's health check); GET /_control/schedules lists
the declarations with their next fire; POST /_control/fire {"schedule": NAME, "at": RFC3339}
fires one now as if it were due at `at` (like a forced run in GCP) and answers with the
function's status and body.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cloudswarm.errors import ConfigError
from cloudswarm.triggers import (
    SCHEDULE_NAME,
    SCHEDULE_TIME_HEADER,
    BudgetIn,
    ScheduleFire,
    validation_problems,
)

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "terraform" / "schedules.auto.tfvars.json"
# Terraform's retry_config for schedule jobs (terraform/schedules.tf): a failed fire is tried again
# with the same schedule time.
RETRIES = 3
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Schedule(BaseModel):
    """One entry of the Terraform `schedules` variable (terraform/variables.tf), same fields."""

    model_config = ConfigDict(extra="forbid")
    cron: str
    time_zone: str = "Etc/UTC"
    goal: str = Field(min_length=1, max_length=20000)
    model: str | None = None
    budget: BudgetIn = Field(default_factory=BudgetIn)
    paused: bool = False
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data):
        # Terraform gives an optional attribute set to null its default: so does the stand-in.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data

    @field_validator("cron")
    @classmethod
    def _unix_cron(cls, v: str) -> str:
        # Cloud Scheduler takes unix-cron's five fields; croniter would also take a sixth.
        if len(v.split()) != 5 or not croniter.is_valid(v):
            raise ValueError(f"{v!r} is not a five-field unix-cron expression")
        return v

    @field_validator("goal")
    @classmethod
    def _said(cls, v: str) -> str:
        if not v.strip():  # Terraform's validation trims too
            raise ValueError("the goal is blank")
        return v

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. Europe/Paris)") from None
        return v

    def next_fire(self, after: datetime) -> datetime:
        """The first due time strictly after `after`, in UTC; cron is read in the time zone."""
        local = after.astimezone(ZoneInfo(self.time_zone))
        return croniter(self.cron, local).get_next(datetime).astimezone(UTC)

    def body(self, name: str) -> bytes:
        """The job's static body, as Terraform's jsonencode writes it (keys sorted)."""
        fire = ScheduleFire(schedule=name, goal=self.goal, model=self.model, budget=self.budget)
        return json.dumps(fire.model_dump(), sort_keys=True).encode()


def load(path: Path | None) -> dict[str, Schedule]:
    """The declared schedules by name; none without a file. A bad file fails with the fix."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
        entries = data.get("schedules", {}) if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise ValueError('expected {"schedules": {"NAME": {...}}}')
        bad = [n for n in entries if not re.fullmatch(SCHEDULE_NAME, n)]
        if bad:
            raise ValueError(f"names {bad} must match {SCHEDULE_NAME}")
        return {name: Schedule.model_validate(s) for name, s in entries.items()}
    except ValidationError as e:
        raise ConfigError(f"schedules file {path}: {validation_problems(e)}") from e
    except (OSError, ValueError) as e:
        raise ConfigError(f"schedules file {path}: {e}") from e


def schedules_file(arg: str | None, env=os.environ) -> Path | None:
    """The flag, else CLOUDSWARM_SCHEDULES_FILE (set but empty: no schedules, e.g. for a test
    stack beside a developer's file), else the Terraform directory's file if there is one."""
    if arg:
        return Path(arg)
    if "CLOUDSWARM_SCHEDULES_FILE" in env:
        return Path(env["CLOUDSWARM_SCHEDULES_FILE"]) if env["CLOUDSWARM_SCHEDULES_FILE"] else None
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


def job_name(prefix: str, name: str) -> str:
    return f"{prefix}-schedule-{name}"  # terraform/schedules.tf names the job the same way


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Firer:
    """POSTs a schedule's fire to task_dispatch /schedule as Cloud Scheduler would."""

    def __init__(self, url: str, prefix: str, schedules: dict[str, Schedule]):
        self.url, self.prefix, self.schedules = url, prefix, schedules

    def fire(self, name: str, at: datetime) -> tuple[int, dict]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Google-Cloud-Scheduler",
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": job_name(self.prefix, name),
            SCHEDULE_TIME_HEADER: rfc3339(at),
        }
        body = self.schedules[name].body(name)
        req = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        try:
            with _opener.open(req, timeout=60) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, _json(e.read())

    def fire_with_retries(self, name: str, at: datetime, stop: threading.Event) -> None:
        for attempt in range(RETRIES + 1):
            try:
                status, out = self.fire(name, at)
            except OSError as e:  # the function may be starting or restarting
                status, out = 0, {"error": str(e)}
            print(f"schedule {name} at {rfc3339(at)}: {status} {out}", flush=True)
            if 200 <= status < 300 or stop.wait(2.0**attempt):
                return


def fire_forever(
    firer: Firer, stop: threading.Event, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """Fire every unpaused schedule at each due time until `stop` is set."""
    active = {n: s for n, s in firer.schedules.items() if not s.paused}
    due = {n: s.next_fire(clock()) for n, s in active.items()}
    while due:
        name, at = min(due.items(), key=lambda kv: kv[1])
        if stop.wait(max(0.0, (at - clock()).total_seconds())):
            return
        firer.fire_with_retries(name, at, stop)
        # After a stall (a suspended laptop) the next fire is the next one from now: missed
        # fires are not replayed one by one.
        due[name] = active[name].next_fire(max(at, clock()))


def _sweep_forever(url: str, every_s: float, stop: threading.Event) -> None:
    while not stop.wait(every_s):
        req = urllib.request.Request(
            url, data=b"{}", method="POST", headers={"content-type": "application/json"}
        )
        try:
            with _opener.open(req, timeout=60) as resp:
                print(f"sweep: {resp.status} {resp.read().decode()[:200]}", flush=True)
        except OSError as e:  # the functions may still be starting, or restarting
            print(f"sweep failed: {e}", flush=True)


def _handler(firer: Firer | None, schedules: dict[str, Schedule]):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/_control/schedules":
                now = datetime.now(UTC)
                listed = [
                    {
                        "name": n,
                        "cron": s.cron,
                        "time_zone": s.time_zone,
                        "paused": s.paused,
                        "next_fire": rfc3339(s.next_fire(now)),
                    }
                    for n, s in sorted(schedules.items())
                ]
                return self._send(200, {"schedules": listed})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"OK")

        def do_POST(self):
            if self.path != "/_control/fire":
                return self._send(404, {"error": "POST /_control/fire"})
            try:
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                name = req["schedule"]
                at = datetime.fromisoformat(req["at"]) if req.get("at") else _this_minute()
                if at.tzinfo is None:
                    raise ValueError("`at` needs a time zone, e.g. 2026-12-01T06:00:00Z")
            except (ValueError, KeyError, TypeError) as e:
                return self._send(400, {"error": f'expected {{"schedule", "at"}}: {e}'})
            if firer is None or name not in schedules:
                return self._send(404, {"error": f"no schedule {name!r} is declared"})
            status, out = firer.fire(name, at)
            self._send(200, {"status": status, "response": out})

        def _send(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # quiet: the stack keeps one log per service
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--url", required=True, help="task_dispatch's /sweep URL")
    ap.add_argument("--every", type=float, default=20.0, help="seconds between sweeps")
    ap.add_argument("--schedule-url", help="task_dispatch's /schedule URL")
    ap.add_argument("--schedules", help="the schedules file (a Terraform *.tfvars.json)")
    args = ap.parse_args(argv)
    path = schedules_file(args.schedules)
    schedules = load(path)
    if schedules and not args.schedule_url:
        raise ConfigError(f"{path} declares schedules: pass --schedule-url")
    prefix = os.environ.get("CLOUDSWARM_PREFIX") or "cloudswarm"
    firer = Firer(args.schedule_url, prefix, schedules) if args.schedule_url else None
    print(f"schedules from {path}: {', '.join(schedules) or 'none'}", flush=True)
    stop = threading.Event()
    threading.Thread(target=_sweep_forever, args=(args.url, args.every, stop), daemon=True).start()
    if firer is not None:
        threading.Thread(target=fire_forever, args=(firer, stop), daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(firer, schedules))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return 0


def _this_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _json(raw: bytes) -> dict:
    try:
        out = json.loads(raw or b"{}")
    except ValueError:
        return {"text": raw.decode(errors="replace")[:500]}
    return out if isinstance(out, dict) else {"value": out}


if __name__ == "__main__":
    raise SystemExit(main())
