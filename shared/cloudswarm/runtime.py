"""The composition root: builds the adapters once per process from the settings."""

from __future__ import annotations

import os
import random
import time
from functools import cache

from cloudswarm.core.turn import Deps
from cloudswarm.gcp.blobs import Blobs
from cloudswarm.gcp.bus import Bus
from cloudswarm.gcp.control_watch import ControlWatch
from cloudswarm.gcp.journal import Journal, Workspace
from cloudswarm.gcp.scheduler import Scheduler
from cloudswarm.gcp.secrets import get_secret
from cloudswarm.gcp.store import FirestoreStore
from cloudswarm.settings import Settings, settings


class _Clock:
    monotonic = staticmethod(time.monotonic)


@cache
def store() -> FirestoreStore:
    return FirestoreStore(settings().project)


@cache
def bus() -> Bus:
    s = settings()
    return Bus(s.project, s.topic("agent-doorbell"), duplicate=s.chaos_duplicate_doorbells)


@cache
def blobs() -> Blobs:
    return Blobs(settings().project, emulated=bool(os.environ.get("STORAGE_EMULATOR_HOST")))


@cache
def watch() -> ControlWatch:
    return ControlWatch(store())


@cache
def scheduler() -> Scheduler:
    return Scheduler(settings(), settings().queue("agent-retries"))


@cache
def model():
    # Imported here: the SDK costs about two seconds of CPU to import, and only agent_turn
    # calls the model.
    from cloudswarm.llm.claude import Claude

    s: Settings = settings()
    return Claude(
        get_secret("anthropic-api-key"),
        timeout_s=s.model_timeout_s,
        max_retries=s.model_max_retries,
    )


@cache
def rng() -> random.Random:
    """One generator per process. A new one per turn, seeded alike, would make every turn draw
    the same numbers: with a chaos seed, every turn would crash at the same step (or none)."""
    return random.Random(settings().chaos_seed or None)


def deps() -> Deps:
    s = settings()
    return Deps(
        settings=s,
        store=store(),
        journal=Journal(blobs(), s.bucket("transcripts")),
        workspace=Workspace(blobs(), s.bucket("artifacts")),
        bus=bus(),
        scheduler=scheduler(),
        model=model(),
        clock=_Clock(),
        rng=rng(),
        watch=watch(),
    )
