"""Where each document lives, as slash-separated paths (docs/architecture.md, "Firestore").

Rules name the documents they read and write with these; each store maps a path to its own
reference (``db.document(path)`` in Firestore, a dict key in memory).
"""

from __future__ import annotations

import hashlib


def swarm(sid: str) -> str:
    return f"swarms/{sid}"


def agents(sid: str) -> str:
    return f"{swarm(sid)}/agents"


def agent(sid: str, aid: str) -> str:
    return f"{agents(sid)}/{aid}"


def tasks(sid: str) -> str:
    return f"{swarm(sid)}/tasks"


def task(sid: str, tid: str) -> str:
    return f"{tasks(sid)}/{tid}"


def messages(sid: str) -> str:
    return f"{swarm(sid)}/messages"


def message(sid: str, mid: str) -> str:
    return f"{messages(sid)}/{mid}"


def events(sid: str) -> str:
    return f"{swarm(sid)}/events"


def approvals(sid: str) -> str:
    return f"{swarm(sid)}/approvals"


def approval(sid: str, approval_id: str) -> str:
    return f"{approvals(sid)}/{approval_id}"


def effect(sid: str, tool_use_id: str) -> str:
    return f"{swarm(sid)}/effects/{tool_use_id}"


def external_call(sid: str, key: str) -> str:
    """Where an external call's attempt is noted before it is sent (core/external_calls.py)."""
    return f"{swarm(sid)}/external_calls/{key}"


def artifacts(sid: str) -> str:
    return f"{swarm(sid)}/artifacts"


def artifact(sid: str, key: str) -> str:
    return f"{artifacts(sid)}/{key}"


def artifact_versions(sid: str, key: str) -> str:
    return f"{artifact(sid, key)}/versions"


def artifact_version(sid: str, key: str, version: int) -> str:
    """One version's record; zero-padded so id order is version order."""
    return f"{artifact_versions(sid, key)}/{version:08d}"


def turn(sid: str, turn_id: str) -> str:
    """A finished turn's compact record (the UI's timeline)."""
    return f"{swarm(sid)}/turns/{turn_id}"


def kill_switch() -> str:
    return "control/kill_switch"


def kill_switch_audit() -> str:
    return f"{kill_switch()}/audit"


def budget_shard(sid: str, shard: int) -> str:
    """One shard of a swarm's budget (``core/shards.py``): what it granted, what it holds of
    the day's cap."""
    return f"{swarm(sid)}/budget/{shard}"


def budget_day(day: str) -> str:
    return f"budget_days/{day}"


def day_shard(day: str, shard: int) -> str:
    """One shard of the global daily USD cap (``core/shards.py``)."""
    return f"{budget_day(day)}/shards/{shard}"


def processed(key: str) -> str:
    return f"processed/{key}"


def dead_letters() -> str:
    return "dead_letters"


def doc_id(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def artifact_key(artifact_path: str) -> str:
    """The index document's id for a workspace path: a digest, as a path holds '/' and may be
    longer than a document id may be."""
    return hashlib.sha1(artifact_path.encode()).hexdigest()


def template(name: str) -> str:
    """A team template an admin created (core/templates.py); shipped ones are files."""
    return f"templates/{name}"
