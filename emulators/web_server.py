"""Serve the built web UI (web/dist) for the local stack: `python -m emulators.web_server`.

Besides the static files it answers two things the bundle must not have baked in:

- ``/config.json``: the project id, where the API is and where the Firestore emulator is, made
  from the environment the stack gives every client (GOOGLE_CLOUD_PROJECT,
  FIRESTORE_EMULATOR_HOST, CLOUDSWARM_API_URL).
- ``/api/...``: passed through to CLOUDSWARM_API_URL, so the browser talks to one origin and the
  local API needs no CORS. (A deployment serves the API from its own origin and sets
  ``api_base`` in its config.json instead.)

Port: 8080 + CLOUDSWARM_PORT_OFFSET, or CLOUDSWARM_WEB_PORT, or --port. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import mimetypes
import os
import sys
import urllib.parse
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DIST = REPO_ROOT / "web" / "dist"
DEFAULT_PORT = 8080
LOCAL_PROJECT = "cloudswarm-local"
# Hop-by-hop headers are the proxy's own business, never forwarded (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
API_TIMEOUT_S = 120
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("application/manifest+json", ".webmanifest")


def web_port(env: Mapping[str, str]) -> int:
    raw = env.get("CLOUDSWARM_WEB_PORT") or ""
    if raw:
        return int(raw)
    return DEFAULT_PORT + int(env.get("CLOUDSWARM_PORT_OFFSET") or 0)


def runtime_config(env: Mapping[str, str]) -> dict:
    """What the browser needs to find its backends; nothing secret goes in here."""
    emulator = None
    host = env.get("FIRESTORE_EMULATOR_HOST", "")
    if host:
        name, _, port = host.rpartition(":")
        emulator = {"host": name or "127.0.0.1", "port": int(port)}
    firebase = {
        key: env[var]
        for key, var in (
            ("apiKey", "CLOUDSWARM_FIREBASE_API_KEY"),
            ("authDomain", "CLOUDSWARM_FIREBASE_AUTH_DOMAIN"),
            ("appId", "CLOUDSWARM_FIREBASE_APP_ID"),
        )
        if env.get(var)
    }
    return {
        "project_id": env.get("GOOGLE_CLOUD_PROJECT") or LOCAL_PROJECT,
        # "" means this origin: the server below passes /api/ through to the API.
        "api_base": env.get("CLOUDSWARM_WEB_API_BASE", ""),
        "firestore_emulator": emulator,
        "firebase": firebase or None,
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "cloudswarm-web"
    dist: Path = DIST
    config: dict = {}
    api_url: str = ""

    def log_message(self, fmt: str, *args) -> None:
        if os.environ.get("CLOUDSWARM_WEB_QUIET") != "1":
            sys.stderr.write(f"web {self.address_string()} {fmt % args}\n")

    # -- routing -------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route()

    def do_HEAD(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_PUT(self) -> None:
        self._route()

    def do_DELETE(self) -> None:
        self._route()

    def do_PATCH(self) -> None:
        self._route()

    def _route(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/api" or path.startswith("/api/"):
            self._proxy()
        elif self.command not in ("GET", "HEAD"):
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed\n", "text/plain")
        elif path == "/config.json":
            body = json.dumps(self.config, indent=2).encode()
            self._send(HTTPStatus.OK, body, "application/json", cache="no-store")
        elif path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n", "text/plain", cache="no-store")
        else:
            self._static(path)

    # -- static files --------------------------------------------------------------------

    def _static(self, path: str) -> None:
        root = self.dist.resolve()
        if not (root / "index.html").is_file():
            msg = f"the web UI is not built: run `make web` (looked in {root})\n"
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, msg.encode(), "text/plain")
            return
        rel = urllib.parse.unquote(path).lstrip("/") or "index.html"
        target = (root / rel).resolve()
        if not target.is_relative_to(root):
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
            return
        if not target.is_file():
            if "." in Path(rel).name:  # a missing asset, not an app route
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
                return
            target = root / "index.html"  # the app routes with the hash; this is a fallback
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/json", "image/svg+xml"):
            ctype += "; charset=utf-8"
        # Vite fingerprints everything under assets/: cache it for good, never index.html.
        cache = (
            "public, max-age=31536000, immutable" if target.parent.name == "assets" else "no-cache"
        )
        self._send(HTTPStatus.OK, target.read_bytes(), ctype, cache=cache)

    def _send(self, status: int, body: bytes, ctype: str, cache: str = "no-cache") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # -- the API pass-through ------------------------------------------------------------

    def _proxy(self) -> None:
        if not self.api_url:
            body = _error("api_unconfigured", "CLOUDSWARM_API_URL is not set for the web server")
            self._send(HTTPStatus.BAD_GATEWAY, body, "application/json")
            return
        up = urllib.parse.urlsplit(self.api_url)
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        target = up.path.rstrip("/") + self.path
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=API_TIMEOUT_S)
        try:
            conn.request(self.command, target, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError as e:
            body = _error("api_unreachable", f"the API at {self.api_url} did not answer: {e}")
            self._send(HTTPStatus.BAD_GATEWAY, body, "application/json")
            return
        finally:
            conn.close()
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def make_server(
    port: int, env: Mapping[str, str], dist: Path = DIST, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    handler = type(
        "BoundHandler",
        (Handler,),
        {
            "dist": dist,
            "config": runtime_config(env),
            "api_url": env.get("CLOUDSWARM_API_URL", ""),
        },
    )
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="default: 8080 + CLOUDSWARM_PORT_OFFSET")
    parser.add_argument("--dist", type=Path, default=DIST, help="the built app (web/dist)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    port = args.port or web_port(env)
    server = make_server(port, env, args.dist)
    print(f"web UI on http://127.0.0.1:{port}/ (serving {args.dist})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
