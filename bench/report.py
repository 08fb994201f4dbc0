"""Turn the figures into results.json, a markdown table (results.md) and a chart (chart.png)."""

from __future__ import annotations

import json
from pathlib import Path


def verdicts(r: dict) -> list[dict]:
    """One row per figure: what was measured, the target, whether it was met."""
    rows = []
    if o := r.get("overhead"):
        rows.append(
            {
                "figure": "Orchestration overhead per turn (zero-latency model)",
                "measured": f"{o['ratio']:.2f}x the floor ({o['median_ms']['full']:.0f} ms vs "
                f"{o['median_ms']['floor']:.0f} ms, median of {o['rounds']})",
                "target": "<= 1.3x",
                "met": o["ratio"] <= 1.3 and o["firestore_calls_match"],
            }
        )
    if b := r.get("board"):
        w, a = b["turns"]["work"], b["turns"]["approval"]
        rows.append(
            {
                "figure": "Firestore reads/writes per turn, 10 vs 1,000 tasks",
                "measured": f"work turn {w['10']['reads']}/{w['10']['writes']} vs "
                f"{w['1000']['reads']}/{w['1000']['writes']}; approval turn "
                f"{a['10']['reads']}/{a['10']['writes']} vs "
                f"{a['1000']['reads']}/{a['1000']['writes']}",
                "target": "equal (bounded)",
                "met": b["bounded"],
            }
        )
    if s := r.get("scale"):
        pts = s["points"]
        tps = [p["turns_per_s"] for p in pts]
        grows = len(tps) > 1 and tps[1] > 1.5 * tps[0]
        peak, holds = 0.0, True
        for x in tps:
            holds = holds and x >= 0.75 * peak
            peak = max(peak, x)
        text = ", ".join(f"{p['agents']}: {p['turns_per_s']:.1f}/s" for p in pts)
        lat = ", ".join(
            f"{p['agents']}: {_ms(p['delivery_p50_ms'])}/{_ms(p['delivery_p99_ms'])}" for p in pts
        )
        rows.append(
            {
                "figure": f"Throughput vs agents (model latency {s['latency_s']:g} s per call)",
                "measured": f"turns/s {text}; unread after drain "
                f"{sum(p['unread_after_drain'] for p in pts)}, leases held by dead turns "
                f"{sum(len(p['stuck_leases']) for p in pts)}, duplicated "
                f"{sum(p['duplicated'] for p in pts)}",
                "target": "grows until the emulator saturates; no turn lost",
                "met": grows and holds and s["no_turn_lost"],
            }
        )
        rows.append(
            {
                "figure": "Message delivery latency p50/p99 (send to recipient's turn)",
                "measured": lat,
                "target": "(reported)",
                "met": None,
            }
        )
    if k := r.get("kill"):
        rows.append(
            {
                "figure": f"Kill switch time-to-halt, {k['agents']} agents streaming",
                "measured": f"{k['time_to_halt_s'] * 1000:.0f} ms to the last stream closed; "
                f"{k['requests_after_engage']} requests after",
                "target": "< 1 s, no request after",
                "met": k["time_to_halt_s"] < 1.0 and k["requests_after_engage"] == 0,
            }
        )
    if c := r.get("cache"):
        rows.append(
            {
                "figure": "Prompt cache share after each agent's first call (demo)",
                "measured": f"{c['share_after_first_call']:.1%} ({c['calls']} calls, "
                f"{c['share_all_calls']:.1%} counting first calls)",
                "target": ">= 70%",
                "met": c["share_after_first_call"] >= 0.70,
            }
        )
    if i := r.get("imports"):
        each = ", ".join(f"{n} {v['seconds']:.2f}" for n, v in i["entry_points"].items())
        rows.append(
            {
                "figure": "Cold import time per entry point (s)",
                "measured": each,
                "target": "< 1 s",
                "met": i["max_s"] < 1.0,
            }
        )
    return rows


def _ms(v) -> str:
    return "n/a" if v is None else f"{v / 1000:.2f} s"


def _mark(met) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def table(rows: list[dict]) -> str:
    lines = ["| Figure | Measured | Target | Met |", "|---|---|---|---|"]
    lines += [
        f"| {r['figure']} | {r['measured']} | {r['target']} | {_mark(r['met'])} |" for r in rows
    ]
    return "\n".join(lines)


