"""The ports: everything the core talks to, as Protocols.

The turn engine (``core/turn.py``) and the tools (``core/tools.py``) see the world only through
these. The adapters in ``cloudswarm.gcp`` and ``cloudswarm.llm`` satisfy them structurally (they
import nothing from here); ``cloudswarm.runtime`` wires them into ``Deps``, which is where the
type checker holds each adapter to its port. The unit tests' fakes implement the same methods.

Documents and messages cross the ports as the typed views of ``core/shapes.py`` (JSON objects
whose fields the core reads are typed; no ``Any``): what each document holds is defined by its
record (``core/models.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from cloudswarm.core.decisions import Decision, Rule, WriteFields
from cloudswarm.core.pricing import Tariff
from cloudswarm.core.records import EffectResult, LeaseResult
from cloudswarm.core.shapes import (
    AgentDoc,
    ArtifactDoc,
    Block,
    ConvMessage,
    JSONObject,
    KillDoc,
    McpServer,
    MessageDoc,
    Request,
    SwarmDoc,
    TaskDoc,
    Transcript,
)


class ToolStore(Protocol):
    """The store as the tools use it: reads of the board, and effects keyed by tool_use id."""

    def effect(self, sid: str, tool_use_id: str, tool: str, rule: Rule) -> EffectResult:
        """Carry out ``rule`` once per tool_use id; a replay returns the stored result."""
        ...

    def list_agents(self, sid: str, limit: int = 100) -> list[AgentDoc]: ...

    def list_tasks(
        self, sid: str, *, status: str | None, owner: str | None, limit: int
    ) -> list[TaskDoc]: ...

    def get_artifact(self, sid: str, path: str) -> ArtifactDoc:
        """The artifact's metadata (``path``, ``version``, ``object``); NotFound if absent."""
        ...

    def list_artifacts(self, sid: str, prefix: str = "", limit: int = 100) -> list[ArtifactDoc]: ...

    def apply(self, rule: Rule, *, what: str) -> Decision:
        """A rule in a transaction of its own, no effect marker; a refusal raises."""
        ...


class TurnStore(ToolStore, Protocol):
    """The store as the turn engine uses it, on top of what its tools use."""

    def acquire_lease(self, sid: str, aid: str, turn_id: str, ttl_s: float) -> LeaseResult:
        """Take the agent's lease, or say why not (busy: coalesced; missing; inactive)."""
        ...

    def release_lease(
        self,
        sid: str,
        aid: str,
        turn_id: str,
        updates: JSONObject,
        record: WriteFields | None = None,
    ) -> bool:
        """Give the lease back with ``updates`` (and the turn's timeline ``record``, written in
        the same transaction); True when a doorbell came meanwhile."""
        ...

    def unread(self, sid: str, aid: str, limit: int = 20) -> list[MessageDoc]: ...

    def commit_step(
        self,
        sid: str,
        aid: str,
        turn_id: str,
        *,
        conv_version: int | None,
        read_ids: list[str],
        usage: dict[str, float] | None,
        spent: dict[str, float] | None,
        activity: str,
        container: dict[str, str] | None = None,
        paused: bool | None = None,
    ) -> None:
        """Record one step: the new conversation version (None: the usage alone), the mail it
        consumed, what it used and spent, a code-execution container it now holds, and whether
        the conversation ends with an answer the API paused."""
        ...

    def control_snapshot(self, sid: str) -> tuple[KillDoc, SwarmDoc]:
        """(the kill switch, the swarm), read together."""
        ...

    def grant_allowance(
        self,
        sid: str,
        aid: str,
        need: dict[str, float],
        chunk: dict[str, float],
        *,
        daily_cap_usd: float,
        day: str,
    ) -> tuple[str | None, dict[str, float]]:
        """(why it was refused or None, what was granted), per budget axis."""
        ...

    def halt_for_budget(self, sid: str, aid: str, reason: str) -> None: ...

    def notify_lead(self, sid: str, about: str, body: str) -> None: ...

    def add_event(
        self, sid: str, kind: str, actor: str, summary: str, data: JSONObject | None = None
    ) -> None: ...


class ExternalTools(Protocol):
    """Remote MCP servers (``cloudswarm.mcp``): the client resolves a server's token itself, so
    no credential crosses into the core."""

    def list_tools(self, sid: str, server: McpServer) -> list[JSONObject]:
        """The server's tools, ``{name, description, input_schema}`` as it gives them, listed
        once per swarm and server and cached with a bound. TransientError when unreachable."""
        ...

    def call(self, server: McpServer, tool: str, arguments: JSONObject) -> tuple[str, bool]:
        """Call ``tool``: (its result as text, whether the server reports an error). Raises
        NotDelivered when the request never left (nothing can have happened); a timeout or a
        connection lost mid-call comes back as an error result saying the outcome is unknown."""
        ...


