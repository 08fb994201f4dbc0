"""The web UI in Debian's Chromium against the whole local stack.

The browser part is web/tests/browser/run.mjs (playwright-core); this module gives it a running
stack (the `full` profile: real turns on the local model server), API keys for each role, a
seeded swarm of 20 agents and 200 tasks with a pending approval, a research swarm run with server
tools (the model server's `research` scenario) whose transcript holds searches, a fetched page,
code output and citations, and the web server. Screenshots of every main view land in
test-artifacts/screenshots/ (git-ignored), with timings.json.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from google.cloud import firestore

from cloudswarm import runtime, service
from cloudswarm.api.keys import bootstrap_admin_key, generate_key
from cloudswarm.core import board
from cloudswarm.core.models import Budget
from cloudswarm.gcp.journal import Workspace
from emulators.model_server.scenario import load
from emulators.stack import Stack
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import ModelServer, wait_for_status

WEB = REPO_ROOT / "web"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CLOUDSWARM_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.timeout(600)


def built_web() -> Path:
    """web/dist, built now (`make web`: npm ci when needed, then vite build)."""
    if not shutil.which("npm"):
        pytest.fail("Node.js and npm are needed for the web UI: see `make prereqs`")
    subprocess.run(["make", "--no-print-directory", "web"], cwd=REPO_ROOT, check=True)
    return WEB / "dist"


def _load_seed():
    spec = importlib.util.spec_from_file_location("seed_demo", WEB / "scripts" / "seed_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def web_url(full_stack: Stack) -> str:
    """The stack's own web server, serving the app built now."""
    built_web()
    return full_stack.config.url("web")


REPORT_V1 = "# Bake sale report\n\n- cakes: 12\n"
REPORT_V2 = (
    "# Bake sale report\n\n- cakes: 14\n- **pies**: 3\n\n<script>window.__pwned=1</script>\n"
)


def _write_report(sid: str) -> None:
    """Two versions of report.md in the seeded swarm's workspace, written as the tool writes:
    the content to GCS by digest, then the index rule (which keeps each version's record)."""
    store = runtime.store()
    ws = Workspace(runtime.blobs(), runtime.settings().bucket("artifacts"))
    for i, (data, expected) in enumerate(((REPORT_V1, None), (REPORT_V2, 1))):
        raw = data.encode()
        rule = board.write_artifact(sid, "lead", "report.md", ws.put(sid, raw), len(raw), expected)
        assert not store.effect(sid, f"tu-report-{i}", "write_artifact", rule).is_error


def _research_swarm(stack: Stack) -> str:
    """A completed swarm of the model server's `research` scenario (searches, a fetch, code),
    run before the browser starts; the server then answers with its usual scenario again."""
    server = ModelServer(stack.env()["CLOUDSWARM_MODEL_URL"])
    usual = server._call("/_control/scenario")["scenario"]
    server._call("/_control/scenario", {"name": "research"})
    try:
        tools = {"web_search": {"max_uses": 2}, "web_fetch": {"max_uses": 1}, "code_execution": {}}
        sid, _ = service.start_swarm("research", actor="e2e", budget=Budget(usd=5), tools=tools)
        swarm = wait_for_status(sid, {"completed", "failed", "paused"})
        assert swarm["status"] == "completed", swarm
    finally:
        server._call("/_control/scenario", {"name": usual})
    return sid


def test_ui_in_a_browser(full_stack: Stack, web_url: str) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make web-setup` (installs Debian's chromium)")
    keys = {
        role: bootstrap_admin_key(generate_key(), name=f"e2e-{role}", role=role)
        for role in ("admin", "operator", "viewer")
    }
    db = firestore.Client(project=full_stack.config.settings.project)
    seeded = _load_seed().seed_big_swarm(db, agents=20, tasks=200)
    _write_report(seeded)
    research = _research_swarm(full_stack)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "WEB_URL": web_url,
        "KEYS": json.dumps(keys),
        "SEED_SID": seeded,
        "RESEARCH_SID": research,
        "RESEARCH": json.dumps(load("research").data),
        "SCREENSHOTS": str(SCREENSHOTS),
        "CHROMIUM": CHROMIUM,
    }
    proc = subprocess.run(
        ["node", "tests/browser/run.mjs"],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    print(proc.stdout)
    print(proc.stderr)
    assert proc.returncode == 0, (
        f"browser test failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    )
    shots = sorted(p.name for p in SCREENSHOTS.glob("*.png"))
    assert len(shots) >= 15, shots
    timings = json.loads((SCREENSHOTS / "timings.json").read_text())
    assert timings["first_view_median_ms"] < 1000, timings
