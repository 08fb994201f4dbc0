"""The API's layering, read from its source: no Firestore client outside gcp/, and routes that
use only the services they are handed (``call.services``), never a service locator.

Read as text (ast), not by importing: an import made inside a function counts as much as one at
the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[2] / "shared" / "cloudswarm" / "api"
ROUTES = sorted((API / "routes").glob("*.py"))
# The operations the routes, the triggers and the CLI share (start a swarm, the kill switch, a
# human's message, wake-ups, the lease sweep): store methods too, never Firestore itself.
SERVICE = API.parent / "service.py"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("path", [*sorted(API.rglob("*.py")), SERVICE], ids=str)
def test_no_google_client_library_in_the_api(path):
    google = {n for n in _imports(_tree(path)) if n.startswith("google")}
    assert google == set(), (
        f"{path.name} imports a Google client library: put that code in cloudswarm.gcp and "
        "hand the API an interface (see api/deps.py)"
    )


@pytest.mark.parametrize("path", ROUTES, ids=lambda p: p.name)
def test_routes_use_only_the_services_they_are_handed(path):
    tree = _tree(path)
    imported = _imports(tree)
    located = {"cloudswarm.runtime", "cloudswarm.api.deps", "cloudswarm.service"} & imported
    assert not located, f"{path.name} locates its own services ({located}): use call.services"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("p", "db"):
            # store.p / store.db: the store's Firestore plumbing, not its methods.
            inner = node.value
            held = inner.attr if isinstance(inner, ast.Attribute) else getattr(inner, "id", "")
            assert held != "store", f"{path.name}:{node.lineno} reaches into store.{node.attr}"


def test_the_shared_operations_reach_firestore_only_through_store_methods():
    reached = [
        f"service.py:{node.lineno} .{node.attr}"
        for node in ast.walk(_tree(SERVICE))
        if isinstance(node, ast.Attribute) and node.attr in ("p", "db")
    ]
    assert reached == [], f"the store's Firestore plumbing used directly: {reached}"
