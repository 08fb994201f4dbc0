"""The UI's seeded large swarm (web/scripts/seed_demo.py) holds what the backend would write:
its per-turn timeline records parse as ``models.Turn``, one lane's worth per agent."""

from __future__ import annotations

import importlib.util

from cloudswarm.core import timeline
from cloudswarm.core.models import Turn
from tests.conftest import REPO_ROOT


def _seeder():
    spec = importlib.util.spec_from_file_location(
        "seed_demo", REPO_ROOT / "web" / "scripts" / "seed_demo.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_seeded_swarm_has_turn_records_for_every_agent(firestore_client):
    sid = _seeder().seed_big_swarm(firestore_client, agents=20, tasks=200)  # a fresh swarm id
    swarm = firestore_client.collection("swarms").document(sid)
    agents = {s.id: s.to_dict() for s in swarm.collection("agents").stream()}
    turns = [Turn.from_doc(s.id, s.to_dict()) for s in swarm.collection("turns").stream()]
    assert {t.agent_id for t in turns} == set(agents)
    for aid, a in agents.items():
        assert sum(t.agent_id == aid for t in turns) == a["turns"]
    assert all(t.started_at < t.ended_at for t in turns)
    assert all(len(t.model_calls) <= timeline.MAX_STEPS and t.calls >= 1 for t in turns)
    assert [t.approval for t in turns if t.approval] == ["ap-publish"]
