"""Signed webhooks: verify a delivery, refuse replays, turn the payload into a swarm goal.

Each named webhook is configured in the ``webhook-secrets`` secret, a JSON object::

    {"github-issues": {"secret": "...", "template": "Triage issue #{issue.number}: {issue.title}",
                       "model": "claude-sonnet-4-5", "budget": {"usd": 2},
                       "events": ["issues"], "require_timestamp": false}}

Signature: ``sha256=<hex>`` in ``X-CloudSwarm-Signature`` or GitHub's ``X-Hub-Signature-256``,
an HMAC-SHA256 with the webhook's secret of ``<timestamp>.<raw body>`` when the sender sends
``X-CloudSwarm-Timestamp`` (required unless the webhook sets ``require_timestamp: false``, for
senders such as GitHub that cannot sign one), else of the raw body. A delivery id
(``X-CloudSwarm-Delivery`` or ``X-GitHub-Delivery``) is required: a swarm is started at most
once per delivery id, and a signature seen before with another delivery id is a replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cloudswarm.api.errors import ApiError
from cloudswarm.api.schemas import BudgetIn
from cloudswarm.errors import ConfigError, UserError
from cloudswarm.gcp.secrets import find_secret
from cloudswarm.log import register_secret
from cloudswarm.triggers import checked_context, checked_tools

if TYPE_CHECKING:
    from cloudswarm.api.deps import Deliveries

DELIVERY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z0-9_.-]{1,200})\}")
MAX_FIELD_CHARS = 4000
MAX_GOAL_CHARS = 20000
UNTIMED_MARKER_DAYS = 30


class WebhookSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")
    secret: str = Field(min_length=16)
    template: str = Field(min_length=1, max_length=MAX_GOAL_CHARS)
    model: str | None = None
    budget: BudgetIn | None = None
    tools: dict | None = None  # server tools: core/server_tools.py
    context: dict | None = None  # context edits: core/context.py
    team: str | None = None  # a team template (core/templates.py) the swarm starts from

    _tools = field_validator("tools")(checked_tools)
    _context = field_validator("context")(checked_context)
    events: list[str] | None = None
    require_timestamp: bool = True
    tolerance_s: int | None = Field(default=None, ge=10, le=3600)


@dataclass(frozen=True)
class Delivery:
    name: str
    spec: WebhookSpec
    delivery_id: str
    signature: str
    timed: bool
    event: str | None


def unauthorized() -> ApiError:
    # One answer for an unknown webhook and every signature failure: nothing to probe.
    return ApiError(401, "unauthorized", "webhook signature verification failed")


@cache
def _parse(raw: str) -> dict[str, WebhookSpec]:
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        specs = {name: WebhookSpec.model_validate(v) for name, v in data.items()}
    except (ValueError, ValidationError) as e:
        # Never echo the value: it holds secrets.
        raise ConfigError(
            "the webhook-secrets secret must be a JSON object of name -> "
            '{"secret": "<at least 16 chars>", "template": "<goal text>", ...}: '
            f"{type(e).__name__} at {getattr(e, 'title', '') or 'top level'}"
        ) from None
    for spec in specs.values():
        register_secret(spec.secret)
    return specs


def specs() -> dict[str, WebhookSpec]:
    raw = find_secret("webhook-secrets")
    return _parse(raw) if raw else {}


def sign(secret: str, body: bytes, timestamp: int | str | None = None) -> str:
    """The signature header value a sender computes (used by tests and the docs' example)."""
    signed = body if timestamp is None else f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(name: str, headers, raw: bytes, default_tolerance_s: int, log) -> Delivery:
    """A verified delivery, or ApiError 401. The reason goes to the log, not to the caller."""
    spec = specs().get(name)
    if spec is None:
        log.warning("webhook %s: not configured", name)
        raise unauthorized()
    header = headers.get("X-CloudSwarm-Signature") or headers.get("X-Hub-Signature-256") or ""
    m = SIGNATURE.match(header.strip())
    if not m:
        log.warning("webhook %s: signature header missing or malformed", name)
        raise unauthorized()
    stamp = headers.get("X-CloudSwarm-Timestamp")
    if stamp is not None:
        if not re.fullmatch(r"\d{1,12}", stamp.strip()):
            log.warning("webhook %s: malformed timestamp", name)
            raise unauthorized()
        tolerance = spec.tolerance_s or default_tolerance_s
        if abs(time.time() - int(stamp)) > tolerance:
            log.warning("webhook %s: timestamp outside %s s", name, tolerance)
            raise unauthorized()
    elif spec.require_timestamp:
        log.warning("webhook %s: X-CloudSwarm-Timestamp required", name)
        raise unauthorized()
    expected = sign(spec.secret, raw, stamp.strip() if stamp is not None else None)
    if not hmac.compare_digest(expected.encode(), f"sha256={m[1].lower()}".encode()):
        log.warning("webhook %s: bad signature", name)
        raise unauthorized()
    delivery = headers.get("X-CloudSwarm-Delivery") or headers.get("X-GitHub-Delivery") or ""
    if not DELIVERY.match(delivery.strip()):
        raise ApiError(422, "validation_failed", "a delivery id header is required")
    return Delivery(
        name, spec, delivery.strip(), m[1].lower(), stamp is not None,
        headers.get("X-GitHub-Event"),
    )  # fmt: skip


def claim_signature(deliveries: Deliveries, d: Delivery, default_tolerance_s: int) -> None:
    """Refuse a signature already used by another delivery id: a captured request replayed
    with a fresh id. (The same delivery id again is left to the idempotent start.)"""
    if d.timed:
        keep = dt.timedelta(seconds=2 * (d.spec.tolerance_s or default_tolerance_s))
    else:
        keep = dt.timedelta(days=UNTIMED_MARKER_DAYS)
    if not deliveries.claim_signature(d.name, d.signature, d.delivery_id, keep):
        raise ApiError(409, "replayed", "this signed delivery was already received")


def _lookup(payload: Any, path: str):
    node = payload
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise UserError(f"the payload has no field {path}", code="missing_field")
    return node


def render(template: str, payload: Any) -> str:
    """The goal: ``{dotted.path}`` replaced by the payload's value (``{{``/``}}`` for braces).

    Only plain lookups, never attribute access or format specs: the payload is untrusted.
    """

    def value(m: re.Match) -> str:
        if m[0] in ("{{", "}}"):
            return m[0][0]
        v = _lookup(payload, m[1])
        text = "" if v is None else v if isinstance(v, str) else json.dumps(v)
        return text[:MAX_FIELD_CHARS]

    goal = FIELD.sub(value, template).strip()
    if not goal:
        raise UserError("the template renders to an empty goal", code="empty_goal")
    return goal[:MAX_GOAL_CHARS]
