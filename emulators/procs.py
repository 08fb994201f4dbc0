"""Process groups: start, recognise, stop. Stdlib only.

Every service runs in its own session, so its group id is its pid and one signal to the group
reaches every child (the gcloud emulators are a Python wrapper around a shell script around
Java). A pid file alone cannot prove a group is still ours after a reboot or pid reuse, so each
child carries a marker in its environment and we check it before signalling.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

PROC = Path("/proc")


def ephemeral_range() -> tuple[int, int] | None:
    """The kernel's range for the local ends of outgoing connections (Linux), if known."""
    try:
        low, high = (PROC / "sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return None


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR: a socket lingering in TIME_WAIT from the last run is no obstacle,
        # only a listener is.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def spawn(
    name: str, argv: list[str], env: Mapping[str, str], run_dir: Path, cwd: Path
) -> subprocess.Popen:
    """Start one service in its own session, output to <name>.log, pid to <name>.pid."""
    with open(run_dir / f"{name}.log", "wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (run_dir / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc


def read_pid_files(run_dir: Path) -> dict[str, int]:
    pids: dict[str, int] = {}
    for path in sorted(run_dir.glob("*.pid")):
        try:
            pids[path.stem] = int(path.read_text().split()[0])
        except (ValueError, IndexError, OSError):
            path.unlink(missing_ok=True)
    return pids


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, pgid) of a process, or None if it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a group."""
    if not PROC.is_dir():  # not Linux: all we can know is whether the group exists
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            return []
        return [pgid]
    members = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st and st[1] == pgid and st[0] != "Z":
                members.append(int(entry.name))
    return members


def is_ours(pgid: int, marker: str) -> bool:
    """A live group with at least one member carrying our marker."""
    members = group_members(pgid)
    if not PROC.is_dir():
        return bool(members)
    needle = marker.encode() + b"\0"
    for pid in members:
        try:
            if needle in (PROC / str(pid) / "environ").read_bytes() + b"\0":
                return True
        except OSError:
            continue
    return False


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _wait_gone(
    pgids: Iterable[int], timeout: float, popens: Iterable[subprocess.Popen]
) -> set[int]:
    pending = set(pgids)
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while pending and time.monotonic() < deadline:
        for p in popens:
            p.poll()  # reap our own children, or they linger as zombies
        pending = {g for g in pending if group_members(g)}
        if pending:
            tick.wait(0.05)
    return pending


def stop_groups(
    pgids: Iterable[int], grace: float = 5.0, popens: Iterable[subprocess.Popen] = ()
) -> None:
    """SIGTERM every group, SIGKILL what is left after `grace`, and return once all are gone."""
    pgids, popens = list(pgids), list(popens)
    for g in pgids:
        _signal_group(g, signal.SIGTERM)
    left = _wait_gone(pgids, grace, popens)
    for g in left:
        _signal_group(g, signal.SIGKILL)
    left = _wait_gone(left, 10.0, popens)
    if left:
        raise RuntimeError(f"process groups {sorted(left)} survived SIGKILL")


def _safely(probe: Callable[[], bool]) -> bool:
    # A half-started server can answer garbage; a probe that raises must not kill the watch.
    try:
        return bool(probe())
    except Exception:
        return False


class HealthWatch:
    """Polls every service's probe in its own thread; `ready()` yields names as they come up.

    A service whose process exits, or that is not ready by the deadline, fails the watch.
    """

    def __init__(
        self,
        probes: Mapping[str, Callable[[], bool]],
        procs: Mapping[str, subprocess.Popen],
        timeout: float,
    ):
        self._cancel = threading.Event()
        self._done: dict[str, str | None] = {}  # name -> None (ready) or why it failed
        self._changed = threading.Condition()
        self._deadline = time.monotonic() + timeout
        self._threads = [
            threading.Thread(target=self._watch, args=(n, probes[n], procs[n]), daemon=True)
            for n in probes
        ]
        for t in self._threads:
            t.start()

    def _watch(self, name: str, probe: Callable[[], bool], proc: subprocess.Popen) -> None:
        verdict: str | None = "cancelled"
        while not self._cancel.is_set():
            if proc.poll() is not None:
                verdict = f"exited with code {proc.returncode}"
                break
            if _safely(probe):
                verdict = None
                break
            if time.monotonic() > self._deadline:
                verdict = "not ready in time"
                break
            self._cancel.wait(0.05)
        with self._changed:
            self._done[name] = verdict
            self._changed.notify_all()

    def ready(self) -> Iterable[tuple[str, str | None]]:
        """(name, None) per ready service, in the order they became ready; (name, why) on
        the first failure, after which the caller should stop."""
        seen: set[str] = set()
        while len(seen) < len(self._threads):
            with self._changed:
                self._changed.wait_for(lambda: set(self._done) - seen)
                new = [n for n in self._done if n not in seen]
            for name in new:
                seen.add(name)
                yield name, self._done[name]

    def cancel(self) -> None:
        self._cancel.set()
