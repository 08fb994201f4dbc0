"""The composition root: builds the adapters once per process from the settings.

Each builder imports its adapter itself: a Google client library costs a few hundred
milliseconds of CPU to import (Cloud Storage's over one second), and most functions use only
some of them (budget_guard only the store, swarm_trigger the store and the bus), so a cold start
pays only for the adapters its function builds.
"""

from __future__ import annotations

import os
import random
import time
from functools import cache
from typing import TYPE_CHECKING

from cloudswarm.settings import Settings, settings
from cloudswarm.telemetry import tracer

if TYPE_CHECKING:
    from cloudswarm.core.ports import ExternalTools, Model
    from cloudswarm.core.turn import Deps
    from cloudswarm.gcp.blobs import Blobs
    from cloudswarm.gcp.bus import Bus
    from cloudswarm.gcp.control_watch import ControlWatch
    from cloudswarm.gcp.scheduler import Scheduler
    from cloudswarm.gcp.store import FirestoreStore


class _Clock:
    monotonic = staticmethod(time.monotonic)


@cache
def store() -> FirestoreStore:
    from cloudswarm.gcp.store import FirestoreStore

    return FirestoreStore(settings().project)


@cache
def bus() -> Bus:
    from cloudswarm.gcp.bus import Bus

    s = settings()
    return Bus(s.project, s.topic("agent-doorbell"), duplicate=s.chaos_duplicate_doorbells)


@cache
def blobs() -> Blobs:
    from cloudswarm.gcp.blobs import Blobs

    return Blobs(settings().project, emulated=bool(os.environ.get("STORAGE_EMULATOR_HOST")))


@cache
def watch() -> ControlWatch:
    from cloudswarm.gcp.control_watch import ControlWatch

    return ControlWatch(store())


@cache
def scheduler() -> Scheduler:
    from cloudswarm.gcp.scheduler import Scheduler

    return Scheduler(settings(), settings().queue("agent-retries"))


@cache
def model() -> Model:
    # Imported here: the SDK costs about two seconds of CPU to import, and only agent_turn
    # calls the model.
    from cloudswarm.gcp.secrets import get_secret
    from cloudswarm.llm.claude import Claude

    s: Settings = settings()
    if s.model_provider == "vertex":
        # No API key is read, or even looked for: the function's service account is the
        # credential (Terraform creates no anthropic-api-key secret for vertex).
        return Claude.on_vertex(
            project=s.project,
            region=s.vertex_region,
            base_url=s.vertex_base_url,
            emulated=s.vertex_emulated,
            timeout_s=s.model_timeout_s,
            max_retries=s.model_max_retries,
            deadline_s=s.model_call_deadline_s,
        )
    return Claude(
        get_secret("anthropic-api-key"),
        timeout_s=s.model_timeout_s,
        max_retries=s.model_max_retries,
        deadline_s=s.model_call_deadline_s,
    )


@cache
def rng() -> random.Random:
    """One generator per process. A new one per turn, seeded alike, would make every turn draw
    the same numbers: with a chaos seed, every turn would crash at the same step (or none)."""
    return random.Random(settings().chaos_seed or None)


@cache
def external_tools() -> ExternalTools:
    """The MCP client, one per process: its listing cache is what lists a swarm's servers once."""
    from cloudswarm.gcp.secrets import get_named_secret
    from cloudswarm.mcp.client import McpTools

    return McpTools(get_named_secret, timeout_s=settings().mcp_timeout_s)


def deps() -> Deps:
    from cloudswarm.core.turn import Deps
    from cloudswarm.gcp.journal import Journal, Workspace
    from cloudswarm.llm.usage import UsageLog

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
        meter=UsageLog(),
        rng=rng(),
        watch=watch(),
        tracer=tracer(),
        external=external_tools(),
    )
