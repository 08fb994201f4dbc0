"""POST /webhooks/{name}: a signed delivery from another system starts a swarm."""

from __future__ import annotations

import json
import logging

from cloudswarm.api import webhooks
from cloudswarm.api.config import config
from cloudswarm.api.errors import ApiError, rate_limited
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import WebhookAccepted
from cloudswarm.core.models import Budget

log = logging.getLogger("cloudswarm.api.webhooks")


@route(
    "POST", "/webhooks/{name}", tag="webhooks", role=None, auth="webhook",
    response=WebhookAccepted, status=202, also=(200,), errors=(401, 409, 429),
)  # fmt: skip
def receive_webhook(call: Call, name: str):
    """Start a swarm from a signed delivery (HMAC-SHA256; see docs/api.md, 'Webhooks').

    202 with the swarm id when one was started; 200 with status "ignored" for a GitHub ping or
    an event the webhook does not take; 409 for a replayed delivery.
    """
    cfg, request, raw = config(), call.request, call.raw()
    d = webhooks.verify(name, request.headers, raw, cfg.webhook_tolerance_s, log)
    webhooks.claim_signature(call.services.deliveries, d, cfg.webhook_tolerance_s)
    allowed, retry = call.services.limiter.hit(f"webhook:{name}", cfg.webhook_rate_per_min)
    if not allowed:
        raise rate_limited(retry)
    if d.event == "ping" or (d.spec.events is not None and d.event not in d.spec.events):
        return {"delivery": d.delivery_id, "status": "ignored"}, 200
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise ApiError(400, "bad_request", "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(422, "validation_failed", "the body must be a JSON object")
    goal = webhooks.render(d.spec.template, payload)
    # The model, tools and context are checked by start_swarm, as for every way a swarm starts.
    sid, created = call.services.ops.start_swarm(
        goal,
        actor=f"webhook:{name}",
        model=d.spec.model,
        budget=Budget(**d.spec.budget.model_dump()) if d.spec.budget else None,
        request_id=f"webhook:{name}:{d.delivery_id}",
        template=f"webhook:{name}",
        tools=d.spec.tools,
        context=d.spec.context,
        team=d.spec.team,
    )
    if not created:
        raise ApiError(409, "replayed", f"delivery {d.delivery_id} was already processed")
    log.info("webhook %s delivery %s started %s", name, d.delivery_id, sid)
    return {"swarm_id": sid, "delivery": d.delivery_id, "status": "started"}
