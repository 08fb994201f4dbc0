"""The local stack manager: `python -m emulators.stack up|down|status|dev [--profile P]`.

From the command line the profile is "full" (the whole stack) unless --profile says otherwise.

Python API (tests)::

    stack = Stack(run_dir=tmp, port_offset=10000)   # profile "emulators" by default
    stack.up()          # False (and nothing started) if this run folder's stack already runs
    os.environ.update(stack.env())
    stack.down()

State lives in the run folder (`.run/` or CLOUDSWARM_RUN_DIR): one `<service>.pid` and
`<service>.log` per process, `stack.json` (profile and ports) and `env`, written last, once
every service answers and the bootstrap is done.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from cloudswarm.errors import CloudSwarmError, ConfigError
from emulators import procs, services
from emulators.config import PROFILES, REPO_ROOT, StackConfig


class StackError(CloudSwarmError):
    """The stack could not be brought up; whatever had started was stopped again."""


class PortInUse(StackError):
    pass


class Stack:
    def __init__(
        self,
        run_dir: Path | str | None = None,
        port_offset: int | None = None,
        profile: str = "emulators",
        *,
        ports: Mapping[str, int] | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        say: Callable[[str], None] | None = None,
    ):
        self.config = StackConfig.resolve(run_dir, port_offset, profile, ports, environ)
        self.timeout = timeout
        self._say = say or (lambda msg: print(msg, flush=True))
        self._procs: dict[str, subprocess.Popen] = {}

    @property
    def run_dir(self) -> Path:
        return self.config.run_dir

    def env(self) -> dict[str, str]:
        """KEY=value a client of this stack needs (the content of <run_dir>/env)."""
        return self.config.client_env()

    def running(self) -> dict[str, int]:
        """Service -> process group id, for the groups of this run folder still alive."""
        pids = procs.read_pid_files(self.run_dir) if self.run_dir.is_dir() else {}
        return {n: g for n, g in pids.items() if procs.is_ours(g, self.config.marker)}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Two `up`s racing in one run folder would both find it empty and both start.
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def up(self) -> bool:
        """Start, health-check and bootstrap the profile's services; False if already running."""
        with self._locked():
            live = self.running()
            if live:
                saved = _read_json(self.run_dir / "stack.json") or {}
                dead = [n for n in PROFILES.get(saved.get("profile"), ()) if n not in live]
                self._say(
                    f"stack already running in {self.run_dir} ({', '.join(live)})"
                    + (f"; not running: {', '.join(dead)}" if dead else "")
                    + "; nothing started (`down` first to restart it)"
                )
                return False
            self._forget()
            self._start()
            return True

    def _start(self) -> None:
        cfg, t0 = self.config, time.monotonic()
        specs = services.build(cfg)
        missing = [f"{s.name} needs {p}" for s in specs for p in s.needs if not p.exists()]
        if missing:
            raise ConfigError("cannot start the stack: " + "; ".join(missing))
        # A listening port in the ephemeral range can be taken, between this check and the
        # service's bind, by the local end of any outgoing connection (seen in CI: "Address
        # already in use" from a function's server). Refuse it up front.
        eph = procs.ephemeral_range()
        if eph:
            clash = [n for n in (s.name for s in specs) if eph[0] <= cfg.ports[n] <= eph[1]]
            if clash:
                raise ConfigError(
                    "nothing started: "
                    + ", ".join(f"port {cfg.ports[n]} ({n})" for n in clash)
                    + f" lies in the kernel's ephemeral port range {eph[0]}-{eph[1]}, where "
                    "outgoing connections may take it; choose a CLOUDSWARM_PORT_OFFSET (or "
                    f"CLOUDSWARM_<SERVICE>_PORT) that keeps every port below {eph[0]}"
                )
        taken = [s.name for s in specs if not procs.port_free(cfg.ports[s.name])]
        if taken:
            raise PortInUse(
                "nothing started: "
                + ", ".join(f"port {cfg.ports[n]} ({n}) is already in use" for n in taken)
                + ". Stop what holds it, or move this stack with CLOUDSWARM_PORT_OFFSET=<n> "
                "or CLOUDSWARM_<SERVICE>_PORT=<port>"
            )
        state = {"profile": cfg.profile, "ports": dict(cfg.ports), "project": cfg.settings.project}
        (self.run_dir / "stack.json").write_text(json.dumps(state, indent=2) + "\n")
        watch = None
        try:
            for s in specs:
                for folder in s.makes:
                    folder.mkdir(parents=True, exist_ok=True)
                self._procs[s.name] = procs.spawn(s.name, s.argv, s.env, self.run_dir, REPO_ROOT)
            watch = procs.HealthWatch({s.name: s.probe for s in specs}, self._procs, self.timeout)
            # Imported here, while the JVMs boot: the clients take a moment to load.
            from emulators import bootstrap

            for name, failure in watch.ready():
                if failure:
                    raise StackError(f"{name} {failure}; its log ends:\n{self._tail(name)}")
                if name in bootstrap.STEPS:
                    bootstrap.STEPS[name](cfg)
                self._say(f"  {name:<14} ready  {cfg.hostport(name):<16} {_since(t0)}")
            _write_env(self.run_dir / "env", cfg.client_env())
        except BaseException:
            if watch:
                watch.cancel()
            self._stop(dict.fromkeys(self._procs))
            raise
        self._say(
            f"stack ({cfg.profile} profile: {', '.join(cfg.services)}) up in {_since(t0)}; "
            f"client env in {self.run_dir}/env"
        )
        if "web" in cfg.services:
            self._say(
                f"web UI: {cfg.url('web')}/ (sign in with the API key in "
                f"{self.run_dir / 'admin-key'})"
            )

    def down(self) -> list[str]:
        """Stop every process group this run folder started; return the services stopped."""
        if not self.run_dir.is_dir():
            self._say("stack not running")
            return []
        with self._locked():
            live = self.running()
            self._stop(live)
            self._say(f"stopped {', '.join(live)}" if live else "stack not running")
            return list(live)

    def _stop(self, groups: Mapping[str, int | None]) -> None:
        pgids = {n: g or self._procs[n].pid for n, g in groups.items()}
        procs.stop_groups(pgids.values(), popens=self._procs.values())
        self._procs.clear()
        self._forget()

    def _forget(self) -> None:
        """Drop the records of a stopped (or dead) stack; keep logs and generated secrets."""
        for path in [*self.run_dir.glob("*.pid"), self.run_dir / "env"]:
            path.unlink(missing_ok=True)

    def status(self) -> dict[str, str]:
        """Service -> "ready", "not answering" or "stopped", for the recorded profile."""
        saved = _read_json(self.run_dir / "stack.json")
        cfg = self.config
        if saved:
            cfg = StackConfig.resolve(self.run_dir, 0, saved["profile"], saved["ports"])
        live = self.running()

        def state(name: str) -> str:
            if name not in live:
                return "stopped"
            return "ready" if services.probe(cfg, name)() else "not answering"

        return {name: state(name) for name in cfg.services}

    def missing(self, needed: tuple[str, ...]) -> dict[str, str]:
        """Of the services `needed`, those this run folder's stack does not serve, each with
        why ("not running" or "not answering"); {} when all of them are up."""
        saved = _read_json(self.run_dir / "stack.json") or {}
        ports = {**self.config.ports, **saved.get("ports", {})}
        cfg = StackConfig.resolve(self.run_dir, 0, "full", ports)
        live = self.running()
        why = {}
        for name in needed:
            if name not in live:
                why[name] = "not running"
            elif not services.probe(cfg, name)():
                why[name] = "not answering"
        return why

    def _tail(self, name: str, lines: int = 20) -> str:
        try:
            text = (self.run_dir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def watch_children(self) -> str | None:
        """The first service this Stack started whose process has exited, if any."""
        return next((n for n, p in self._procs.items() if p.poll() is not None), None)

    @contextlib.contextmanager
    def outage(self, service: str) -> Iterator[None]:
        """Take ``service`` (firestore, pubsub or storage) away from the functions and the pusher
        for the ``with`` block: its relay drops every connection and refuses new ones; the
        emulator and its data stay. For outage tests, on the ``outage`` profile."""
        relay = f"{service}_relay"
        pgid = self.running().get(relay)
        if pgid is None:
            raise StackError(f"no relay in front of {service}: start the stack's outage profile")
        log = self.run_dir / f"{relay}.log"
        self._signal_and_wait(pgid, signal.SIGUSR1, log, "cut:")
        try:
            yield
        finally:
            self._signal_and_wait(pgid, signal.SIGUSR2, log, "restored:")

    def _signal_and_wait(self, pgid: int, sig: int, log: Path, word: str) -> None:
        seen = log.read_text().count(word) if log.exists() else 0
        os.killpg(pgid, sig)
        deadline = time.monotonic() + self.timeout
        while log.read_text().count(word) <= seen:
            if time.monotonic() > deadline:
                raise StackError(
                    f"{log.stem} did not say {word!r}; its log ends:\n{log.read_text()[-500:]}"
                )
            time.sleep(0.02)

    def restart(self, name: str, *, crash: bool = True) -> None:
        """Stop one service (SIGKILL by default: a crash, not a shutdown) and start it again with
        the same command, then wait until it answers. For chaos tests. The old log is kept as
        ``<name>.log.<n>``, so nothing the service wrote before is lost."""
        spec = next((s for s in services.build(self.config) if s.name == name), None)
        pgid = self.running().get(name)
        if spec is None or pgid is None:
            raise StackError(f"{name} is not a running service of this stack")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL if crash else signal.SIGTERM)
        deadline = time.monotonic() + self.timeout
        while procs.group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if name in self._procs:
            self._procs[name].wait(timeout=5)
        log = self.run_dir / f"{name}.log"
        n = 1 + sum(1 for _ in self.run_dir.glob(f"{name}.log.*"))
        if log.exists():
            log.rename(self.run_dir / f"{name}.log.{n}")
        self._procs[name] = procs.spawn(name, spec.argv, spec.env, self.run_dir, REPO_ROOT)
        while not spec.probe():
            if self._procs[name].poll() is not None or time.monotonic() > deadline:
                raise StackError(f"{name} did not come back; its log ends:\n{self._tail(name)}")
            time.sleep(0.05)