class Journal(Protocol):
    """The conversation log (one object per saved version) and the per-call transcripts."""

    def load_conversation(self, sid: str, aid: str, version: int) -> list[ConvMessage]: ...

    def save_conversation(
        self, sid: str, aid: str, version: int, messages: list[ConvMessage]
    ) -> None: ...

    def write_transcript(
        self, sid: str, aid: str, turn: int, turn_id: str, seq: int, record: Transcript
    ) -> None: ...


class Workspace(Protocol):
    """Artifact contents, content-addressed."""

    def put(self, sid: str, data: bytes) -> str:
        """Store ``data``; returns the object's name."""
        ...

    def get(self, name: str) -> bytes: ...


class Bus(Protocol):
    def ring(self, swarm_id: str, agent_id: str) -> None:
        """Ring an agent's doorbell (it runs a turn soon)."""
        ...


class Scheduler(Protocol):
    def schedule(self, kind: str, payload: dict[str, str], delay_s: float) -> None:
        """Deliver ``payload`` to the ``kind`` handler (watchdog, retry) after ``delay_s``."""
        ...


class ModelResponse(Protocol):
    """One model answer, as the model adapter hands it over."""

    @property
    def id(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def content(self) -> list[Block]: ...

    @property
    def stop_reason(self) -> str | None: ...

    @property
    def usage(self) -> dict[str, int]:
        """input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, and the server
        tools' web_search_requests and web_fetch_requests."""
        ...

    @property
    def container(self) -> dict[str, str] | None:
        """The code-execution container the call ran in, {id, expires_at}; None without one."""
        ...

    @property
    def context_management(self) -> JSONObject | None:
        """What the API's context edits did to the request: {applied_edits: [...]}."""
        ...


class Model(Protocol):
    def call(self, request: Request, should_abort: Callable[[], bool]) -> ModelResponse:
        """One Messages call; closes the stream (raising Halted) once ``should_abort()``."""
        ...


class Meter(Protocol):
    """Where what each model call used is recorded for operators (the spend alert reads it)."""

    def model_call(self, *, model: str, usd: float, usage: Mapping[str, int], seq: int) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...


class HaltWatch(Protocol):
    def halted(self, sid: str, aid: str = "", seen: int = 0) -> bool:
        """Whether the kill switch is engaged, the swarm no longer running, or (given ``aid``)
        the agent's turn, which saw ``seen`` interrupts when it started, was told to stop
        (``core/agent_control.py``). Cheap: polled, one read per swarm however many agents."""
        ...


class CoreSettings(Protocol):
    """The settings the core reads (``cloudswarm.settings.Settings`` has them all)."""

    @property
    def default_model(self) -> str: ...

    @property
    def max_tokens(self) -> int: ...

    @property
    def model_provider(self) -> str:
        """anthropic | vertex (named in the model calls' spans)."""
        ...

    @property
    def turn_wall_s(self) -> float: ...

    @property
    def lease_ttl_s(self) -> float: ...

    @property
    def lease_fence_s(self) -> float: ...

    @property
    def daily_usd_cap(self) -> float: ...

    @property
    def max_agents(self) -> int: ...

    @property
    def max_spawn_depth(self) -> int: ...

    @property
    def max_tasks(self) -> int: ...

    @property
    def max_turns_without_progress(self) -> int: ...

    @property
    def max_pair_messages(self) -> int: ...

    @property
    def pricing_tariff(self) -> Tariff:
        """The price list calls are charged at (provider and endpoint)."""
        ...

    @property
    def chaos_crash_rate(self) -> float: ...

    @property
    def chaos_crash_points(self) -> Sequence[str]: ...


# A span attribute's value, as OpenTelemetry takes it.
AttrValue = str | bool | int | float | Sequence[str]


class TraceSpan(Protocol):
    """One span while it is open."""

    @property
    def context(self) -> str:
        """This span's W3C ``traceparent``, to carry across a hop ("" when nothing is traced)."""
        ...

    def set(self, attributes: Mapping[str, AttrValue]) -> None: ...

    def link(self, context: str, attributes: Mapping[str, AttrValue] | None = None) -> None:
        """Link to another span (a message's sender), given its ``traceparent``."""
        ...

    def fail(self, error: BaseException) -> None:
        """Record ``error`` (status ERROR and an exception event); the span still ends."""
        ...


class Tracer(Protocol):
    """Where the turn's spans go (``cloudswarm.telemetry``: OpenTelemetry; ``core.tracing``:
    nowhere). A span opened inside another is its child; ``parent`` (a ``traceparent``) makes it
    the child of a span in another process instead, as a doorbell's or a task's context says."""

    def span(
        self,
        name: str,
        attributes: Mapping[str, AttrValue],
        *,
        parent: str = "",
        kind: str = "internal",
    ) -> AbstractContextManager[TraceSpan]: ...

    @property
    def content(self) -> bool:
        """Whether an operator turned content capture on (prompts and answers in spans)."""
        ...
