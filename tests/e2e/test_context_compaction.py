"""A conversation compacted mid-turn, then crashed, resumes from the compacted version.

The lead works through pages alone (the long-run scenario) with compaction at its lowest
trigger. Every turn that saves a compacted answer dies right after the save (the chaos point
``after_compaction``), holding its lease; the watchdog re-rings the agent, and the next turn goes
on from the compacted version: its first request opens with the compaction block exactly as the
API returned it, and it runs the tool call that answer asked for once. The transcript in GCS
still holds every request and response from before the compaction.
"""

from __future__ import annotations

from collections import Counter

from cloudswarm import runtime
from cloudswarm.core import board, context
from cloudswarm.core.models import Budget
from cloudswarm.gcp.journal import Journal, Workspace
from cloudswarm.settings import settings
from tests.conftest import wait_until
from tests.e2e.chaos_checks import crashes

PAGES = 14  # some 4,000 tokens each: the context passes 50,000 tokens after about 12
PAGE = "Findings on {tid}: the figures in this page are the ones the task needs. " * 210

FUNCTION_ENV = {
    "CLOUDSWARM_CHAOS_CRASH_RATE": "1",
    "CLOUDSWARM_CHAOS_CRASH_POINTS": "after_compaction",
    # Short leases so the watchdog recovers the crashed turn within seconds.
    "CLOUDSWARM_LEASE_TTL_S": "4",
    "CLOUDSWARM_TURN_WALL_S": "3",
    "CLOUDSWARM_MODEL_TIMEOUT_S": "1.5",
    "CLOUDSWARM_MAX_TURNS_WITHOUT_PROGRESS": "1000",
}


def _seed(sid: str) -> None:
    store, blobs = runtime.store(), runtime.blobs()
    workspace = Workspace(blobs, settings().bucket("artifacts"))
    for i in range(PAGES):
        tid = f"p{i:05d}"
        rule = board.create_task(
            sid, "lead", tid, title=f"Read page {tid}", owner="lead", max_tasks=PAGES
        )
        store.apply(rule, what="seed task")
        data = PAGE.format(tid=tid).encode()
        obj = workspace.put(sid, data)
        store.apply(board.write_artifact(sid, "test", tid, obj, len(data), None), what="seed")


def test_a_compacted_conversation_crashed_resumes_from_its_compacted_version(
    full_stack, model_server
):
    model_server._call("/_control/scenario", {"name": "longrun"})
    store = runtime.store()
    managed = context.validate(
        {"compaction": {"trigger_tokens": 50_000}, "clear_tool_results": False}
    )
    sid, _ = store.create_swarm(
        goal="Read every page.",
        model="claude-sonnet-4-6",
        budget=Budget(usd=50),
        created_by="test",
        context=managed,
    )
    _seed(sid)
    runtime.bus().ring(sid, "lead")

    def all_done() -> bool:
        tasks = store.list_tasks(sid, status=None, owner="lead", limit=50)
        return len(tasks) == PAGES and all(t["status"] == "done" for t in tasks)

    assert wait_until(all_done, timeout=120, every=0.5), store.list_tasks(
        sid, status=None, owner="lead", limit=50
    )

    # The lead looks for work once more after the last task, then its turn ends: wait for that,
    # so the transcript and the server's log are read whole.
    def finished() -> bool:
        said = any((r.get("rule") or "").startswith("all-done") for r in model_server.requests())
        return said and store.get_agent(sid, "lead")["lease"] is None

    assert wait_until(finished, timeout=60, every=0.5), store.get_agent(sid, "lead")
    requests = [r for r in model_server.requests() if r["status"] == 200]
    compacted = [r for r in requests if "compacted" in (r.get("rule") or "")]
    assert compacted, [r.get("rule") for r in requests]

    journal = Journal(runtime.blobs(), settings().bucket("transcripts"))
    names = journal.transcript_objects(sid, "lead")
    records = [journal.read_transcript(n) for n in names]
    assert len(records) == len(requests)  # one per answered call, the crashed turn's included
    by_turn: dict[str, list[dict]] = {}
    for name, rec in zip(names, records, strict=True):
        by_turn.setdefault(name.rsplit("/", 2)[-2], []).append(rec)
    # The answer that compacted is the last call of its turn (the turn died after saving it);
    # the next turn's first request opens with that answer (after the user's opening line the
    # API drops), its block exactly as returned.
    assert crashes(full_stack.run_dir)["after_compaction"] >= 1
    blocks = [
        recs[-1]["response"]["content"][0]
        for recs in by_turn.values()
        if recs[-1]["response"]["content"][0]["type"] == "compaction"
    ]
    assert len(blocks) == sum(
        rec["response"]["content"][0]["type"] == "compaction" for rec in records
    ), "a turn went on past a compacted answer: it did not die there"
    openers = [
        rec["request"]["messages"][1]["content"][0]
        for recs in by_turn.values()
        for rec in recs[:1]
        if rec["request"]["messages"][0] == context.COMPACTED_OPENING
    ]
    for block in blocks:
        resumed = [b for b in openers if b.get("type") == "compaction"]
        assert any({k: v for k, v in b.items() if k != "cache_control"} == block for b in resumed)
    assert any(e["type"] == context.COMPACT for rec in records for e in rec["context_edits"])

    # No tool call ran twice: each task completed once, each page read once per claim.
    events = [e.to_dict() for e in store.p.events(sid).stream()]
    done = Counter(e["data"]["task"] for e in events if e["kind"] == "task_done")
    assert done == {f"p{i:05d}": 1 for i in range(PAGES)}, done
    # The full history is in the transcript: every page's result, including those compacted
    # away, was sent to the model in some request.
    read = {
        b["tool_use_id"]
        for rec in records
        for m in rec["request"]["messages"]
        if m["role"] == "user"
        for b in m["content"]
        if b.get("type") == "tool_result" and "Findings on" in str(b.get("content"))
    }
    assert len(read) == PAGES
