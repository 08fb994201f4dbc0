"""Cloud Functions entry points. Each stays short: parse, call the core or a service, log."""

from __future__ import annotations

import json
import logging

import flask
import functions_framework
from cloudevents.http import CloudEvent
from werkzeug.exceptions import HTTPException

from cloudswarm import runtime, service
from cloudswarm.core import doorbell
from cloudswarm.core.turn import run_turn
from cloudswarm.errors import UserError
from cloudswarm.log import configure_logging, log_context

configure_logging()
log = logging.getLogger("cloudswarm.functions")


@functions_framework.cloud_event
def agent_turn(event: CloudEvent) -> None:
    """One agent turn per doorbell. Bad doorbells are recorded and acknowledged, never retried."""
    try:
        sid, aid = doorbell.parse(event.data)
    except UserError as e:
        log.error("bad doorbell: %s", e)
        runtime.store().record_dead_letter("agent-doorbell", str(e), _safe(event.data))
        return
    with log_context(swarm_id=sid, agent_id=aid):
        outcome = run_turn(runtime.deps(), sid, aid)
        log.info("turn %s: %s", outcome.kind, outcome.detail, extra={"calls": outcome.calls})


@functions_framework.cloud_event
def swarm_trigger(event: CloudEvent) -> None:
    """Start a swarm from a ``swarm-requests`` message, exactly once per request id."""
    try:
        from cloudswarm.triggers import parse_swarm_request  # pydantic: not on agent_turn's path

        req = parse_swarm_request(event.data)
    except UserError as e:
        log.error("bad swarm request: %s", e)
        runtime.store().record_dead_letter("swarm-requests", str(e), _safe(event.data))
        runtime.bus().publish(
            runtime.settings().topic("swarm-requests-dead"),
            json.dumps(_safe(event.data)).encode(),
            {"reason": str(e)[:1000], "recorded": "true"},
        )
        return
    sid, created = service.start_swarm(
        req.goal,
        actor=f"pubsub:{req.requested_by}",
        model=req.model,
        budget=req.to_budget(),
        request_id=req.request_id,
    )
    log.info("swarm request %s -> %s (%s)", req.request_id, sid, "new" if created else "repeat")


@functions_framework.cloud_event
def budget_guard(event: CloudEvent) -> None:
    """Engage the kill switch when the billing budget crosses the configured threshold."""
    try:
        from cloudswarm.triggers import parse_budget_alert

        alert = parse_budget_alert(event.data)
    except UserError as e:
        log.error("bad budget alert: %s", e)
        runtime.store().record_dead_letter("budget-alerts", str(e), _safe(event.data))
        return
    threshold = runtime.settings().budget_kill_threshold
    if not alert.over(threshold):
        return
    if runtime.store().get_kill_switch().get("engaged"):
        return  # already stopped: a repeated alert changes nothing
    reason = (
        f"billing budget {alert.budgetDisplayName!r}: {alert.costAmount:.2f} of "
        f"{alert.budgetAmount:.2f} {alert.currencyCode} (threshold {threshold:.0%})"
    )
    service.set_kill_switch(engaged=True, actor="budget", reason=reason)
    log.warning("kill switch engaged: %s", reason)


@functions_framework.http
def task_dispatch(request: flask.Request):
    """Cloud Tasks target: /retry and /watchdog re-ring an agent; /sweep recovers stale leases."""
    kind = request.path.strip("/")
    body = request.get_json(silent=True) or {}
    if kind == "sweep":
        return {"rang": service.sweep_stale_leases(), "dead_letters": service.drain_dead_letters()}
    sid, aid = body.get("swarm_id"), body.get("agent_id")
    if kind not in ("retry", "watchdog") or not isinstance(sid, str) or not isinstance(aid, str):
        return {
            "error": "expected POST /retry, /watchdog or /sweep with swarm_id and agent_id"
        }, 400
    # The watchdog takes back only a lease still held by that (dead) turn; a live one stays.
    turn_id = str(body.get("turn_id", ""))
    if kind == "watchdog" and not runtime.store().expire_lease(sid, aid, turn_id):
        return {"rang": False}
    runtime.bus().ring(sid, aid)
    return {"rang": True}


@functions_framework.http
def api(request: flask.Request):
    from cloudswarm.api.app import handle

    return handle(request)


@functions_framework.errorhandler(HTTPException)
def framework_error(e: HTTPException):
    """A request the framework's router refuses (a control character in the path) gets the API's
    JSON error format, never the framework's HTML page."""
    from cloudswarm.api.app import framework_error

    return framework_error(e)


def _safe(data) -> dict:
    """A JSON-safe copy of an event payload for the dead-letter record."""
    try:
        return json.loads(json.dumps(data, default=str))
    except (TypeError, ValueError):
        return {"unparseable": repr(data)[:2000]}
