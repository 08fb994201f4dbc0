"""Turn the figures into results.json, a markdown table (results.md) and a chart (chart.png)."""

from __future__ import annotations

import json
from pathlib import Path


def _context_rows(x: dict) -> list[dict]:
    """The long run with and without context management (bench/fig_context.py)."""
    m, u, t = x["managed"], x["unmanaged"], x["targets"]
    trigger = m["settings"]["compaction"]["trigger_tokens"]
    tok = m["input_tokens_per_call"]
    return [
        {
            "figure": "Long run: input tokens per call, managed (p50/p95/max)",
            "measured": f"{tok['p50']:,}/{tok['p95']:,}/{tok['max']:,} ({m['compactions']} "
            f"compactions; unmanaged {u['input_tokens_per_call']['p95']:,} at p95)",
            "target": f"p95 <= {trigger:,} + one step ({m['turn_growth_tokens']:,})",
            "met": t["p95_within_trigger_plus_growth"],
        },
        {
            "figure": "Long run: billed cost, managed vs unmanaged (list price)",
            "measured": f"${m['cost_usd']:.2f} vs ${u['cost_usd']:.2f} "
            f"({m['cost_vs_unmanaged']:.0%})",
            "target": "<= 40%",
            "met": t["cost_at_most_40pct"],
        },
        {
            "figure": "Long run: cache share after the first call, managed",
            "measured": f"{m['cache_share_after_first_call']:.1%}",
            "target": ">= 70%",
            "met": t["cache_share_at_least_70pct"],
        },
        {
            "figure": "Long run completes, managed and unmanaged",
            "measured": f"{m['tasks_done']} and {u['tasks_done']} tasks done",
            "target": "all tasks, both runs",
            "met": t["both_complete"],
        },
    ]


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
        if hot := _hot_docs(s):
            rows.append(hot)
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
    if k and "interrupt_to_closed_s" in k:
        rows.append(
            {
                "figure": f"One agent interrupted / paused among {k['agents']} streaming",
                "measured": f"stream closed {k['interrupt_to_closed_s'] * 1000:.0f} ms / "
                f"{k['pause_to_closed_s'] * 1000:.0f} ms after the request",
                "target": "< 1 s",
                "met": max(k["interrupt_to_closed_s"], k["pause_to_closed_s"]) < 1.0,
            }
        )
    if rel := r.get("release"):
        rows.append(
            {
                "figure": f"Kill switch release over {rel['swarms']} halted swarms "
                f"({rel['agents_per_swarm']} agents each)",
                "measured": f"{rel['time_to_resume_s']:.1f} s until every agent turned again "
                f"(median {rel['median_resume_s']:.1f} s); {rel['contention_failures']} "
                f"transactions failed for contention; {len(rel['leases_left'])} leases left",
                "target": "every swarm resumes; no contention failure; no lease left",
                "met": rel["contention_failures"] == 0 and not rel["leases_left"],
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
    if x := r.get("context"):
        rows.extend(_context_rows(x))
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


def _hot_docs(s: dict) -> dict | None:
    """The busiest document: measured at the largest size up to 100 agents and at the largest
    overall, and projected to 1,000 agents turning every 10 s, beside Firestore's guideline."""
    from bench import doc_writes

    measured = [p for p in s["points"] if p.get("doc_writes")]
    if not measured:
        return None
    at100 = [p for p in measured if p["agents"] <= 100][-1:] or measured[:1]
    largest, near = measured[-1], at100[0]
    # The projection is of a steady state (each agent turning every 10 s), so it is made from the
    # largest point whose agents had all turned once before its window. In a point whose warm-up
    # ran out, agents take their first turn, and their first allowance, inside the window: a
    # start-up burst of grants that is printed beside it, not projected as if it went on.
    steady = [p for p in measured if p.get("warmed", True)]
    base = steady[-1] if steady else largest
    w = base["doc_writes"]
    burst = ""
    if base is not largest:
        lw = largest["doc_writes"]
        burst = (
            f"; {largest['agents']} agents, still warming up: "
            f"{lw['projected_per_s']:.2f}/s ({lw['projected_kind']})"
        )
    return {
        "figure": "Busiest document writes/s (Firestore guideline "
        f"{doc_writes.GUIDELINE_PER_S:g}/s per document)",
        "measured": f"{near['agents']} agents: {near['doc_writes']['busiest_per_s']:.2f}/s "
        f"({near['doc_writes']['busiest_kind']}); {largest['agents']} agents: "
        f"{largest['doc_writes']['busiest_per_s']:.2f}/s "
        f"({largest['doc_writes']['busiest_kind']}); projected at "
        f"{doc_writes.AGENTS:,} agents every {doc_writes.TURN_EVERY_S:g} s from the "
        f"{base['agents']}-agent point: {w['projected_per_s']:.2f}/s "
        f"({w['projected_kind']}){burst}",
        "target": f"projected <= {doc_writes.GUIDELINE_PER_S:g}/s",
        "met": w["projected_per_s"] <= doc_writes.GUIDELINE_PER_S,
    }


def _mark(met) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def table(rows: list[dict]) -> str:
    lines = ["| Figure | Measured | Target | Met |", "|---|---|---|---|"]
    lines += [
        f"| {r['figure']} | {r['measured']} | {r['target']} | {_mark(r['met'])} |" for r in rows
    ]
    return "\n".join(lines)


def _doc_writes_table(s: dict) -> list[str]:
    from bench import doc_writes

    points = [p for p in s["points"] if p.get("doc_writes")]
    if not points:
        return []
    out = [
        "## Writes per document by kind (scale runs)",
        "",
        f"Busiest document of each kind, its writes/s in the window, the kind's writes per turn, "
        f"and the busiest document's rate projected to {doc_writes.AGENTS:,} agents turning every "
        f"{doc_writes.TURN_EVERY_S:g} s (bench/doc_writes.py). Firestore's guideline: about "
        f"{doc_writes.GUIDELINE_PER_S:g} sustained write/s per document.",
        "",
        "| agents | kind | documents | busiest | writes/s | writes/turn | projected/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in points:
        for k, v in p["doc_writes"]["kinds"].items():
            out.append(
                f"| {p['agents']} | {k} | {v['docs']} | `{v['busiest']}` | "
                f"{v['busiest_per_s']:.2f} | {v['writes_per_turn']:.3f} | "
                f"{v['projected_per_s']:.3f} |"
            )
    out.append("")
    return out


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
            "push POSTs failed |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for p in s["points"]:
            failed = p.get("push_failed", p.get("relay_failed", 0))  # the older runs' name
            out.append(
                f"| {p['agents']} | {p['turns_per_s']:.2f} | {_ms(p['delivery_p50_ms'])} | "
                f"{_ms(p['delivery_p99_ms'])} | {p['warmup_s']:.0f} s | "
                f"{p['unread_after_drain']} | {len(p['stuck_leases'])} | {p['duplicated']} | "
                f"{p['read_again_after_failed_turn']} | {failed} |"
            )
        out.append("")
        out += _doc_writes_table(s)
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
