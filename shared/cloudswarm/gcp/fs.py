"""Firestore plumbing shared by the store modules: the client, paths, error translation."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from functools import cache

from google.api_core import exceptions as gexc
from google.cloud import firestore

from cloudswarm.errors import PermanentError, TransientError


@cache
def client(project: str) -> firestore.Client:
    # FIRESTORE_EMULATOR_HOST, when set, makes the client talk to the emulator anonymously.
    return firestore.Client(project=project)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_TRANSIENT = (
    gexc.Aborted,
    gexc.DeadlineExceeded,
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.ResourceExhausted,
)


def _dead_transaction(e: gexc.GoogleAPICallError) -> bool:
    """A transaction the server no longer knows: it expired or was closed while its client was
    cut off (the outage suite found it as "Transaction is invalid or closed." after a Firestore
    outage; Firestore says "expired or is no longer valid"). A new transaction may well succeed,
    so it is transient, not a request that can never work."""
    text = str(e.message or "").lower()
    return "transaction" in text and any(
        w in text for w in ("invalid or closed", "expired", "no longer valid")
    )


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn google.api_core errors into the project's tree, keeping the cause."""
    try:
        yield
    except _TRANSIENT as e:
        raise TransientError(f"firestore {what}: {e.message}") from e
    except (gexc.InvalidArgument, gexc.FailedPrecondition) as e:
        if _dead_transaction(e):
            raise TransientError(f"firestore {what}: {e.message}") from e
        if isinstance(e, gexc.FailedPrecondition):
            raise  # a write's precondition: its caller decides (executor.run_unlocked)
        raise PermanentError(f"firestore {what}: {e.message}") from e
    except (gexc.PermissionDenied, gexc.Unauthenticated) as e:
        raise PermanentError(f"firestore {what}: {e.message}") from e
    except ValueError as e:
        # A transaction whose every commit was aborted (contention) ends as a ValueError from
        # the client's retry loop: still contention, so transient, never an unhandled crash.
        if isinstance(e.__cause__, _TRANSIENT):
            raise TransientError(f"firestore {what}: {e}") from e
        raise


class Paths:
    """Document references for one project, named as in docs/architecture.md."""

    def __init__(self, db: firestore.Client):
        self.db = db

    def swarm(self, sid: str):
        return self.db.collection("swarms").document(sid)

    def agents(self, sid: str):
        return self.swarm(sid).collection("agents")

    def agent(self, sid: str, aid: str):
        return self.agents(sid).document(aid)

    def tasks(self, sid: str):
        return self.swarm(sid).collection("tasks")

    def task(self, sid: str, tid: str):
        return self.tasks(sid).document(tid)

    def messages(self, sid: str):
        return self.swarm(sid).collection("messages")

    def events(self, sid: str):
        return self.swarm(sid).collection("events")

    def approvals(self, sid: str):
        return self.swarm(sid).collection("approvals")

    def effect(self, sid: str, tool_use_id: str):
        return self.swarm(sid).collection("effects").document(tool_use_id)

    def artifacts(self, sid: str):
        return self.swarm(sid).collection("artifacts")

    def kill_switch(self):
        return self.db.collection("control").document("kill_switch")

    def budget_day(self, day: str):
        return self.db.collection("budget_days").document(day)

    def processed(self, key: str):
        return self.db.collection("processed").document(key)

    def dead_letters(self):
        return self.db.collection("dead_letters")
