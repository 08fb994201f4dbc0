"""Decisions: what a board or team rule decided, as data a store carries out.

A rule is a pure function from the documents it reads to a decision. It reads through a
``Reader`` (inside the store's transaction) and returns either a ``Decision`` (the writes to make,
the agents to ring, the result to hand back) or a ``Refusal`` (why nothing changes). It never
writes. The Firestore executor (``cloudswarm.gcp.executor``) and the in-memory executor the unit
tests use (``tests/memory_store.py``) carry out the same decisions, so the two cannot drift: one
contract suite (``tests/contract``) holds both to the same behaviour.

Writes name documents by path (``cloudswarm.core.paths``) and use the sentinels below for what
Firestore computes on commit (server time, increments, array unions), so a rule stays free of any
client library.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, cast

from typing_extensions import TypeVar

from cloudswarm import errors
from cloudswarm.core.paths import CollectionPath, DocPath
from cloudswarm.core.records import EffectResult
from cloudswarm.core.shapes import JSON, EffectDoc, JSONObject
from cloudswarm.core.shapes import SERVER_TIME as SERVER_TIME
from cloudswarm.core.shapes import ServerTime as ServerTime
from cloudswarm.errors import UserError


@dataclass(frozen=True)
class Increment:
    amount: int | float


@dataclass(frozen=True)
class ArrayUnion:
    values: tuple[JSON, ...]


@dataclass(frozen=True)
class ArrayRemove:
    values: tuple[JSON, ...]


# A field's value in a write: JSON, or what the database computes on commit.
FieldValue = JSON | ServerTime | Increment | ArrayUnion | ArrayRemove
WriteFields = Mapping[str, FieldValue]

WriteOp = Literal["set", "update", "merge", "add"]


@dataclass(frozen=True)
class Write:
    """One document write.

    ``set`` replaces the document; ``update`` changes fields of an existing one (dotted field
    paths reach into maps); ``merge`` sets the given fields, creating the document if needed;
    ``add`` creates a document with a fresh id in the collection ``path`` names.
    """

    op: WriteOp
    path: str
    fields: WriteFields


def set_doc(path: str, fields: WriteFields) -> Write:
    return Write("set", path, fields)


def update(path: str, fields: WriteFields) -> Write:
    return Write("update", path, fields)


def merge(path: str, fields: WriteFields) -> Write:
    return Write("merge", path, fields)


def add(collection: str, fields: WriteFields) -> Write:
    return Write("add", collection, fields)


# What a decision hands its caller: JSON (a tool's result, an API body) unless a rule says.
R = TypeVar("R", default=JSONObject)


@dataclass(frozen=True)
class Decision(Generic[R]):
    """A rule's go-ahead: the writes to commit together, then who to ring.

    ``result`` is what the caller gets back (a tool's result content, an API response body).
    ``progress`` says the change moved the task board (the loop guard counts it); ``ends_turn``
    that the acting agent's turn ends with it.
    """

    result: R
    writes: tuple[Write, ...] = ()
    ring: tuple[str, ...] = ()
    progress: bool = False
    ends_turn: bool = False
    kind: Literal["apply"] = "apply"


_ERRORS: dict[str, type[UserError]] = {
    "invalid": errors.UserError,
    "not_found": errors.NotFound,
    "conflict": errors.Conflict,
    "forbidden": errors.Forbidden,
    "invalid_transition": errors.InvalidTransition,
}


@dataclass(frozen=True)
class Refusal:
    """A rule's no: nothing is written. ``error`` is the kind of error (the API's HTTP status
    follows from it), ``code`` the stable identifier clients and models see."""

    reason: str
    code: str
    error: Literal["invalid", "not_found", "conflict", "forbidden", "invalid_transition"]
    kind: Literal["refuse"] = "refuse"

    @classmethod
    def of(cls, e: UserError) -> Refusal:
        kind = next((k for k, t in reversed(list(_ERRORS.items())) if isinstance(e, t)), "invalid")
        return cls(str(e), e.code, kind)  # type: ignore[arg-type]

    def exception(self) -> UserError:
        return _ERRORS[self.error](self.reason, code=self.code)


Outcome = Decision[R] | Refusal


D = TypeVar("D")


class Found:
    """Documents read together (``Reader.get_many``), each typed by the kind its path names."""

    def __init__(self, docs: Mapping[str, Mapping[str, object] | None]) -> None:
        self._docs = dict(docs)

    def __getitem__(self, path: DocPath[D]) -> D | None:
        # The document at ``path`` is of the kind the path names (core/paths.py): the records'
        # tests hold every writer to it.
        return cast("D | None", self._docs[path])

    def of(self, paths: Sequence[DocPath[D]]) -> dict[str, D | None]:
        """The documents of ``paths`` (all of one kind), by path."""
        return {p: self[p] for p in paths}


class Reader(Protocol):
    """Reads inside the executor's transaction; every read comes before any write."""

    def get(self, path: DocPath[D]) -> D | None:
        """The document at ``path``, or None when it does not exist."""
        ...

    def get_many(self, paths: Sequence[str]) -> Found:
        """Several documents in one round trip, by path (None for a missing one)."""
        ...

    def list(self, collection: CollectionPath[D], limit: int) -> list[tuple[str, D]]:
        """Up to ``limit`` documents of a collection as (id, document), in id order."""
        ...


