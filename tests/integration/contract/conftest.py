"""The contract suite: every store test here runs against the in-memory executor and against
Firestore (the emulator, through the real client), so the two cannot drift apart. The memory
half needs no emulator; the integration stack starts only for the Firestore half.

A test takes the ``store`` fixture (a ``Backend``) and uses only what both backends offer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cloudswarm.core import decisions as dc
from tests.memory_store import MemoryStore


@dataclass
class Backend:
    name: str
    executor: Any  # a cloudswarm.core.decisions.Executor
    # The whole store over the same executor (MemoryStore or FirestoreStore): the queries the
    # turn and the tools use (unread, list_tasks, get_artifact, ...) and ``effect``/``apply``.
    queries: Any = None

    def seed(self, *writes: dc.Write) -> None:
        self.executor.write(writes, what="seed")


@pytest.fixture(params=["memory", "firestore"])
def store(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        memory = MemoryStore()
        yield Backend("memory", memory.executor, memory)
        return
    from cloudswarm.gcp.store import FirestoreStore

    request.getfixturevalue("clean_firestore")
    firestore = FirestoreStore(
        request.getfixturevalue("project"), db=request.getfixturevalue("firestore_client")
    )
    yield Backend("firestore", firestore.executor, firestore)
