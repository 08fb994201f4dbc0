"""Helpers shared by every test folder.

The repo root goes on sys.path so `emulators` imports (the `cloudswarm` package is installed in
the venv; `emulators` is not a package that gets installed).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

PROC = Path("/proc")


def wait_until(condition: Callable[[], object], timeout: float = 10.0, every: float = 0.05):
    """Poll `condition` until it returns something truthy (returned) or `timeout` passes (None).

    For state that gives no event to wait on (a process exiting, a port closing).
    """
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result or None
        tick.wait(every)


def stack_environ() -> dict[str, str]:
    """os.environ without what would steer a test stack onto a developer's ports or run folder."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CLOUDSWARM_PORT_OFFSET", "CLOUDSWARM_RUN_DIR")
        and not (k.startswith("CLOUDSWARM_") and k.endswith("_PORT"))
    }
    # A developer's own schedules (terraform/schedules.auto.tfvars.json) never fire in a test
    # stack; a test that wants schedules names its own file.
    env.setdefault("CLOUDSWARM_SCHEDULES_FILE", "")
    return env


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (TIME_WAIT leftovers do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pids_with_env(entry: str) -> set[int]:
    """Live processes whose environment holds `entry` ("KEY=value"), e.g. a stack's marker."""
    needle = b"\0" + entry.encode() + b"\0"
    found = set()
    for proc in PROC.iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if needle in b"\0" + (proc / "environ").read_bytes() + b"\0":
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.add(int(proc.name))
        except (OSError, IndexError):
            continue
    return found


def _listen_inodes() -> dict[str, tuple[str, int]]:
    """socket inode -> (address, port) for every TCP socket in LISTEN state."""
    found = {}
    for table in ("tcp", "tcp6"):
        lines = (PROC / "net" / table).read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A":  # LISTEN
                continue
            hexaddr, hexport = local.split(":")
            raw = bytes.fromhex(hexaddr)
            # The kernel prints each 32-bit word in host (little-endian) order.
            addr = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found[inode] = (str(ipaddress.ip_address(addr)), int(hexport, 16))
    return found


def listening_sockets(pids: Iterable[int]) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every listening TCP socket the given processes hold."""
    inodes = _listen_inodes()
    out = []
    for pid in pids:
        try:
            fds = os.listdir(PROC / str(pid) / "fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(PROC / str(pid) / "fd" / fd)
            except OSError:
                continue
            inode = target.removeprefix("socket:[").removesuffix("]")
            if target.startswith("socket:[") and inode in inodes:
                out.append((pid, *inodes[inode]))
    return out


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback
