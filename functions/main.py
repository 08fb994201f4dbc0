"""Cloud Functions entry points. Each stays short: parse, call the core or a service, log."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator

import flask
import functions_framework
from cloudevents.http import CloudEvent
from werkzeug.exceptions import HTTPException

from cloudswarm import runtime, service, telemetry
from cloudswarm.core import doorbell
from cloudswarm.core.tracing import valid_traceparent
from cloudswarm.core.turn import run_turn
from cloudswarm.errors import UserError
from cloudswarm.log import configure_logging, log_context

configure_logging()
log = logging.getLogger("cloudswarm.functions")


@contextlib.contextmanager
def _flushed() -> Iterator[None]:
    """Send the invocation's spans before it returns: between invocations a function's CPU may
    be throttled, and a batch left waiting would be late or lost."""
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            telemetry.flush()


@functions_framework.cloud_event
def agent_turn(event: CloudEvent) -> None:
    """One agent turn per doorbell. Bad doorbells are recorded and acknowledged, never retried."""
    try:
        sid, aid = doorbell.parse(event.data)
    except UserError as e:
        log.error("bad doorbell: %s", e)
        runtime.store().record_dead_letter("agent-doorbell", str(e), _safe(event.data))
        return
    with log_context(swarm_id=sid, agent_id=aid), _flushed():
        try:
            outcome = run_turn(runtime.deps(), sid, aid, doorbell.hop(event.data))
        except Exception:
            # The framework logs the traceback too, but outside this context: this record is
            # the one that says which agent failed.
            log.exception("turn failed; the doorbell will be redelivered")
            raise
        log.info("turn %s: %s", outcome.kind, outcome.detail, extra={"calls": outcome.calls})


@functions_framework.cloud_event
def swarm_trigger(event: CloudEvent) -> None:
    """Start a swarm from a ``swarm-requests`` message, exactly once per request id."""
    try:
        from cloudswarm.triggers import parse_swarm_request  # pydantic: not on agent_turn's path

        req = parse_swarm_request(event.data)
    except UserError as e:
        _refuse_swarm_request(event, e)
        return
    attrs = (event.data.get("message") or {}).get("attributes") or {}
    with (
        _flushed(),
        runtime.tracer().span(
            "swarm_trigger",
            {"cloudswarm.request.id": req.request_id},
            parent=valid_traceparent(attrs.get("traceparent")),
            kind="consumer",
        ),
    ):
        try:
            sid, created = service.start_swarm(
                req.goal,
                actor=f"pubsub:{req.requested_by}",
                model=req.model,
                budget=req.to_budget(),
                request_id=req.request_id,
                tools=req.tools,
                context=req.context,
                team=req.template,
            )
        except UserError as e:  # a model or tool the provider lacks: no retry can cure it
            _refuse_swarm_request(event, e)
            return
    log.info("swarm request %s -> %s (%s)", req.request_id, sid, "new" if created else "repeat")


def _refuse_swarm_request(event: CloudEvent, e: UserError) -> None:
    """A request that can never start a swarm: recorded and dead-lettered, then acked."""
    log.error("bad swarm request: %s", e)
    runtime.store().record_dead_letter("swarm-requests", str(e), _safe(event.data))
    runtime.bus().publish(
        runtime.settings().topic("swarm-requests-dead"),
        json.dumps(_safe(event.data)).encode(),
        {"reason": str(e)[:1000], "recorded": "true"},
    )


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
    """Cloud Tasks target: /retry and /watchdog re-ring an agent. Cloud Scheduler's: /sweep
    recovers stale leases, /schedule starts a scheduled swarm."""
    kind = request.path.strip("/")
    if kind == "schedule":
        return _fire_schedule(request)
    body = request.get_json(silent=True) or {}
    if kind == "sweep":
        # A new trace: the turns the sweep rings sit under it, never as roots of their own.
        with _flushed(), runtime.tracer().span("task_dispatch sweep", {}, kind="server"):
            rang = service.sweep_stale_leases()
            return {"rang": rang, "dead_letters": service.drain_dead_letters()}
    sid, aid = body.get("swarm_id"), body.get("agent_id")
    if kind not in ("retry", "watchdog") or not isinstance(sid, str) or not isinstance(aid, str):
        return {
            "error": "expected POST /retry, /watchdog or /sweep with swarm_id and agent_id,"
            " or /schedule with a schedule's body"
        }, 400
    turn_id = str(body.get("turn_id", ""))
    attrs = {
        "cloudswarm.swarm.id": sid,
        "cloudswarm.agent.id": aid,
        "cloudswarm.redelivery": kind,
        "cloudswarm.turn.retry_of": turn_id,
    }
    # The child of the span that scheduled the task (the turn that died or failed), and the
    # parent of the turn it rings: a retried turn sits under the attempt it retries.
    parent = valid_traceparent(body.get("traceparent"))
    with (
        log_context(swarm_id=sid, agent_id=aid),
        _flushed(),
        runtime.tracer().span(f"task_dispatch {kind}", attrs, parent=parent, kind="server") as span,
    ):
        try:
            answer = _redeliver(kind, sid, aid, turn_id)
            span.set({"cloudswarm.rang": answer["rang"]})
            return answer
        except Exception:
            log.exception("%s for %s failed; Cloud Tasks retries it", kind, aid)
            raise


def _fire_schedule(request: flask.Request):
    """One fire of a schedule: at most one swarm per schedule and due time, however often
    Cloud Scheduler retries it. A bad body is refused (4xx) and nothing is written."""
    from cloudswarm.core import pricing
    from cloudswarm.llm import providers
    from cloudswarm.triggers import SCHEDULE_TIME_HEADER, parse_schedule_fire

    try:
        fire, request_id = parse_schedule_fire(
            request.get_data(), request.headers.get(SCHEDULE_TIME_HEADER)
        )
        # The API's checks: an unpriced model could not be held to a budget, and what the
        # provider lacks is refused now rather than in the lead's first turn.
        model = fire.model or runtime.settings().default_model
        pricing.canonical_model(model)
        providers.refuse_unsupported(runtime.settings().model_provider, models=[model])
    except UserError as e:
        log.error("refused schedule fire: %s", e)
        return {"error": e.code, "message": str(e)}, 400
    with (
        _flushed(),
        runtime.tracer().span(
            "task_dispatch schedule", {"cloudswarm.request.id": request_id}, kind="server"
        ),
    ):
        sid, created = service.start_swarm(
            fire.goal,
            actor=f"schedule:{fire.schedule}",
            model=fire.model,
            budget=fire.to_budget(),
            request_id=request_id,
        )
    log.info("schedule fire %s -> %s (%s)", request_id, sid, "new" if created else "repeat")
    return {"swarm_id": sid, "request_id": request_id, "created": created}


def _redeliver(kind: str, sid: str, aid: str, turn_id: str) -> dict:
    # The watchdog takes back only a lease still held by that (dead) turn; a live one stays.
    if kind == "watchdog" and not runtime.store().expire_lease(sid, aid, turn_id):
        return {"rang": False}
    # A retry first frees a lease its own turn failed to give back (that turn has ended), so
    # the agent does not wait for the watchdog at lease expiry; it rings in every case.
    if kind == "retry" and turn_id:
        runtime.store().reclaim_lease(sid, aid, turn_id)
    runtime.bus().ring(sid, aid, redelivery={"redelivery": kind, "retry_of": turn_id})
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
