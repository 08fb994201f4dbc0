"""In-memory stand-ins for the turn engine's ports, so its logic is tested without a network.

They keep the contracts the Firestore store keeps (lease coalescing, effect markers keyed by
tool_use id, inbox read marking) in the simplest form; the integration tests hold the real store
to the same behaviour against the emulator.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field

from cloudswarm.core.records import EffectResult, LeaseResult
from cloudswarm.errors import Conflict, NotFound
from cloudswarm.llm.claude import ModelResponse
from cloudswarm.settings import Settings


def settings(**kw) -> Settings:
    base = Settings(project="p", turn_wall_s=60, lease_ttl_s=120, max_tokens=1000)
    return Settings(**{**base.__dict__, **kw})


def agent_doc(role: str = "lead", **kw) -> dict:
    return {
        "role": role,
        "model": "claude-sonnet-4-5",
        "status": "idle",
        "lease": None,
        "wake_pending": False,
        "turns": 0,
        "conv_version": 0,
        "allowance": {},
        "spent": {},
        **kw,
    }


@dataclass
class FakeStore:
    swarm: dict = field(
        default_factory=lambda: {
            "goal": "g",
            "status": "running",
            "lead_id": "lead",
            "budget": {},
            "granted": {},
            "agent_count": 1,
        }
    )
    kill: dict = field(default_factory=lambda: {"engaged": False})
    agents: dict = field(default_factory=lambda: {"lead": agent_doc()})
    messages: list = field(default_factory=list)
    effects: dict = field(default_factory=dict)
    tasks: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    commits: list = field(default_factory=list)
    ids = itertools.count(1)

    def mail(self, to: str, body: str, sender: str = "human:op") -> str:
        mid = f"m{next(self.ids)}"
        self.messages.append({"id": mid, "to": to, "from": sender, "body": body, "read": False})
        return mid

    def acquire_lease(self, sid, aid, turn_id, ttl_s) -> LeaseResult:
        a = self.agents.get(aid)
        if a is None:
            return LeaseResult("missing", reason="no agent")
        if a["lease"] and a["lease"] != turn_id:
            a["wake_pending"] = True
            return LeaseResult("busy", a, self.swarm, self.kill)
        if self.kill.get("engaged") or self.swarm["status"] != "running":
            return LeaseResult("inactive", a, self.swarm, self.kill, reason="halted")
        a.update(lease=turn_id, status="running")
        return LeaseResult("acquired", copy.deepcopy(a), dict(self.swarm), dict(self.kill))

    def release_lease(self, sid, aid, turn_id, updates) -> bool:
        a = self.agents[aid]
        if a["lease"] != turn_id:
            return False
        wake = a["wake_pending"]
        a.update(lease=None, wake_pending=False, **updates)
        if a["status"] == "running" and "status" not in updates:
            a["status"] = "idle"
        return wake

    def unread(self, sid, aid, limit=20):
        return [m for m in self.messages if m["to"] == aid and not m["read"]][:limit]

    def commit_step(self, sid, aid, turn_id, *, conv_version, read_ids, usage, spent, activity):
        a = self.agents[aid]
        if conv_version is not None:
            a["conv_version"] = conv_version
        for m in self.messages:
            if m["id"] in read_ids:
                m["read"] = True
        for k, v in (spent or {}).items():
            a["spent"][k] = a["spent"].get(k, 0) + v
        self.commits.append((aid, conv_version, list(read_ids)))

    def control_snapshot(self, sid):
        return dict(self.kill), dict(self.swarm)

    def grant_allowance(self, sid, aid, need, chunk, *, daily_cap_usd, day):
        a = self.agents[aid]
        grant = {}
        for axis, amount in need.items():
            short = amount - (a["allowance"].get(axis, 0) - a["spent"].get(axis, 0))
            if short <= 0:
                continue
            cap = self.swarm["budget"].get(axis)
            left = float("inf") if cap is None else cap - self.swarm["granted"].get(axis, 0)
            if left < short:
                return f"swarm {axis} budget exhausted", {}
            grant[axis] = min(max(short, chunk.get(axis, 0)), left)
        for axis, v in grant.items():
            self.swarm["granted"][axis] = self.swarm["granted"].get(axis, 0) + v
            a["allowance"][axis] = a["allowance"].get(axis, 0) + v
        return None, grant

    def halt_for_budget(self, sid, aid, reason):
        self.swarm["status"] = "paused"

    def notify_lead(self, sid, about, body):
        self.mail("lead", body, sender="system")

    def add_event(self, sid, kind, actor, summary, data=None):
        self.events.append((kind, actor, summary))

    def get_agent(self, sid, aid):
        if aid not in self.agents:
            raise NotFound(aid)
        return {"id": aid, **self.agents[aid]}

    def list_agents(self, sid, limit=100):
        return [{"id": k, **v} for k, v in self.agents.items()]

    def list_tasks(self, sid, *, status, owner, limit):
        out = [
            {"id": k, **v}
            for k, v in self.tasks.items()
            if (status is None or v["status"] == status) and (owner is None or v["owner"] == owner)
        ]
        return out[:limit]

    def run_effect(self, sid, tool_use_id, tool, body) -> EffectResult:
        if tool_use_id in self.effects:
            r = self.effects[tool_use_id]
            return EffectResult(r.content, r.is_error, r.ring, replayed=True)
        try:
            res = body(None)
        except Conflict as e:
            res = EffectResult({"error": str(e)}, is_error=True)
        self.effects[tool_use_id] = res
        return res

    def send_message_body(self, sid, sender, recipients, body, key):
        def run(_):
            for r in recipients:
                if r not in self.agents:
                    raise NotFound(f"no agent named {r}")
            for r in recipients:
                self.messages.append(
                    {"id": f"{key}-{r}", "to": r, "from": sender, "body": body, "read": False}
                )
            return EffectResult({"sent": recipients}, ring=tuple(recipients))

        return run

    def create_task_body(self, sid, actor, tid, fields, blocked_by, max_tasks):
        def run(_):
            if tid in self.tasks:
                raise Conflict(f"task {tid} already exists")
            self.tasks[tid] = {"status": "ready", "owner": fields.get("owner"), "title": "t"}
            return EffectResult({"task": {"id": tid}}, progress=True)

        return run

    def finish_swarm_body(self, sid, actor, outcome, summary):
        def run(_):
            self.swarm["status"] = "completed"
            return EffectResult({"status": "completed"}, ends_turn=True)

        return run


class FakeJournal:
    def __init__(self):
        self.conversations: dict = {}
        self.transcripts: list = []

    def load_conversation(self, sid, aid, version):
        return copy.deepcopy(self.conversations[(aid, version)])

    def save_conversation(self, sid, aid, version, messages):
        self.conversations[(aid, version)] = copy.deepcopy(messages)

    def write_transcript(self, sid, aid, turn, turn_id, seq, record):
        self.transcripts.append((aid, turn_id, seq, record))


class FakeBus:
    def __init__(self):
        self.rings: list = []

    def ring(self, sid, aid):
        self.rings.append(aid)


class FakeScheduler:
    def __init__(self):
        self.items: list = []

    def schedule(self, kind, payload, delay_s):
        self.items.append((kind, payload, delay_s))


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def monotonic(self):
        return self.t


def tool_use(name: str, args: dict, tid: str | None = None) -> dict:
    return {
        "type": "tool_use",
        "id": tid or f"toolu_{name}_{next(FakeStore.ids)}",
        "name": name,
        "input": args,
    }


def answer(*blocks: dict, usage: int = 100) -> ModelResponse:
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return ModelResponse(
        id="msg_1",
        model="claude-sonnet-4-5",
        content=list(blocks),
        stop_reason=stop,
        usage={
            "input_tokens": usage,
            "output_tokens": 10,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
        },
    )


def text(t: str) -> dict:
    return {"type": "text", "text": t}


class ScriptedModel:
    """Answers from a list, in order; an item that is an exception is raised instead."""

    def __init__(self, *answers, on_call=None):
        self.answers = list(answers)
        self.requests: list = []
        self.on_call = on_call

    def call(self, request, should_abort):
        self.requests.append(request)
        if self.on_call:
            self.on_call(request, should_abort)
        item = self.answers.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item
