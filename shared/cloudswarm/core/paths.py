"""Where each document lives, as slash-separated paths (docs/architecture.md, "Firestore").

Rules name the documents they read and write with these; each store maps a path to its own
reference (``db.document(path)`` in Firestore, a dict key in memory). A document's path is a
``DocPath`` and a collection's a ``CollectionPath``: plain strings that also name, for the type
checker, the kind of document found there (``core/shapes.py``), so a rule's reads are typed.
"""

from __future__ import annotations

import hashlib
from typing import Generic, TypeVar

from cloudswarm.core.shapes import (
    AgentDoc,
    ApprovalDoc,
    ArtifactDoc,
    BudgetShardDoc,
    DayShardDoc,
    EffectDoc,
    ExternalCallDoc,
    JSONObject,
    KillDoc,
    MessageDoc,
    ProcessedDoc,
    SwarmDoc,
    TaskDoc,
)

D = TypeVar("D")


class DocPath(str, Generic[D]):
    """The path of a document of kind ``D``."""

    __slots__ = ()


class CollectionPath(str, Generic[D]):
    """The path of a collection of documents of kind ``D``."""

    __slots__ = ()


def swarm(sid: str) -> DocPath[SwarmDoc]:
    return DocPath(f"swarms/{sid}")


def agents(sid: str) -> CollectionPath[AgentDoc]:
    return CollectionPath(f"{swarm(sid)}/agents")


def agent(sid: str, aid: str) -> DocPath[AgentDoc]:
    return DocPath(f"{agents(sid)}/{aid}")


def tasks(sid: str) -> CollectionPath[TaskDoc]:
    return CollectionPath(f"{swarm(sid)}/tasks")


def task(sid: str, tid: str) -> DocPath[TaskDoc]:
    return DocPath(f"{tasks(sid)}/{tid}")


def messages(sid: str) -> CollectionPath[MessageDoc]:
    return CollectionPath(f"{swarm(sid)}/messages")


def message(sid: str, mid: str) -> DocPath[MessageDoc]:
    return DocPath(f"{messages(sid)}/{mid}")


def events(sid: str) -> CollectionPath[JSONObject]:
    return CollectionPath(f"{swarm(sid)}/events")


def approvals(sid: str) -> CollectionPath[ApprovalDoc]:
    return CollectionPath(f"{swarm(sid)}/approvals")


def approval(sid: str, approval_id: str) -> DocPath[ApprovalDoc]:
    return DocPath(f"{approvals(sid)}/{approval_id}")


def effect(sid: str, tool_use_id: str) -> DocPath[EffectDoc]:
    return DocPath(f"{swarm(sid)}/effects/{tool_use_id}")


def external_call(sid: str, key: str) -> DocPath[ExternalCallDoc]:
    """Where an external call's attempt is noted before it is sent (core/external_calls.py)."""
    return DocPath(f"{swarm(sid)}/external_calls/{key}")


def artifacts(sid: str) -> CollectionPath[ArtifactDoc]:
    return CollectionPath(f"{swarm(sid)}/artifacts")


def artifact(sid: str, key: str) -> DocPath[ArtifactDoc]:
    return DocPath(f"{artifacts(sid)}/{key}")


def artifact_versions(sid: str, key: str) -> CollectionPath[ArtifactDoc]:
    return CollectionPath(f"{artifact(sid, key)}/versions")


def artifact_version(sid: str, key: str, version: int) -> DocPath[ArtifactDoc]:
    """One version's record; zero-padded so id order is version order."""
    return DocPath(f"{artifact_versions(sid, key)}/{version:08d}")


def turn(sid: str, turn_id: str) -> DocPath[JSONObject]:
    """A finished turn's compact record (the UI's timeline)."""
    return DocPath(f"{swarm(sid)}/turns/{turn_id}")


def kill_switch() -> DocPath[KillDoc]:
    return DocPath("control/kill_switch")


def kill_switch_audit() -> CollectionPath[KillDoc]:
    return CollectionPath(f"{kill_switch()}/audit")


def budget_shard(sid: str, shard: int) -> DocPath[BudgetShardDoc]:
    """One shard of a swarm's budget (``core/shards.py``): what it granted, what it holds of
    the day's cap."""
    return DocPath(f"{swarm(sid)}/budget/{shard}")


def budget_day(day: str) -> str:
    return f"budget_days/{day}"


def day_shard(day: str, shard: int) -> DocPath[DayShardDoc]:
    """One shard of the global daily USD cap (``core/shards.py``)."""
    return DocPath(f"{budget_day(day)}/shards/{shard}")


def processed(key: str) -> DocPath[ProcessedDoc]:
    return DocPath(f"processed/{key}")


def dead_letters() -> CollectionPath[JSONObject]:
    return CollectionPath("dead_letters")


def doc_id(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def artifact_key(artifact_path: str) -> str:
    """The index document's id for a workspace path: a digest, as a path holds '/' and may be
    longer than a document id may be."""
    return hashlib.sha1(artifact_path.encode()).hexdigest()


def template(name: str) -> DocPath[JSONObject]:
    """A team template an admin created (core/templates.py); shipped ones are files."""
    return DocPath(f"templates/{name}")
