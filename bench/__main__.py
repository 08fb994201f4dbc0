"""``python -m bench``: run the benchmark on a fresh local stack; write bench/results.json,
bench/results.md and bench/chart.png, and print each figure next to its target.

The stack takes the default ports unless CLOUDSWARM_PORT_OFFSET moves them. ``--attach DIR``
reuses a stack already running in DIR (started with bench.env.FUNCTION_ENV), for quick iterations.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import (  # noqa: E402
    fig_board,
    fig_cache,
    fig_context,
    fig_import,
    fig_kill,
    fig_overhead,
    fig_release,
    fig_scale,
    report,
)
from bench.env import BENCH_DIR, Env  # noqa: E402

# Stack figures in the order they run. The kill switch before the scale figure, whose largest
# swarm leaves the emulators busy for a while; the kill figure ends every swarm it leaves behind.
STACK_FIGURES = {
    "overhead": (
        fig_overhead,
        lambda env, quick: fig_overhead.run(env, rounds=12 if quick else 30),
    ),
    "board": (fig_board, lambda env, quick: fig_board.run(env)),
    "cache": (fig_cache, lambda env, quick: fig_cache.run(env)),
    "context": (fig_context, lambda env, quick: fig_context.run(env, pages=12 if quick else 50)),
    "kill": (fig_kill, lambda env, quick: fig_kill.run(env, n=10 if quick else fig_kill.AGENTS)),
    "release": (
        fig_release,
        lambda env, quick: fig_release.run(env, swarms=5 if quick else fig_release.SWARMS),
    ),
    "scale": (
        fig_scale,
        lambda env, quick: fig_scale.run(
            env, sizes=(2, 10) if quick else fig_scale.SIZES, window_s=8 if quick else 15
        ),
    ),
}
ALL = [*STACK_FIGURES, "imports"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--only", default=",".join(ALL), help=f"comma-separated, of: {', '.join(ALL)}")
    p.add_argument("--attach", metavar="RUN_DIR", help="use the stack running in RUN_DIR")
    p.add_argument("--out", default=str(BENCH_DIR), help="where results.* and chart.png go")
    p.add_argument("--quick", action="store_true", help="fewer rounds and agents (smoke run)")
    args = p.parse_args(argv)
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = set(only) - set(ALL)
    if unknown:
        p.error(f"unknown figures {sorted(unknown)}; choose from {', '.join(ALL)}")

    started = time.time()
    load0 = os.getloadavg()[0]
    figures: dict = {}
    methods: dict = {}

    def say(msg: str) -> None:
        print(msg, flush=True)

    wanted = [f for f in STACK_FIGURES if f in only]
    if wanted:
        run_dir = Path(args.attach) if args.attach else BENCH_DIR / ".run"
        say(f"bench: local stack in {run_dir}")
        with Env(run_dir, say=say, attach=bool(args.attach)) as env:
            for name in wanted:
                module, fn = STACK_FIGURES[name]
                say(f"bench: {name} ...")
                t0 = time.time()
                figures[name] = fn(env, args.quick)
                figures[name]["elapsed_s"] = round(time.time() - t0, 1)
                methods[name] = module.__doc__
    if "imports" in only:
        say("bench: imports ...")
        figures["imports"] = fig_import.run()
        methods["imports"] = fig_import.__doc__

    results = {
        "run": {
            "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "duration_s": round(time.time() - started, 1),
            "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}",
            "load_avg_at_start": round(load0, 2),
            "load_avg_at_end": round(os.getloadavg()[0], 2),
            "commit": _commit(),
            "quick": args.quick,
        },
        "figures": figures,
    }
    results["verdicts"] = report.verdicts(figures)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "results.md").write_text(report.markdown(results, methods) + _kept_soak(out))
    note = report.chart(results, out / "chart.png")
    say("")
    say(report.table(results["verdicts"]))
    say("")
    say(f"bench: {out / 'results.json'}, {out / 'results.md'}" + (f"; {note}" if note else ""))
    say(f"bench: chart {out / 'chart.png'}" if not note else "")
    say(f"bench: done in {results['run']['duration_s']:.0f} s")
    return 0


def _kept_soak(out: Path) -> str:
    """The soak's section of results.md (``make soak``, a run of its own), kept as it was."""
    from bench.soak import MARK_END, MARK_START

    old = out / "results.md"
    text = old.read_text() if old.exists() else ""
    if MARK_START not in text or MARK_END not in text:
        return ""
    return "\n" + MARK_START + text.split(MARK_START, 1)[1].split(MARK_END, 1)[0] + MARK_END + "\n"


def _commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return sha + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
