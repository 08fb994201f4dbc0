"""Throughput and message delivery latency as the swarm grows.

N agents pass tokens around a ring: each agent starts with one message, and every turn forwards
each message in its inbox to the next agent (one ``send_message`` per message, decided by a
generated scenario), so all N agents stay busy and no token is created or dropped. Every model
call takes a fixed ``LATENCY_S`` at the local model server; a turn makes two (the forward, then
an answer to the tool result). Agents 2 (a ring needs two), 10, 50, 100, 200.

- **turns/s**: turns agent_turn completed (its ``turn done`` log lines) inside a measuring
  window that starts once every agent has turned at least once;
- **delivery latency** of each message sent inside the window: from its commit (the Firestore
  server timestamp of the ``send_message`` effect) to the arrival at the model server of the
  first model call of the recipient's turn that read it. That call comes after the turn's lease,
  inbox and board reads, so this is an upper bound on "send to the recipient's turn start" by a
  few tens of milliseconds (see the overhead figure's parts). The join is exact: the message is
  in that call's ``<turn>`` inbox (read back from the transcript in GCS), and the call's response
  id identifies the model server's log entry.
- **no turn lost**: after the window the scenario switches to one that forwards nothing; once
  the swarm is quiet (or after 90 s) every message must have been read, none forwarded twice,
  and no lease held. A turn that died holding its lease is recovered only by its watchdog at
  lease expiry (561 s by default): its agent's mail is then reported as unread after the drain.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter

from bench import doc_writes, fixtures
from bench.env import Env, wait_for

SIZES = (2, 10, 50, 100, 200)
LATENCY_S = 1.0
WINDOW_S = 20.0
WARMUP_S = 60.0  # at most, waiting for every agent to have turned once before the window
NOT_LEASED = ("busy", "inactive", "missing")  # turn kinds that ran nothing


def ring_scenario(names: list[str]) -> dict:
    rules = [
        {
            "name": f"relay-{name}",
            "when": {"agent": name, "last": "turn"},
            "then": {
                "tool_uses": [
                    {
                        "name": "send_message",
                        "for_each": "turn.inbox",
                        "input": {"to": names[(i + 1) % len(names)], "body": "token ${item.id}"},
                    }
                ]
            },
        }
        for i, name in enumerate(names)
    ]
    return {"name": "bench-ring", "fallback_text": "Passed it on.", "rules": rules}


DRAIN = {"name": "bench-drain", "fallback_text": "Keeping it.", "rules": []}


def run(env: Env, sizes=SIZES, window_s: float = WINDOW_S, latency_s: float = LATENCY_S) -> dict:
    drain = env.run_dir / "bench-drain.json"
    drain.write_text(json.dumps(DRAIN))
    points = []
    # Doorbells reach agent_turn through the stack's pusher, up to CLOUDSWARM_PUSH_CONCURRENCY
    # at once (bench.env sets it for the largest size).
    for n in sizes:
        env.say(f"  scale: {n} agents")
        failed_before = env.doorbell_push_failed()
        point = _point(env, n, window_s, latency_s, drain)
        point["push_failed"] = env.doorbell_push_failed() - failed_before
        points.append(point)
    return {
        "latency_s": latency_s,
        "window_s": window_s,
        "points": points,
        "no_turn_lost": all(
            p["unread_after_drain"] == 0 and p["duplicated"] == 0 and not p["stuck_leases"]
            for p in points
        ),
        "push": env.push_stats()[env.settings.topic("agent-doorbell-push")],
    }


def _point(env: Env, n: int, window_s: float, latency_s: float, drain) -> dict:
    from cloudswarm.gcp.bus import Bus

    store, s = env.store, env.settings
    names = [f"r{i:03d}" for i in range(n)]
    path = env.run_dir / f"bench-ring-{n}.json"
    path.write_text(json.dumps(ring_scenario(names)))
    env.model.reset(str(path))
    env.model.faults(latency_s=latency_s)
    sid = fixtures.swarm(store, f"bench: a ring of {n}")
    # No allowance seeded: every grant in the window is a real one, through the budget shards.
    fixtures.agents(store, sid, names, allowance_usd=0.0)
    fixtures.messages(
        store, sid, [(names[i - 1], name, "token seed") for i, name in enumerate(names)]
    )
    bus = Bus(s.project, s.topic("agent-doorbell"))
    env.turn_log.poll()
    mark = len(env.turn_log.turns)
    for name in names:
        bus.ring(sid, name)

    def turns():
        env.turn_log.poll()
        return [r for r in env.turn_log.turns[mark:] if r.get("swarm_id") == sid]

    # Warm up: every agent has finished a turn that did something (or a minute has passed).
    warm, warmed = time.time(), True
    try:
        wait_for(
            lambda: len({r["agent_id"] for r in turns() if r["kind"] == "done"}) == n,
            WARMUP_S,
            0.2,
            f"every one of {n} agents to turn",
        )
    except TimeoutError:
        warmed = False  # some agents take their first turn (and first allowance) in the window
    warmup_s = time.time() - warm
    writes_before = doc_writes.snapshot(env.writes_dir)
    start = time.time()
    time.sleep(window_s)
    end = time.time()
    time.sleep(0.6)  # the processes' counts are written twice a second
    writes_after = doc_writes.snapshot(env.writes_dir)
    env.model.scenario(str(drain))
    env.model.faults(latency_s=0)
    stuck = _wait_quiet(env, sid, names)
    done = [r for r in turns() if r["kind"] == "done" and start <= r["t"] < end]
    # Turns that held the lease (and so wrote the agent's document), whatever their end.
    leased = [r for r in turns() if r["kind"] not in NOT_LEASED and start <= r["t"] < end]
    other = [r for r in turns() if r["kind"] != "done"]
    delivery = _delivery(env, sid, names, start, end)
    lat = sorted(delivery["latencies"])
    writes = doc_writes.summarize(
        writes_before,
        writes_after,
        sid=sid,
        window_s=end - start,
        turns=len(done),
        agents=n,
        turns_by_agent=dict(Counter(r["agent_id"] for r in leased)),
    )
    return {
        "agents": n,
        "warmup_s": round(warmup_s, 1),
        "warmed": warmed,
        "stuck_leases": stuck,
        "turns": len(done),
        "turns_per_s": round(len(done) / (end - start), 3),
        "messages_in_window": len(lat),
        "delivery_p50_ms": round(_pct(lat, 50) * 1000, 1) if lat else None,
        "delivery_p99_ms": round(_pct(lat, 99) * 1000, 1) if lat else None,
        "delivery_mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
        "other_invocations": _kinds(other),
        "messages_total": delivery["total"],
        # Unread when the drain gave up: mail of agents whose turn died holding its lease waits
        # for the watchdog at lease expiry (561 s by default), longer than the bench waits.
        "unread_after_drain": delivery["unread"],
        "duplicated": delivery["forwarded_twice"],
        "read_again_after_failed_turn": delivery["read_again"],
        # Writes per document in the window, by kind (bench/doc_writes.py).
        "doc_writes": writes if writes["kinds"] else None,
    }


def _kinds(records: list[dict]) -> dict:
    out: dict = {}
    for r in records:
        out[r["kind"]] = out.get(r["kind"], 0) + 1
    return out


def _pct(values: list[float], p: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def _wait_quiet(env: Env, sid: str, names: list[str], timeout: float = 90) -> list[str]:
    """Until no agent holds a lease or has unread mail, twice in a row a second apart. Returns
    the agents still holding a lease when ``timeout`` runs out (a turn died holding it: its
    watchdog frees it only at lease expiry)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    store = env.store

    def leased():
        return [a["id"] for a in store.list_agents(sid, limit=1000) if a.get("lease")]

    def quiet():
        unread = store.p.messages(sid).where(filter=FieldFilter("read", "==", False)).limit(1).get()
        return not leased() and not unread

    try:
        wait_for(lambda: quiet() and (time.sleep(1.0) or quiet()), timeout, 0.5, "the drain")
    except TimeoutError:
        return leased()
    return []


