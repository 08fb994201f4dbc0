"""``python -m bench.soak`` (``make soak``): the large scenario on repeat under the chaos faults,
for a set time, on a fresh local stack; the functions' processes sampled all along.

Each round starts the large scenario (a lead, 9 teammates, 30 tasks) with turns killed at every
step, doorbells delivered twice and the model answering 429/529/500 or stalling now and then,
waits for it to finish and checks the chaos suite's invariants on it (completed, every task done
once, no message lost or doubled, no lease left, within budget, no hot loop). Meanwhile every
function's process group is sampled: resident memory, threads, open file descriptors and sockets.
Growth is judged after a warm-up (half the run by default: thread pools and client connection
pools fill up to their bounds meanwhile, and a filled pool is no leak): the last window's mean
against the first window after the warm-up. A leak keeps growing; a pool stops.

Writes bench/soak.json and the soak section of bench/results.md. Not part of CI (it runs for
half an hour by default); the figures in results.md say when and on what they were taken.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import threading
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.env import BENCH_DIR, ModelControl  # noqa: E402
from emulators.config import FUNCTION_SIGNATURES  # noqa: E402

# The chaos suite's own settings and invariants: the soak holds each round to exactly what
# tests/e2e/test_chaos_large.py holds its one run to, with one definition of both.
from tests.e2e.chaos_checks import CHAOS_ENV, STALL_S  # noqa: E402

FUNCTION_ENV = {**CHAOS_ENV, "CLOUDSWARM_CHAOS_CRASH_RATE": "0.02", "CLOUDSWARM_CHAOS_SEED": "5"}
FAULTS = dict(rate_429=0.03, rate_529=0.03, rate_500=0.03, stall_s=STALL_S, rate_stall=0.02)
SAMPLE_EVERY_S = 10.0
ROUND_TIMEOUT_S = 600.0
# Growth allowed between the first window after warm-up and the last one: noise, not a leak.
LIMITS = {"rss_mb": 0.10, "threads": 0.10, "fds": 0.10}  # as a share of the first window
MARK_START, MARK_END = "<!-- soak:start -->", "<!-- soak:end -->"
PROC = Path("/proc")


def group_members(pgid: int) -> list[int]:
    """The processes of one process group (a function's gunicorn and its workers)."""
    out = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == pgid:
                out.append(int(entry.name))
        except OSError:
            continue
    return out


def sample_process(pid: int) -> dict[str, float]:
    status = (PROC / str(pid) / "status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    fds = list((PROC / str(pid) / "fd").iterdir())
    sockets = 0
    for fd in fds:
        try:
            sockets += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return {
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
        "fds": len(fds),
        "sockets": sockets,
    }


def sample_group(pgid: int) -> dict[str, float]:
    total = {"rss_mb": 0.0, "threads": 0, "fds": 0, "sockets": 0, "processes": 0}
    for pid in group_members(pgid):
        try:
            one = sample_process(pid)
        except (OSError, KeyError, ValueError):
            continue  # gone between the listing and the read
        for k, v in one.items():
            total[k] += v
        total["processes"] += 1
    return total


class Sampler(threading.Thread):
    def __init__(self, groups: dict[str, int]):
        super().__init__(daemon=True)
        self.groups, self.samples = groups, []
        self.stop = threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.is_set():
            row = {"t": round(time.monotonic() - t0, 1)}
            row.update({name: sample_group(g) for name, g in self.groups.items()})
            self.samples.append(row)
            self.stop.wait(SAMPLE_EVERY_S)


def growth(samples: list[dict], warmup_s: float, window_s: float) -> dict:
    """Per function and measure: the mean of the first window after warm-up, of the last
    window, and the change between them as a share of the first."""
    after = [s for s in samples if s["t"] >= warmup_s]
    if not after:
        return {}
    first = [s for s in after if s["t"] < after[0]["t"] + window_s]
    last = [s for s in after if s["t"] > after[-1]["t"] - window_s]
    out: dict = {}
    for fn in FUNCTION_SIGNATURES:
        out[fn] = {}
        for k in ("rss_mb", "threads", "fds", "sockets"):
            a = sum(s[fn][k] for s in first) / len(first)
            b = sum(s[fn][k] for s in last) / len(last)
            out[fn][k] = {
                "first": round(a, 1),
                "last": round(b, 1),
                "change": round((b - a) / a, 3) if a else 0.0,
            }
    return out


def run_round(stack, model: ModelControl, n: int) -> dict:
    from cloudswarm import runtime, service
    from cloudswarm.core.models import Budget
    from tests.e2e.chaos_checks import assert_chaos_invariants

    model.reset("large")
    model.faults(seed=100 + n, **FAULTS)
    t0 = time.time()
    sid, _ = service.start_swarm("large", actor="soak", budget=Budget(usd=20))
    store = runtime.store()
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    tick = threading.Event()
    status = store.get_swarm(sid)["status"]
    while status == "running" and time.monotonic() < deadline:
        tick.wait(1.0)
        status = store.get_swarm(sid)["status"]
    row = {"round": n, "swarm": sid, "seconds": round(time.time() - t0, 1), "status": status}
    try:
        seen = assert_chaos_invariants(stack.run_dir, sid, model.requests(), tasks=30, agents=10)
        row.update(
            # crashes() reads every agent_turn log of the run: a running total, not this round's
            ok=True,
            crashes_so_far=sum(seen["crashes"].values()),
            faults=sum(seen["faults"].values()),
        )
    except AssertionError as e:
        row.update(ok=False, why=str(e)[:2000])
    return row


def write_results(out: Path, result: dict) -> None:
    (out / "soak.json").write_text(json.dumps(result, indent=1) + "\n")
    results_md = out / "results.md"
    section = render(result)
    text = results_md.read_text() if results_md.exists() else ""
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        tail = rest.split(MARK_END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    results_md.write_text(text)


def render(r: dict) -> str:
    rounds = r["rounds"]
    ok = sum(1 for x in rounds if x["ok"])
    lines = [
        MARK_START,
        "## Soak (`make soak`)",
        "",
        f"Taken {r['started']} on {r['machine']}: {r['minutes']} minutes of the large scenario "
        f"(10 agents, 30 tasks) on repeat under the chaos faults (turns killed at every step, "
        f"doorbells delivered twice, model 429/529/500 and stalls). Each round is held to the "
        f"chaos suite's invariants; the functions' process groups were sampled every "
        f"{SAMPLE_EVERY_S:g} s. Growth: the mean of the last {r['window_s']:g} s against the "
        f"first {r['window_s']:g} s after a {r['warmup_s']:g} s warm-up; the limit is "
        f"{LIMITS['rss_mb']:.0%} of the first.",
        *(["", f"Commit `{r['commit']}`."] if r.get("commit") else []),
        *(["", f"Note: {r['judged']}."] if r.get("judged") else []),
        "",
        f"Rounds: {len(rounds)}, {ok} keeping every invariant (0 lost, 0 duplicated, 0 leases "
        f"left), {len(rounds) - ok} not; turns killed by chaos: "
        f"{max((x.get('crashes_so_far', 0) for x in rounds), default=0)}; model faults injected: "
        f"{sum(x.get('faults', 0) for x in rounds)}.",
        "",
        "| function | RSS MB first -> last | threads | fds | sockets | growth within limit |",
        "|---|---|---|---|---|---|",
    ]
    for fn, m in r["growth"].items():
        within = all(m[k]["change"] <= LIMITS[k] for k in LIMITS)
        cells = [f"{m[k]['first']:g} -> {m[k]['last']:g}" for k in ("rss_mb", "threads", "fds")]
        cells.append(f"{m['sockets']['first']:g} -> {m['sockets']['last']:g}")
        lines.append(f"| {fn} | " + " | ".join(cells) + f" | {'yes' if within else 'no'} |")
    failed = [x for x in rounds if not x["ok"]]
    for x in failed:
        lines.append("")
        lines.append(f"Round {x['round']} ({x['swarm']}, {x['status']}) failed: {x['why'][:300]}")
    lines.append(MARK_END)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    p.add_argument("--minutes", type=float, default=30.0, help="how long to keep starting rounds")
    p.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="seconds before growth counts (default: half the run; pools fill up meanwhile)",
    )
    p.add_argument("--window", type=float, default=300.0, help="seconds in each growth window")
    p.add_argument("--out", default=str(BENCH_DIR), help="where soak.json and results.md go")
    args = p.parse_args(argv)
    if args.warmup is None:
        args.warmup = args.minutes * 30
    if args.minutes * 60 < args.warmup + 2 * args.window:
        p.error("--minutes must cover the warm-up and two windows")

    from emulators.stack import Stack
    from tests.conftest import stack_environ
    from tests.e2e.conftest import reset_runtime

    for key, value in FUNCTION_ENV.items():
        os.environ[key] = value  # the functions inherit this process's environment
    os.environ.pop("ANTHROPIC_API_KEY", None)
    stack = Stack(run_dir=BENCH_DIR / ".run-soak", profile="full", environ=stack_environ())
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    stack.up()
    sampler = None
    rounds: list[dict] = []
    try:
        os.environ.update(stack.env())
        reset_runtime()
        model = ModelControl(stack.config.url("model"))
        groups = {fn: g for fn, g in stack.running().items() if fn in FUNCTION_SIGNATURES}
        sampler = Sampler(groups)
        sampler.start()
        end = time.monotonic() + args.minutes * 60
        n = 0
        while time.monotonic() < end:
            n += 1
            try:
                row = run_round(stack, model, n)
            except Exception as e:  # a round that breaks is a finding, not the end of the soak
                row = {
                    "round": n,
                    "ok": False,
                    "status": "error",
                    "swarm": "-",
                    "why": "".join(traceback.format_exception_only(e)).strip(),
                }
            rounds.append(row)
            print(f"soak round {n}: {row}", flush=True)
    finally:
        if sampler is not None:
            sampler.stop.set()
            sampler.join()
        stack.down()
    from bench.__main__ import _commit

    result = {
        "started": started,
        "commit": _commit(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}",
        "minutes": args.minutes,
        "warmup_s": args.warmup,
        "window_s": args.window,
        "limits": LIMITS,
        "rounds": rounds,
        "growth": growth(sampler.samples if sampler else [], args.warmup, args.window),
        "samples": sampler.samples if sampler else [],
    }
    write_results(Path(args.out), result)
    ok = all(x["ok"] for x in rounds) and all(
        m[k]["change"] <= LIMITS[k] for m in result["growth"].values() for k in LIMITS
    )
    print(render(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