def markdown(results: dict, methods: dict[str, str]) -> str:
    run = results["run"]
    out = [
        "# CloudSwarm benchmark results",
        "",
        f"Measured {run['finished']} on {run['machine']} in {run['duration_s']:.0f} s, commit "
        f"`{run['commit']}`. Produced by `make bench` (bench/); the method of each figure follows "
        "the table, and docs/bench.md explains how to read them.",
        "",
        table(results["verdicts"]),
        "",
    ]
    if s := results["figures"].get("scale"):
        out += [
            "## Throughput and delivery latency by swarm size",
            "",
            "| agents | turns/s | p50 delivery | p99 delivery | warm-up | unread after drain | "
            "leases held by dead turns | duplicated | re-read after a failed turn | "
            "relay POSTs failed |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for p in s["points"]:
            out.append(
                f"| {p['agents']} | {p['turns_per_s']:.2f} | {_ms(p['delivery_p50_ms'])} | "
                f"{_ms(p['delivery_p99_ms'])} | {p['warmup_s']:.0f} s | "
                f"{p['unread_after_drain']} | {len(p['stuck_leases'])} | {p['duplicated']} | "
                f"{p['read_again_after_failed_turn']} | {p.get('relay_failed', 0)} |"
            )
        out.append("")
    if o := results["figures"].get("overhead"):
        out += [
            "## Where a turn's floor goes (median ms)",
            "",
            "| primitive | ms |",
            "|---|---|",
            *(f"| {k} | {v:.1f} |" for k, v in o["floor_parts_ms"].items()),
            f"| **floor** | **{o['median_ms']['floor']:.1f}** |",
            f"| full turn (doorbell to release) | {o['median_ms']['full']:.1f} |",
            f"| same turn in-process (no hop) | {o['median_ms']['engine']:.1f} |",
            "",
            f"Firestore calls of the turn: {json.dumps(o['firestore_rpcs']['engine'])}; "
            f"of the floor: {json.dumps(o['firestore_rpcs']['floor'])} "
            f"(match: {'yes' if o['firestore_calls_match'] else 'no'}).",
            "",
        ]
    if b := results["figures"].get("board"):
        out += [
            "## Firestore per turn by board size",
            "",
            "| turn | tasks | reads | writes | RPCs | model calls | tool calls |",
            "|---|---|---|---|---|---|---|",
        ]
        for shape, by in b["turns"].items():
            for size, v in by.items():
                out.append(
                    f"| {shape} | {size} | {v['reads']} | {v['writes']} | {v['rpc_total']} | "
                    f"{v['model_calls']} | {v['tool_calls']} |"
                )
        out.append("")
    out += ["## Methods", ""]
    for name, text in methods.items():
        out += [f"### {name}", "", text.strip(), ""]
    return "\n".join(out)


def chart(results: dict, path: Path) -> str | None:
    """The figures as one PNG; None when matplotlib is missing (it is in the dev extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install -e '.[dev]')"
    f = results["figures"]
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    fig.suptitle(f"CloudSwarm bench, {results['run']['finished']}")
    ax = axes[0][0]
    if o := f.get("overhead"):
        parts = o["floor_parts_ms"]
        bottom = 0.0
        for k, v in parts.items():
            ax.bar("floor", v, bottom=bottom, label=k)
            bottom += v
        ax.bar("full turn", o["median_ms"]["full"], color="black")
        ax.bar("in-process", o["median_ms"]["engine"], color="grey")
        ax.axhline(o["median_ms"]["floor"] * 1.3, color="red", ls="--", label="1.3x floor")
        ax.set_ylabel("ms (median)")
        ax.set_title(f"Turn vs floor: {o['ratio']:.2f}x")
        ax.set_xlim(-0.5, 4.5)  # room on the right for the legend of the floor's parts
        ax.legend(fontsize=6, loc="center right")
    ax = axes[0][1]
    if b := f.get("board"):
        labels, reads, writes = [], [], []
        for shape, by in b["turns"].items():
            for size, v in by.items():
                labels.append(f"{shape}\n{size} tasks")
                reads.append(v["reads"])
                writes.append(v["writes"])
        xs = range(len(labels))
        ax.bar([x - 0.2 for x in xs], reads, 0.4, label="reads")
        ax.bar([x + 0.2 for x in xs], writes, 0.4, label="writes")
        ax.set_xticks(list(xs), labels, fontsize=7)
        ax.set_title("Firestore per turn by board size")
        ax.legend()
    if s := f.get("scale"):
        n = [p["agents"] for p in s["points"]]
        ax = axes[0][2]
        ax.plot(n, [p["turns_per_s"] for p in s["points"]], "o-")
        ax.set_xlabel("agents")
        ax.set_ylabel("turns/s")
        ax.set_title(f"Throughput (model {s['latency_s']:g} s/call)")
        ax = axes[1][0]
        ax.plot(n, [(p["delivery_p50_ms"] or 0) / 1000 for p in s["points"]], "o-", label="p50")
        ax.plot(n, [(p["delivery_p99_ms"] or 0) / 1000 for p in s["points"]], "o-", label="p99")
        ax.set_xlabel("agents")
        ax.set_ylabel("s")
        ax.set_title("Message delivery latency")
        ax.legend()
    ax = axes[1][1]
    if k := f.get("kill"):
        ax.bar(["time to halt"], [k["time_to_halt_s"]], color="tab:red")
        ax.axhline(1.0, color="black", ls="--", label="target 1 s")
        ax.set_ylabel("s")
        ax.set_title(f"Kill switch, {k['agents']} streams")
        ax.legend()
    ax = axes[1][2]
    names, vals = [], []
    if c := f.get("cache"):
        names.append("cache share")
        vals.append(c["share_after_first_call"])
    if i := f.get("imports"):
        for n_, v in i["entry_points"].items():
            names.append(f"import {n_} (s)")
            vals.append(v["seconds"])
    if names:
        ax.barh(names, vals)
        ax.axvline(0.7, color="green", ls=":", label="cache target 70%")
        ax.axvline(1.0, color="red", ls="--", label="import target 1 s")
        ax.set_title("Prompt cache share; cold imports")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
