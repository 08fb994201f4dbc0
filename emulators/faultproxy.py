"""A TCP relay in front of one emulator that an outage test can cut and restore.

Killing an emulator is no outage: the local emulators keep their data in memory, so a restart
loses the swarm. A relay between the functions and the emulator can take the service away and
give it back with its data intact. SIGUSR1 cuts: every open connection is closed and the port
stops listening, so clients see connections reset and then refused, as when a service is gone.
SIGUSR2 restores. Each change is one line on stdout (the service's log), with the time.

Why our own: toxiproxy, the usual tool, ships as a Go binary that no registry reachable here
carries, and the Python packages that wrap it need that binary. Relaying bytes and dropping
connections is all the outage tests need, in some seventy lines of asyncio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time

HOST = "127.0.0.1"
CHUNK = 64 * 1024


class Relay:
    def __init__(self, listen: int, target: int) -> None:
        self.listen, self.target = listen, target
        self.server: asyncio.base_events.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def serve(self) -> None:
        self.server = await asyncio.start_server(self._client, HOST, self.listen)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.target)
        except OSError:
            writer.close()  # the emulator itself is not there: the client sees it refused
            return
        self.open |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except asyncio.CancelledError:
            pass  # the connection was cut: nothing more to relay
        finally:
            for w in (writer, up_writer):
                self.open.discard(w)
                w.close()

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        dropped = len(self.open)
        for w in list(self.open):
            transport = w.transport
            if transport is not None:
                transport.abort()  # a reset, not a polite close: the peer learns at once
        self.open.clear()
        _say(f"cut: port {self.listen} closed, {dropped // 2} connection(s) dropped")

    async def restore(self) -> None:
        if self.server is None:
            await self.serve()
        _say(f"restored: port {self.listen} relays to {self.target} again")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        if writer.can_write_eof():
            writer.write_eof()


def _say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


async def _main(listen: int, target: int) -> None:
    relay = Relay(listen, target)
    await relay.serve()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, lambda: loop.create_task(relay.cut()))
    loop.add_signal_handler(signal.SIGUSR2, lambda: loop.create_task(relay.restore()))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    _say(f"relaying {HOST}:{listen} to {HOST}:{target}")
    await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--to", type=int, required=True, dest="target")
    args = parser.parse_args(argv)
    asyncio.run(_main(args.listen, args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
