"""emulators/web_server.py: static files, the runtime config, the API pass-through."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from emulators import web_server

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _serve(server) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return t


class FakeApi(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"] or 0))
        out = json.dumps(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body.decode()}
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>ui</title>")
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside")
    api = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    _serve(api)
    env = {
        "GOOGLE_CLOUD_PROJECT": "proj",
        "FIRESTORE_EMULATOR_HOST": "127.0.0.1:18081",
        "CLOUDSWARM_API_URL": f"http://127.0.0.1:{api.server_address[1]}",
    }
    server = web_server.make_server(0, env, dist)
    _serve(server)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        api.shutdown()
        server.server_close()
        api.server_close()


def _get(url: str, data: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with _opener.open(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_config_comes_from_the_environment(served):
    url, _ = served
    status, headers, body = _get(url + "/config.json")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert json.loads(body) == {
        "project_id": "proj",
        "api_base": "",
        "firestore_emulator": {"host": "127.0.0.1", "port": 18081},
        "firebase": None,
    }


def test_static_files_cached_by_kind_and_confined_to_dist(served):
    url, _ = served
    status, headers, body = _get(url + "/")
    assert status == 200 and b"<title>ui</title>" in body
    assert headers["Cache-Control"] == "no-cache"
    status, headers, _ = _get(url + "/assets/app-1234.js")
    assert status == 200 and "immutable" in headers["Cache-Control"]
    assert headers["Content-Type"].startswith("text/javascript")
    assert _get(url + "/assets/missing.js")[0] == 404
    assert _get(url + "/../secret.txt")[0] == 404
    assert _get(url + "/%2e%2e/secret.txt")[0] == 404
    assert _get(url + "/some/app/route")[0] == 200  # falls back to index.html


def test_api_requests_pass_through_with_their_headers(served):
    url, _ = served
    status, _, body = _get(
        url + "/api/swarms?x=1",
        data=b'{"goal":"g"}',
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
    )
    assert status == 201
    assert json.loads(body) == {
        "path": "/api/swarms?x=1",
        "auth": "Bearer t",
        "body": '{"goal":"g"}',
    }


def test_an_unreachable_api_is_a_clear_502(tmp_path):
    env = {"CLOUDSWARM_API_URL": "http://127.0.0.1:9"}
    server = web_server.make_server(0, env, tmp_path)
    _serve(server)
    try:
        status, _, body = _get(f"http://127.0.0.1:{server.server_address[1]}/api/health")
        assert status == 502
        assert json.loads(body)["error"]["code"] == "api_unreachable"
        status, _, body = _get(f"http://127.0.0.1:{server.server_address[1]}/")
        assert status == 503 and b"make web" in body
    finally:
        server.shutdown()
        server.server_close()


def test_port_follows_the_stack_offset():
    assert web_server.web_port({}) == 8080
    assert web_server.web_port({"CLOUDSWARM_PORT_OFFSET": "50000"}) == 58080
    assert web_server.web_port({"CLOUDSWARM_WEB_PORT": "9999"}) == 9999