def _since(t0: float) -> str:
    return f"{time.monotonic() - t0:.1f} s"


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_env(path: Path, env: Mapping[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    tmp.replace(path)  # atomic: a reader sees no env file or a whole one


def _dev(stack: Stack) -> int:
    """Up, then wait until Ctrl-C/SIGTERM (or a service dies), then stop what we started."""
    if not stack.up():
        return 1
    stopped = threading.Event()
    code = 0
    try:
        stack._say("stack running; Ctrl-C stops it")
        while not stopped.wait(1.0):
            dead = stack.watch_children()
            if dead:
                stack._say(f"{dead} exited; its log ends:\n{stack._tail(dead)}\nstopping")
                code = 1
                break
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave orphans behind.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stack.down()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators.stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "dev"])
    parser.add_argument(
        "--profile",
        choices=list(PROFILES),
        default="full",
        help="which services: full (the whole stack, the default) or emulators (only those)",
    )
    args = parser.parse_args(argv)
    # SIGTERM and SIGHUP behave like Ctrl-C, so a half-started stack is always stopped again.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    try:
        stack = Stack(profile=args.profile)
        if args.command == "up":
            stack.up()
        elif args.command == "down":
            stack.down()
        elif args.command == "dev":
            return _dev(stack)
        else:
            states = stack.status()
            for name, state in states.items():
                print(f"  {name:<14} {state}")
            return 0 if states and all(v == "ready" for v in states.values()) else 1
    except CloudSwarmError as e:
        print(f"stack: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stack: interrupted; whatever it had started is stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
