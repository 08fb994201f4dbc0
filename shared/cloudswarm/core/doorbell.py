"""Reading a doorbell: the Pub/Sub push body (legacy, from the emulator) or Eventarc's CloudEvent
data (production) carry the same ``message.attributes``."""

from __future__ import annotations

import re

from cloudswarm.errors import UserError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def parse(data: object) -> tuple[str, str]:
    """Return (swarm_id, agent_id) or raise UserError saying what is wrong."""
    message = data.get("message") if isinstance(data, dict) else None
    attrs = message.get("attributes") if isinstance(message, dict) else None
    if not isinstance(attrs, dict):
        raise UserError("doorbell has no message.attributes", code="bad_doorbell")
    sid, aid = attrs.get("swarm_id"), attrs.get("agent_id")
    for name, value in (("swarm_id", sid), ("agent_id", aid)):
        if not isinstance(value, str) or not _ID.match(value):
            raise UserError(
                f"doorbell attribute {name} is missing or malformed: {value!r}", code="bad_doorbell"
            )
    return sid, aid
