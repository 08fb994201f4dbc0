"""In-memory stand-ins for the turn engine's ports, so its logic is tested without a network.

The store is ``tests.memory_store.MemoryStore``: the board's real rules over the in-memory
executor, which the contract suite (``tests/integration/contract``) holds to the Firestore store's
behaviour. The others keep their ports' contracts in the simplest form.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, MutableMapping

from cloudswarm.core import decisions as dc
from cloudswarm.core import paths
from cloudswarm.core.documents import message_doc
from cloudswarm.llm.claude import ModelResponse
from cloudswarm.settings import Settings
from tests.memory_store import MemoryStore

_ids = itertools.count(1)


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


class FakeStore(MemoryStore):
    """The unit tests' store: a ``MemoryStore`` (the real board rules over the in-memory
    executor) seeded with one running swarm ``s1`` and its lead, with views of that swarm's
    documents for tests to set a scene and look at the outcome."""

    SID = "s1"

    def __init__(self) -> None:
        super().__init__()
        swarm = {
            "goal": "g",
            "status": "running",
            "lead_id": "lead",
            "budget": {},
            "granted": {},
            "agent_count": 1,
            "task_count": 0,
            "tasks_done": 0,
        }
        self.executor.write(
            [
                dc.set_doc(paths.swarm(self.SID), swarm),
                dc.set_doc(self._agent("lead"), agent_doc()),
            ],
            what="seed",
        )

    def _agent(self, aid: str) -> str:
        return paths.agent(self.SID, aid)

    @property
    def swarm(self) -> dict:
        return self.docs[paths.swarm(self.SID)]

    @property
    def kill(self) -> dict:
        return self.docs.get(paths.kill_switch(), {"engaged": False})

    @kill.setter
    def kill(self, doc: dict) -> None:
        self.docs[paths.kill_switch()] = doc

    @property
    def agents(self) -> _Agents:
        return _Agents(self)

    @property
    def tasks(self) -> dict[str, dict]:
        return dict(self.executor.store.collection(paths.tasks(self.SID)))

    @property
    def messages(self) -> list[dict]:
        """Every message of the swarm, oldest first."""
        found = self.executor.store.collection(paths.messages(self.SID))
        return [{"id": i, **d} for i, d in sorted(found, key=lambda x: x[1]["created_at"])]

    def mail(self, to: str, body: str, sender: str = "human:op") -> str:
        mid = f"m{next(_ids)}"
        doc = message_doc(sender, to, body)
        self.executor.write([dc.set_doc(paths.message(self.SID, mid), doc)], what="mail")
        return mid


class _Agents(MutableMapping[str, dict]):
    """The agents of the fake's swarm by id; each document live, so a test may edit it."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def __getitem__(self, aid: str) -> dict:
        return self.store.docs[self.store._agent(aid)]

    def __setitem__(self, aid: str, doc: dict) -> None:
        self.store.docs[self.store._agent(aid)] = doc

    def __delitem__(self, aid: str) -> None:
        del self.store.docs[self.store._agent(aid)]

    def __iter__(self) -> Iterator[str]:
        return (i for i, _ in self.store.executor.store.collection(paths.agents(self.store.SID)))

    def __len__(self) -> int:
        return sum(1 for _ in self)


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
        "id": tid or f"toolu_{name}_{next(_ids)}",
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