def _delivery(env: Env, sid: str, names: list[str], start: float, end: float) -> dict:
    from cloudswarm import runtime
    from cloudswarm.gcp.journal import Journal

    store, s = env.store, env.settings
    msgs = {m.id: m.to_dict() for m in store.p.messages(sid).stream()}
    entries = {r["message_id"]: r for r in env.model.requests() if r.get("message_id")}
    journal = Journal(runtime.blobs(), s.bucket("transcripts"))
    first_call: dict[str, float] = {}  # message id -> arrival of the first call that carried it
    seen: dict[str, int] = {}
    for aid in names:
        for name in journal.transcript_objects(sid, aid):
            if not name.endswith("/001-call.json"):
                continue
            record = journal.blobs.get_json(journal.bucket, name)
            entry = entries.get(record["response"]["id"])
            for mid in _inbox_ids(record["request"]):
                seen[mid] = seen.get(mid, 0) + 1
                if entry is not None:
                    first_call.setdefault(mid, entry["time"])
    latencies = []
    for mid, m in msgs.items():
        sent = m["created_at"].timestamp()
        if m.get("from") == "system" or not (start <= sent < end) or mid not in first_call:
            continue
        latencies.append(first_call[mid] - sent)
    # Each message is forwarded at most once (its id is in the body of the forward): a token
    # forwarded twice would be a message delivered twice.
    forwards: dict[str, int] = {}
    for m in msgs.values():
        body = m.get("body", "")
        if body.startswith("token ") and body != "token seed":
            forwards[body[6:]] = forwards.get(body[6:], 0) + 1
    return {
        "latencies": latencies,
        "total": len(msgs) - 1,  # the goal message of the fixture swarm
        "unread": sum(1 for mid, m in msgs.items() if not m.get("read") and mid != "goal"),
        "forwarded_twice": sum(1 for c in forwards.values() if c > 1),
        # Read by a turn that failed before recording the read, so read again by the next one:
        # at-least-once into the model's context, never a second forward.
        "read_again": sum(1 for c in seen.values() if c > 1),
    }


def _inbox_ids(request: dict) -> list[str]:
    from emulators.model_server.conversation import parse_turn

    for message in reversed(request["messages"]):
        if message["role"] != "user":
            continue
        for block in message["content"]:
            if block.get("type") == "text" and "<turn>" in block.get("text", ""):
                turn = parse_turn(block["text"]) or {}
                return [m["id"] for m in turn.get("inbox", [])]
    return []
