"""Orchestration overhead per turn: a whole turn against the sum of its primitive operations.

The turn: one message in the inbox, one model call (zero latency) that answers with one tool
call, one tool call, release. ``request_approval`` is the tool because it ends the turn, so the
turn has exactly one model call and one tool call (any other tool hands its result back to the
model, which makes two calls). The same agent turns again after each approval, so every turn is
a steady-state turn with a conversation to load.

Three timings per round, interleaved so they share the machine's state:

- **full**: publish the doorbell -> Pub/Sub push -> agent_turn (functions-framework) -> the turn
  -> release, ended by the time agent_turn logs the outcome (logged right after release);
- **engine**: the same turn run in this process (``run_turn`` with the real adapters), no hop;
- **floor**: the turn's primitive operations, each issued alone with the raw clients, back to
  back: the same Pub/Sub push hop (to a bare HTTP receiver), the lease (3 reads at
  once, then 1 write guarded by the agent's update time, as the turn takes it without a
  transaction), the watchdog task, the conversation read, the inbox and board queries, the model
  call with the very request the turn sent, the transcript and conversation writes, the two step
  commits, the tool's effect transaction and the release transaction.

A Firestore call counter on both the engine's and the floor's client checks the floor issues the
same Firestore calls as the turn (the check is part of the result).
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from dataclasses import replace

from bench import fixtures
from bench.counting import FirestoreCounter
from bench.env import HOP_TOPIC, SINK_TOPIC, Env, now, wait_for

SCENARIO = {
    "name": "bench-turn",
    "description": "Every turn: one model call asking for approval (a tool that ends the turn).",
    "fallback_text": "Done.",
    "rules": [
        {
            "name": "ask",
            "when": {"last": "turn"},
            "then": {
                "text": "I need a human to approve this step.",
                "tool_uses": [
                    {
                        "name": "request_approval",
                        "input": {"action": "bench step", "detail": "one tool call per turn"},
                    }
                ],
            },
        }
    ],
}
FULL, INPROC = "bencher", "inproc"


def run(env: Env, rounds: int = 30, warmup: int = 4) -> dict:
    store = env.store
    path = env.run_dir / "bench-turn.json"
    path.write_text(json.dumps(SCENARIO))
    env.model.reset()
    env.model.scenario(str(path))
    sid = fixtures.swarm(store, "bench: the cost of one turn")
    fixtures.agents(store, sid, [FULL, INPROC])
    fixtures.messages(store, sid, [("human:bench", a, "Ask for approval.") for a in (FULL, INPROC)])

    from cloudswarm import runtime
    from cloudswarm.core.turn import run_turn
    from cloudswarm.gcp.bus import Bus
    from cloudswarm.gcp.store import FirestoreStore

    s = env.settings
    doorbell = Bus(s.project, s.topic("agent-doorbell"))
    floor = Floor(env, sid)
    engine_db = _client(s.project)
    engine_counter = FirestoreCounter(engine_db)
    engine_deps = replace(
        runtime.deps(),
        store=FirestoreStore(s.project, db=engine_db),
        bus=Bus(s.project, SINK_TOPIC),
    )

    rows = []
    for i in range(warmup + rounds):
        if i:
            for aid in (FULL, INPROC):
                _approve(store, sid, aid)
        row: dict = {}

        def full(i=i, row=row):
            # doorbell to release, through Pub/Sub and the function
            t0 = now()
            doorbell.ring(sid, FULL)
            what = f"turn {i} of {FULL}"
            rec = wait_for(lambda: _turn_line(env, sid, FULL, i), 30, 0.02, what)
            assert rec["kind"] == "done", rec
            row["full_s"] = rec["t"] - t0

        def engine(row=row):
            # the same turn in this process
            with engine_counter.measure() as tally:
                t0 = time.perf_counter()
                outcome = run_turn(engine_deps, sid, INPROC)
                row["engine_s"] = time.perf_counter() - t0
            assert outcome.kind == "done", outcome
            row["engine_fs"] = tally.as_dict()

        def primitives(i=i, row=row):
            # the primitives alone, shaped like the full turn's last round
            parts, tally = floor.measure(FULL, i)
            row.update(floor_s=sum(parts.values()), parts=parts, floor_fs=tally.as_dict())

        # Rotate the order so no timing always runs right after another one. (The floor copies
        # the shape of the full turn's latest round, so round 0 runs the full turn first.)
        steps = [full, engine, primitives]
        k = i % 3
        for step in steps[k:] + steps[:k]:
            step()
        if i >= warmup:
            rows.append(row)
    return _summary(rows)


def _summary(rows: list[dict]) -> dict:
    med = {k: statistics.median(r[k] for r in rows) for k in ("full_s", "engine_s", "floor_s")}
    parts = {k: statistics.median(r["parts"][k] for r in rows) for k in rows[0]["parts"]}
    engine_rpcs, floor_rpcs = rows[-1]["engine_fs"]["rpcs"], rows[-1]["floor_fs"]["rpcs"]
    same = all(r["engine_fs"]["rpcs"] == r["floor_fs"]["rpcs"] for r in rows)
    hop = parts["pubsub_push_hop"]
    ratio = med["full_s"] / med["floor_s"]
    return {
        "ratio": round(ratio, 3),
        "rounds": len(rows),
        "median_ms": {k.removesuffix("_s"): round(v * 1000, 1) for k, v in med.items()},
        "p90_ms": {
            k.removesuffix("_s"): round(_pct([r[k] for r in rows], 90) * 1000, 1)
            for k in ("full_s", "engine_s", "floor_s")
        },
        "floor_parts_ms": {k: round(v * 1000, 2) for k, v in parts.items()},
        # The in-process turn has no hop: compare it with the floor less the hop.
        "engine_ratio": round(med["engine_s"] / (med["floor_s"] - hop), 3),
        "firestore_calls_match": same,
        "engine_firestore": rows[-1]["engine_fs"],
        "floor_firestore": rows[-1]["floor_fs"],
        "firestore_rpcs": {"engine": engine_rpcs, "floor": floor_rpcs},
    }


def _pct(values: list[float], p: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def _client(project: str):
    from google.cloud import firestore

    return firestore.Client(project=project)


def _turn_line(env: Env, sid: str, aid: str, index: int):
    env.turn_log.poll()
    mine = [r for r in env.turn_log.turns if r.get("swarm_id") == sid and r.get("agent_id") == aid]
    return mine[index] if len(mine) > index else None


def _approve(store, sid: str, aid: str) -> None:
    from google.cloud.firestore_v1.base_query import FieldFilter

    pending = (
        store.p.approvals(sid)
        .where(filter=FieldFilter("agent_id", "==", aid))
        .where(filter=FieldFilter("status", "==", "pending"))
        .limit(5)
        .get()
    )
    assert len(pending) == 1, f"{aid} has {len(pending)} pending approvals"
    store.decide_approval(sid, pending[0].id, approve=True, actor="bench")


class Floor:
    """The turn's primitive operations, each alone, with the raw clients."""

    def __init__(self, env: Env, sid: str):
        import anthropic
        import grpc
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import pubsub_v1, storage, tasks_v2
        from google.cloud.tasks_v2.services.cloud_tasks.transports import (
            CloudTasksGrpcTransport,
        )

        s = env.settings
        self.env, self.sid, self.s = env, sid, s
        self.db = _client(s.project)
        self.counter = FirestoreCounter(self.db)
        gcs = storage.Client(project=s.project, credentials=AnonymousCredentials())
        self.transcripts = gcs.bucket(s.bucket("transcripts"))
        channel = grpc.insecure_channel(s.tasks_emulator_host)
        self.tasks = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
        self.queue = self.tasks.queue_path(s.project, s.region, s.queue("agent-retries"))
        self.pub = pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(max_messages=1)
        )
        self.hop_topic = self.pub.topic_path(s.project, HOP_TOPIC)
        self.model = anthropic.Anthropic(
            base_url=env.client_env()["CLOUDSWARM_MODEL_URL"], api_key="local-dev-key"
        )

    def _shape(self, aid: str) -> dict:
        """What the last turn of ``aid`` read and wrote: its request and object sizes."""
        prefix = f"{self.sid}/{aid}/"
        blobs = list(self.transcripts.client.list_blobs(self.transcripts, prefix=prefix))
        calls = sorted(b.name for b in blobs if b.name.endswith("-call.json"))
        convs = sorted((b.name, b.size) for b in blobs if "/conversation/" in b.name)
        record = json.loads(self.transcripts.blob(calls[-1]).download_as_bytes())
        size = {b.name: b.size for b in blobs}
        return {
            "request": record["request"],
            "transcript_bytes": size[calls[-1]],
            # Two saves per turn: after the model answer and after the tool result.
            "conv_read": convs[-3][0] if len(convs) >= 3 else None,
            "conv_writes": [convs[-2][1], convs[-1][1]],
        }

    def measure(self, aid: str, i: int):
        from google.cloud import firestore
        from google.cloud.firestore_v1.base_query import FieldFilter

        shape = self._shape(aid)
        db, sid, parts = self.db, self.sid, {}
        agent = db.collection("swarms").document(sid).collection("agents").document(aid)
        swarm = db.collection("swarms").document(sid)
        kill = db.collection("control").document("kill_switch")
        tag = uuid.uuid4().hex[:12]

        def timed(name, fn):
            t0 = time.perf_counter()
            out = fn()
            parts[name] = parts.get(name, 0.0) + time.perf_counter() - t0
            return out

        def txn(reads, writes):
            @firestore.transactional
            def body(t):
                list(db.get_all(reads, transaction=t))
                for ref, kind, data in writes:
                    getattr(t, kind)(ref, data)

            body(db.transaction())

        def guarded(reads, ref, data):
            # The lease as the turn takes it (executor.run_unlocked): the documents read at one
            # moment, then one write that holds only if the agent is still as it was read.
            seen = {snap.reference.path: snap for snap in db.get_all(reads)}
            batch = db.batch()
            option = db.write_option(last_update_time=seen[ref.path].update_time)
            batch.update(ref, data, option=option)
            batch.commit()

        with self.counter.measure() as tally:
            wall0 = now()
            self.pub.publish(self.hop_topic, b"", probe=tag).result(timeout=30)
            parts["pubsub_push_hop"] = max(self.env.receiver.wait(tag) - wall0, 0.0)
            timed("lease", lambda: guarded([agent, swarm, kill], agent, {"bench_floor": i}))
            timed("watchdog_task", lambda: self._task(aid))
            if shape["conv_read"]:
                timed(
                    "conversation_read",
                    lambda: self.transcripts.blob(shape["conv_read"]).download_as_bytes(),
                )
            msgs = swarm.collection("messages")
            tasks = swarm.collection("tasks")
            desc = firestore.Query.DESCENDING
            timed(
                "inbox_query",
                lambda: list(
                    msgs.where(filter=FieldFilter("to", "==", aid))
                    .where(filter=FieldFilter("read", "==", False))
                    .order_by("created_at")
                    .limit(20)
                    .stream()
                ),
            )
            timed(
                "board_queries",
                lambda: list(
                    tasks.where(filter=FieldFilter("owner", "==", aid))
                    .order_by("created_at", direction=desc)
                    .limit(10)
                    .stream()
                ),
            )
            timed(
                "board_queries",
                lambda: list(
                    tasks.where(filter=FieldFilter("status", "==", "ready"))
                    .order_by("created_at", direction=desc)
                    .limit(10)
                    .stream()
                ),
            )
            timed("model_call", lambda: self._model(shape["request"]))
            timed("transcript_write", lambda: self._put(tag, "t", shape["transcript_bytes"]))
            timed("conversation_writes", lambda: self._put(tag, "c1", shape["conv_writes"][0]))
            scratch = swarm.collection("bench_floor")
            read_msg = scratch.document(f"message-{aid}")

            def step(n_writes: int):
                batch = db.batch()
                batch.set(agent, {"bench_floor_step": firestore.Increment(1)}, merge=True)
                if n_writes > 1:
                    batch.set(read_msg, {"read": True, "read_by_turn": tag}, merge=True)
                batch.commit()

            timed("step_commits", lambda: step(2))
            timed(
                "effect_txn",
                lambda: txn(
                    [scratch.document(f"marker-{tag}")],
                    [
                        (scratch.document(f"approval-{tag}"), "set", {"status": "pending"}),
                        (agent, "update", {"bench_floor_effect": i}),
                        (scratch.document(f"event-{tag}"), "set", {"kind": "bench"}),
                        (scratch.document(f"marker-{tag}"), "set", {"tool": "bench"}),
                    ],
                ),
            )
            timed("conversation_writes", lambda: self._put(tag, "c2", shape["conv_writes"][1]))
            timed("step_commits", lambda: step(1))
            release = [(agent, "update", {"bench_floor": -i})]
            release.append((scratch.document(f"turn-{tag}"), "set", {"kind": "bench"}))  # record
            timed("release_txn", lambda: txn([agent], release))
        return parts, tally

    def _task(self, aid: str) -> None:
        import datetime as dt

        from google.cloud import tasks_v2
        from google.protobuf import timestamp_pb2

        when = timestamp_pb2.Timestamp()
        when.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3600))
        body = {"swarm_id": self.sid, "agent_id": aid, "turn_id": "bench-floor"}
        task = {
            "http_request": {
                "http_method": tasks_v2.HttpMethod.POST,
                "url": f"{self.s.dispatch_url.rstrip('/')}/watchdog",
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps(body).encode(),
            },
            "schedule_time": when,
        }
        self.tasks.create_task(parent=self.queue, task=task, timeout=30)

    def _put(self, tag: str, name: str, size: int) -> None:
        data = random.randbytes(size // 2).hex().encode()[:size]
        self.transcripts.blob(f"bench-floor/{tag}/{name}.json").upload_from_string(
            data, content_type="application/json"
        )

    def _model(self, request: dict) -> None:
        from cloudswarm.core import context

        # The turn's request carries its context edits: a beta, sent as llm/claude.py sends it.
        betas = context.betas(request)
        api = self.model.beta.messages if betas else self.model.messages
        with api.stream(**request, **({"betas": betas} if betas else {})) as stream:
            stream.get_final_message()
