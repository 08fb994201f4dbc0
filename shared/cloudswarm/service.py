"""Operations humans and systems start: swarms, the kill switch, pause/resume, messages.

Shared by the HTTP API, the Pub/Sub trigger, the schedule, the CLI and the demo, so every way in
enforces the same rules and rings the same doorbells. ``Operations`` works on the store and the
doorbell bus it is handed: the API hands it its own (``call.services.ops``); the functions, the
bench and the tests use the module's functions, which hand it the process's (``default()``).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from cloudswarm import runtime, telemetry
from cloudswarm.core import context as context_settings
from cloudswarm.core import pricing, server_tools, templates
from cloudswarm.core.models import Budget, SwarmStatus
from cloudswarm.errors import Conflict, NotFound
from cloudswarm.llm import providers
from cloudswarm.settings import Settings, settings
from cloudswarm.templates import shipped as shipped_templates

if TYPE_CHECKING:  # the adapters load with the first use, off the functions' cold start
    from cloudswarm.gcp.bus import Bus
    from cloudswarm.gcp.store import FirestoreStore


# Where the shipped repository template's MCP server is when CLOUDSWARM_MCP_URL is unset: the
# local stack's MCP server on its default port.
LOCAL_MCP_URL = "http://127.0.0.1:8098/mcp"


class Operations:
    def __init__(self, store: FirestoreStore, bus: Bus, config: Settings):
        self.store, self.bus, self.settings = store, bus, config

    def start_swarm(
        self,
        goal: str,
        *,
        actor: str,
        model: str | None = None,
        budget: Budget | None = None,
        request_id: str | None = None,
        template: str | None = None,
        tools: dict | None = None,
        context: dict | None = None,
        team: str | None = None,
    ) -> tuple[str, bool]:
        """Create a swarm and ring its lead. Returns (swarm id, created now).

        What the swarm asks for is checked here, whatever started it, before anything is
        written (UserError, a 422 at the API): a model with no price (it could not be held to a
        budget), a bad ``tools`` or ``context`` option, and a model or server tool the provider
        does not run (external MCP servers run through our own code on every provider).
        Context edits a provider lacks are not refused: its turns fold history
        instead (core/context.py)."""
        lead_instructions = ""
        if team:
            # A team template (core/templates.py): its lead instructions and roster, and its
            # tools and budget unless the request gives its own. Recorded as the template.
            tpl = self.template(team)
            tools, limits = templates.resolved(
                tpl,
                tools=tools,
                budget=asdict(budget) if budget else None,
                mcp_url=os.environ.get("CLOUDSWARM_MCP_URL", LOCAL_MCP_URL),
            )
            # The template's budget passed templates.validate: positive numbers on Budget's axes.
            budget = Budget(**limits)  # type: ignore[arg-type]
            lead_instructions, template = templates.lead_instructions(tpl), team
        model = model or self.settings.default_model
        pricing.canonical_model(model)
        checked = server_tools.validate(tools)
        managed = context_settings.validate(context)
        providers.refuse_unsupported(
            self.settings.model_provider,
            models=[model],
            server_tools_used={k: v for k, v in checked.items() if k != "mcp"},
        )
        sid, created = self.store.create_swarm(
            goal=goal,
            model=model,
            budget=budget or Budget(),
            created_by=actor,
            request_id=request_id,
            template=template,
            tools=checked,
            context=managed,
            lead_instructions=lead_instructions,
        )
        # Ring even on a repeat: the doorbell is harmless, and the first delivery may have died
        # between the commit and the publish.
        self.bus.ring(sid, "lead")
        return sid, created

    def template(self, name: str) -> dict[str, Any]:
        """A team template: a shipped one, else one an admin created; NotFound otherwise."""
        found = shipped_templates().get(name) or self.store.get_template(name)
        if found is None:
            known = ", ".join(t["name"] for t in self.list_templates()) or "none"
            raise NotFound(f"no team template {name!r} (known: {known})", code="unknown_template")
        return dict(found)

    def list_templates(self) -> list[dict[str, Any]]:
        """The shipped templates, then the ones admins created, by name."""
        ours = shipped_templates()
        stored = [t for t in self.store.list_templates() if t.get("name") not in ours]
        out = [{**t, "source": "shipped"} for t in ours.values()]
        out += [{**t, "source": "admin"} for t in sorted(stored, key=lambda t: t["name"])]
        return out

    def put_template(self, doc: Any, *, actor: str) -> dict[str, Any]:
        """Create or replace an admin's template; a shipped template's name is taken."""
        checked = templates.validate(doc)
        if checked["name"] in shipped_templates():
            raise Conflict(
                f"template {checked['name']!r} ships with CloudSwarm; choose another name"
            )
        self.store.put_template(checked, actor)
        return {**checked, "source": "admin"}

    def set_kill_switch(self, *, engaged: bool, actor: str, reason: str) -> dict:
        doc = self.store.set_kill_switch(engaged=engaged, reason=reason, actor=actor)
        if not engaged:
            self.ring_pending()
        return doc

    def set_swarm_status(
        self, sid: str, status: SwarmStatus, *, actor: str, reason: str = ""
    ) -> dict:
        doc = self.store.set_swarm_status(sid, status, actor=actor, reason=reason)
        if status == SwarmStatus.RUNNING:
            self.ring_pending(sid)
        return doc

    def send_human_message(self, sid: str, aid: str, body: str, *, actor: str) -> str:
        # The API call's span rides with the message: the recipient's turn links to it.
        trace = telemetry.current_traceparent()
        mid = self.store.human_message(sid, aid, body, actor, trace)["message_id"]
        self.bus.ring(sid, aid)
        return str(mid)

    def interrupt_agent(self, sid: str, aid: str, body: str, *, actor: str) -> str:
        """An operator's message that stops the agent's running call; its next turn reads it
        first."""
        mid = self.store.interrupt_agent(sid, aid, body, actor)["message_id"]
        self.bus.ring(sid, aid)
        return str(mid)

    def pause_agent(self, sid: str, aid: str, *, actor: str, reason: str = "") -> dict:
        return self.store.pause_agent(sid, aid, actor, reason)

    def resume_agent(self, sid: str, aid: str, *, actor: str, reason: str = "") -> dict:
        """Resume a paused agent, and wake it if it has unread mail or a halted turn to finish."""
        doc = self.store.resume_agent(sid, aid, actor, reason)
        pending = doc.get("resume_pending") or self.store.unread(sid, aid, 1)
        if doc.get("status") == "idle" and pending:
            self.bus.ring(sid, aid)
        return doc

    def ring_pending(self, sid: str | None = None, limit: int = 1000) -> int:
        """Wake every agent with unread mail or an interrupted turn (after a release or resume)."""
        targets = self.store.pending_wakeups(sid, limit)
        for swarm_id, agent_id in sorted(targets):
            self.bus.ring(swarm_id, agent_id)
        return len(targets)

    def sweep_stale_leases(self, limit: int = 500) -> int:
        """The scheduled safety net behind the per-turn watchdog task: free leases whose turn
        died and ring their agents."""
        rang = 0
        for sid, aid, turn in self.store.stale_leases(limit):
            if self.store.expire_lease(sid, aid, turn):
                self.bus.ring(sid, aid)
                rang += 1
        return rang

    def drain_dead_letters(self) -> int:
        """Move dead-lettered messages into Firestore's dead_letters, where the UI shows them.

        Recorded before acknowledged: a crash in between records a message twice, never loses
        it."""
        from cloudswarm import names

        moved = 0
        for logical in names.resources()["subscriptions"]:
            if not logical.endswith("-dead-pull"):
                continue
            messages, ack = self.bus.drain(self.settings.prefix + "-" + logical)
            for data, attrs in messages:
                if attrs.get("recorded") == "true":
                    continue  # put there by our own handler, which recorded it already
                text = data.decode(errors="replace")[:4000]
                reason = attrs.get("reason") or "undeliverable: delivery attempts exhausted"
                source = logical.removesuffix("-dead-pull")
                self.store.record_dead_letter(source, reason, {"data": text, "attributes": attrs})
                moved += 1
            ack()
        return moved


def default() -> Operations:
    """The operations over this process's store and bus (built once per process by runtime)."""
    return Operations(runtime.store(), runtime.bus(), settings())


# The module's functions: the process's operations, for callers outside the API.


def start_swarm(goal: str, **kw: Any) -> tuple[str, bool]:
    return default().start_swarm(goal, **kw)


def set_kill_switch(**kw: Any) -> dict:
    return default().set_kill_switch(**kw)


def set_swarm_status(sid: str, status: SwarmStatus, **kw: Any) -> dict:
    return default().set_swarm_status(sid, status, **kw)


def send_human_message(sid: str, aid: str, body: str, **kw: Any) -> str:
    return default().send_human_message(sid, aid, body, **kw)


def interrupt_agent(sid: str, aid: str, body: str, **kw: Any) -> str:
    return default().interrupt_agent(sid, aid, body, **kw)


def pause_agent(sid: str, aid: str, **kw: Any) -> dict:
    return default().pause_agent(sid, aid, **kw)


def resume_agent(sid: str, aid: str, **kw: Any) -> dict:
    return default().resume_agent(sid, aid, **kw)


def ring_pending(sid: str | None = None, limit: int = 1000) -> int:
    return default().ring_pending(sid, limit)


def sweep_stale_leases(limit: int = 500) -> int:
    return default().sweep_stale_leases(limit)


def drain_dead_letters() -> int:
    return default().drain_dead_letters()
