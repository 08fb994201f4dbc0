"""The demo policies drive a whole swarm to completion.

A tiny in-memory board stands in for the platform: it executes the tools the policy asks for,
rings agents as the platform would, and checks every request it builds against the validator, so
the scenario is known to finish (and to stay within the real API's rules) before any stack runs.
Duplicated doorbells and a replayed model call are part of the run: the policy is stateless.
"""

from __future__ import annotations

import json
from collections import deque

import pytest

from cloudswarm.core.tool_specs import LEAD_ONLY, TOOLS
from emulators.model_server import scenario as scenarios
from emulators.model_server.errors import new_id
from emulators.model_server.validate import validate


class Board:
    def __init__(self):
        self.agents: dict[str, list[dict]] = {"lead": []}  # id -> conversation
        self.roles = {"lead": "lead"}
        self.tasks: dict[str, dict] = {}
        self.inbox: dict[str, list[dict]] = {"lead": [{"id": "m0", "from": "human", "body": "go"}]}
        self.artifacts: dict[str, str] = {}
        self.finished: dict | None = None
        self.rings: deque[str] = deque(["lead"])
        self.requests = 0

    def _ready(self, task: dict) -> bool:
        return all(self.tasks[d]["status"] == "done" for d in task["blocked_by"])

    def run(self, me: str, name: str, a: dict) -> dict:
        if name in LEAD_ONLY and self.roles[me] != "lead":
            return {"error": f"{name} is for the lead only"}
        if name == "spawn_agent":
            if a["name"] in self.agents:
                return {"error": "exists"}
            self.agents[a["name"]] = []
            self.roles[a["name"]] = "teammate"
            self.inbox[a["name"]] = []
            self.rings.append(a["name"])
            return {"agent": a["name"]}
        if name == "create_task":
            if a["id"] in self.tasks:
                return {"error": "exists"}
            assert all(d in self.tasks for d in a["blocked_by"])
            task = {"id": a["id"], "owner": a["owner"], "blocked_by": a["blocked_by"]}
            task["status"] = "ready" if self._ready(task) else "blocked"
            self.tasks[a["id"]] = task
            return {"task": task}
        if name == "list_tasks":
            owner = me if a.get("owner") == "me" else a.get("owner")
            picked = [
                dict(t)
                for t in self.tasks.values()
                if (owner is None or t["owner"] == owner)
                and (a.get("status") is None or t["status"] == a["status"])
            ][: a.get("limit", 20)]
            return {"tasks": picked, "count": len(picked)}
        if name == "claim_task":
            task = self.tasks[a["task_id"]]
            if task["status"] != "ready" or task["owner"] != me:
                return {"error": "cannot claim"}
            task["status"] = "in_progress"
            return {"task": dict(task)}
        if name == "complete_task":
            task = self.tasks[a["task_id"]]
            task["status"] = "done"
            for other in self.tasks.values():
                if other["status"] == "blocked" and self._ready(other):
                    other["status"] = "ready"
                    self.rings.append(other["owner"])
            return {"task": dict(task)}
        if name == "write_artifact":
            self.artifacts[a["path"]] = a["content"]
            return {"version": 1}
        if name == "send_message":
            self.inbox[a["to"]].append({"id": new_id("m"), "from": me, "body": a["body"]})
            self.rings.append(a["to"])
            return {"sent": 1}
        if name == "finish_swarm":
            self.finished = a
            return {"status": a["outcome"]}
        return {"error": f"unexpected tool {name}"}

    def call(self, policy, me: str, convo: list[dict]):
        tools = [t for t in TOOLS if self.roles[me] == "lead" or t["name"] not in LEAD_ONLY]
        body = {"model": "claude-sonnet-4-5", "max_tokens": 4096, "tools": tools, "messages": convo}
        validate(body)  # every request the platform would send must be one the API accepts
        self.requests += 1
        return policy.decide(body)

    def turn(self, policy, me: str) -> None:
        convo = self.agents[me]
        payload = {"agent": me, "role": self.roles[me], "inbox": self.inbox[me], "board": {}}
        self.inbox[me] = []
        convo.append({"role": "user", "content": f"<turn>{json.dumps(payload)}</turn>"})
        for _ in range(20):
            decision = self.call(policy, me, convo)
            if self.requests % 7 == 0:
                decision = self.call(policy, me, convo)  # a replayed call: same answer
            content = [{"type": "text", "text": decision.text}] if decision.text else []
            uses = [(new_id("toolu_"), n, i) for n, i in decision.tool_uses]
            content += [{"type": "tool_use", "id": t, "name": n, "input": i} for t, n, i in uses]
            convo.append({"role": "assistant", "content": content})
            if not uses:
                return
            out = []
            for tid, name, tool_input in uses:
                result = self.run(me, name, tool_input)
                block = {"type": "tool_result", "tool_use_id": tid, "content": json.dumps(result)}
                out.append({**block, **({"is_error": True} if "error" in result else {})})
            convo.append({"role": "user", "content": out})
            if self.finished:
                return
        raise AssertionError(f"{me} looped without ending its turn")


@pytest.mark.parametrize("name", ["demo", "large"])
def test_the_scenario_drives_a_swarm_to_completion(name):
    policy = scenarios.load(name)
    board = Board()
    turns = 0
    while board.rings and not board.finished:
        me = board.rings.popleft()
        board.turn(policy, me)
        turns += 1
        if turns % 5 == 0:
            board.rings.append(me)  # a duplicate doorbell: a harmless extra turn
        assert turns < 500
    assert board.finished == {
        "summary": f"All {len(board.tasks)} tasks are done.",
        "outcome": "completed",
    }
    assert len(board.tasks) == len(policy.data["tasks"])
    assert all(t["status"] == "done" for t in board.tasks.values())
    assert set(board.artifacts) == {f"{t}.md" for t in board.tasks}
    assert set(board.agents) == {"lead"} | {t["name"] for t in policy.data["teammates"]}