Rule = Callable[[Reader], Outcome[R]]


def decide(rule: Rule[R], reader: Reader) -> Outcome[R]:
    """Run a rule; a UserError it raises (a state machine's refusal, say) is a Refusal too."""
    try:
        return rule(reader)
    except UserError as e:
        return Refusal.of(e)


@dataclass(frozen=True)
class Applied(Generic[R]):
    """What an executor hands back after carrying out a rule."""

    outcome: Outcome[R]
    replayed: bool = False  # an effect marker already held this outcome
    ids: tuple[str, ...] = field(default=())  # ids given to ``add`` writes, in order

    def decision(self) -> Decision[R]:
        """The decision, or the refusal raised as the error it names (for callers that answer a
        human directly, so the error keeps its type and HTTP status)."""
        if isinstance(self.outcome, Refusal):
            raise self.outcome.exception()
        return self.outcome


# -- effects: a tool call's outcome, kept under its tool_use id ------------------------------


def effect_result(outcome: Outcome) -> EffectResult:
    if isinstance(outcome, Refusal):
        return EffectResult({"error": outcome.reason, "code": outcome.code}, is_error=True)
    return EffectResult(
        dict(outcome.result),
        ring=outcome.ring,
        progress=outcome.progress,
        ends_turn=outcome.ends_turn,
    )


def marker_fields(tool: str, res: EffectResult) -> dict[str, FieldValue]:
    """What ``effects/{tool_use_id}`` stores: enough to hand the same result back on a replay."""
    return {
        "tool": tool,
        "content": res.content,
        "is_error": res.is_error,
        "ring": list(res.ring),
        "progress": res.progress,
        "ends_turn": res.ends_turn,
        "at": SERVER_TIME,
    }


def replayed_result(marker: EffectDoc) -> EffectResult:
    return EffectResult(
        marker.get("content", {}),
        marker.get("is_error", False),
        tuple(marker.get("ring", [])),
        replayed=True,
        progress=marker.get("progress", False),
        ends_turn=marker.get("ends_turn", False),
    )


class Executor(Protocol):
    """Carries out rules: the port every store's state changes go through."""

    def run(self, rule: Rule[R], *, what: str) -> Applied[R]:
        """Read, decide and write in one transaction; a refusal writes nothing."""
        ...

    def run_effect(self, sid: str, tool_use_id: str, tool: str, rule: Rule) -> EffectResult:
        """``run`` once per tool_use id: a replay returns the stored result and writes nothing;
        a refusal stores its error result, so a replay refuses the same way."""
        ...

    def write(self, writes: Sequence[Write], *, what: str) -> tuple[str, ...]:
        """Commit writes that need no read (one batch); returns the ids ``add`` writes got."""
        ...

    def get(self, path: DocPath[D]) -> D | None:
        """One document outside any transaction."""
        ...
