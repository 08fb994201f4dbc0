"""Reading a doorbell: the Pub/Sub push body (legacy, from the emulator) or Eventarc's CloudEvent
data (production) carry the same ``message.attributes``."""

from __future__ import annotations

import re

from cloudswarm.core.tracing import REDELIVERIES, Hop, valid_traceparent
from cloudswarm.errors import UserError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def parse(data: object) -> tuple[str, str]:
    """Return (swarm_id, agent_id) or raise UserError saying what is wrong."""
    message = data.get("message") if isinstance(data, dict) else None
    attrs = message.get("attributes") if isinstance(message, dict) else None
    if not isinstance(attrs, dict):
        raise UserError("doorbell has no message.attributes", code="bad_doorbell")
    return _id(attrs, "swarm_id"), _id(attrs, "agent_id")


def hop(data: object) -> Hop:
    """Where a (well-formed) doorbell came from: the ringing span and any redelivery. Malformed
    trace attributes are dropped, never fatal: the turn then starts a trace of its own."""
    message = data.get("message") if isinstance(data, dict) else None
    attrs = message.get("attributes") if isinstance(message, dict) else None
    if not isinstance(attrs, dict):
        return Hop()
    redelivery = attrs.get("redelivery")
    retry_of = attrs.get("retry_of")
    return Hop(
        traceparent=valid_traceparent(attrs.get("traceparent")),
        redelivery=redelivery if redelivery in REDELIVERIES else "",
        retry_of=retry_of if isinstance(retry_of, str) and _ID.match(retry_of) else "",
    )


def _id(attrs: dict[str, object], name: str) -> str:
    value = attrs.get(name)
    if not isinstance(value, str) or not _ID.match(value):
        raise UserError(
            f"doorbell attribute {name} is missing or malformed: {value!r}", code="bad_doorbell"
        )
    return value
