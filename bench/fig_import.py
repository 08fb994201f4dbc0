"""Cold import time of each function entry point.

For each entry point in functions/main.py, a fresh interpreter of the project venv runs
``python -X importtime -c "import main"`` from functions/ (as the Cloud Functions runtime loads
the source), plus the imports that entry point makes lazily on its first call (read from its body
with ``ast``: the api imports the HTTP app only when a request comes). The figure is the sum of
the cumulative times of the modules those statements import (importtime's own report, interpreter
start-up excluded), median of five runs after one unmeasured run that fills the bytecode cache.
"""

from __future__ import annotations

import ast
import statistics
import subprocess
import sys

from bench.env import REPO_ROOT

MAIN = REPO_ROOT / "functions" / "main.py"
MARK = "@@cloudswarm-bench@@"
RUNS = 5


def entry_points() -> dict[str, list[str]]:
    """Entry point -> the modules its body imports on first use."""
    tree = ast.parse(MAIN.read_text())
    out = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        if not any(_is_entry(d) for d in node.decorator_list):
            continue
        lazy = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom) and sub.module:
                lazy.append(sub.module)
            elif isinstance(sub, ast.Import):
                lazy.extend(a.name for a in sub.names)
        out[node.name] = lazy
    return out


def _is_entry(dec) -> bool:
    target = dec.func if isinstance(dec, ast.Call) else dec
    return isinstance(target, ast.Attribute) and target.attr in ("cloud_event", "http")


def measure(lazy: list[str]) -> tuple[float, list[tuple[str, float]]]:
    stmts = "; ".join(["import main", *(f"import {m}" for m in lazy)])
    code = f"import sys; sys.stderr.write('{MARK}\\n'); {stmts}"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=MAIN.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = proc.stderr.split(MARK, 1)[1].splitlines()
    top, children = [], []
    for line in lines:
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, raw = line.split(":", 1)[1].split("|")
        # Nesting is two spaces per level after the bar's own space.
        level = (len(raw) - len(raw.lstrip(" ")) - 1) // 2
        entry = (raw.strip(), int(cumulative) / 1e6)
        if level == 0:
            top.append(entry)
        elif level <= 4 and not entry[0].startswith(("cloudswarm", "main")):
            children.append(entry)
    # Where the time goes: the slowest third-party packages, each counted once at its top.
    heaviest: list[tuple[str, float]] = []
    for name, secs in sorted(children, key=lambda x: -x[1]):
        if not any(_root(h) == _root(name) for h, _ in heaviest):
            heaviest.append((name, secs))
    return sum(t for _, t in top), heaviest[:6]


def _root(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:3] if parts[0] == "google" else parts[:1])


def run() -> dict:
    points = entry_points()
    measure([])  # fill the bytecode cache
    runs: dict[str, list] = {name: [] for name in points}
    for _ in range(RUNS):  # round-robin, so a busy moment does not land on one entry point
        for name, lazy in points.items():
            runs[name].append(measure(lazy))
    results = {}
    for name, lazy in points.items():
        totals = [t for t, _ in runs[name]]
        heaviest = runs[name][totals.index(sorted(totals)[len(totals) // 2])][1]
        results[name] = {
            "seconds": round(statistics.median(totals), 3),
            "runs": [round(t, 3) for t in totals],
            "lazy_imports": lazy,
            "heaviest": [{"module": m, "seconds": round(s, 3)} for m, s in heaviest],
        }
    return {"entry_points": results, "max_s": max(r["seconds"] for r in results.values())}
