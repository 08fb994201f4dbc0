"""Run gcp-storage-emulator in memory, without rewriting its whole catalogue on every write.

The emulator keeps every object's metadata in one dictionary and, after each object written
(and each bucket change), serialises all of it as indented JSON into a ``.meta`` file, so that a
restart on disk finds its objects again. In memory that file lives in the same dictionary as the
objects and is read only when the process starts, when it cannot exist yet: the write is pure
cost, and it grows with every object ever stored (about 10 ms per 1,000 objects on a CI-sized
machine). The server answers one request at a time, so a stack that has written a few thousand
transcripts and conversation snapshots spent most of each turn queued behind that serialisation
(bench/results.md, throughput at 100 agents). Cloud Storage has nothing like it.

This builds the same server from the emulator's parts, with that write skipped in memory only.
Everything else (routes, object metadata, listing, the one-request-at-a-time server) is the
emulator's own.
"""

from __future__ import annotations

import argparse
import logging
import sys

from gcp_storage_emulator import server
from gcp_storage_emulator.storage import Storage


def _no_catalogue_in_memory() -> None:
    write = Storage._write_config_to_file

    def write_config(self: Storage) -> None:
        if self._use_memory_fs:
            return  # read back only at start-up, when an in-memory store is empty anyway
        write(self)

    Storage._write_config_to_file = write_config  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # As the emulator's own ``start`` does: each request is logged (the stack's storage.log).
    root = logging.getLogger("")
    root.addHandler(logging.StreamHandler())
    root.setLevel(logging.DEBUG)
    _no_catalogue_in_memory()
    srv = server.create_server(args.host, args.port, in_memory=True)
    print(f"storage emulator: serving on {args.host}:{args.port} (in memory)", flush=True)
    srv.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
