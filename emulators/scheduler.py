"""A stand-in for Cloud Scheduler: POSTs task_dispatch's /sweep on a fixed period.

In GCP a Cloud Scheduler job calls the sweep (terraform/); locally this process does, so stale
leases are recovered and dead-lettered messages reach Firestore (and the UI) the same way.
It answers GET / with OK for the stack's health check.
"""

from __future__ import annotations

import argparse
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):  # quiet: the stack keeps one log per service
        pass


def _sweep_forever(url: str, every_s: float, stop: threading.Event) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while not stop.wait(every_s):
        req = urllib.request.Request(
            url, data=b"{}", method="POST", headers={"content-type": "application/json"}
        )
        try:
            with opener.open(req, timeout=60) as resp:
                print(f"sweep: {resp.status} {resp.read().decode()[:200]}", flush=True)
        except OSError as e:  # the functions may still be starting, or restarting
            print(f"sweep failed: {e}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--url", required=True, help="task_dispatch's /sweep URL")
    ap.add_argument("--every", type=float, default=20.0, help="seconds between sweeps")
    args = ap.parse_args(argv)
    stop = threading.Event()
    threading.Thread(target=_sweep_forever, args=(args.url, args.every, stop), daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _Health)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
