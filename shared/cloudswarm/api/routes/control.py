"""The global kill switch. Engaging needs operator, releasing needs admin; both a reason."""

from __future__ import annotations

from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import KillChange, KillSwitch

AUDIT_SHOWN = 20


@route("GET", "/api/kill-switch", tag="kill-switch", response=KillSwitch)
def get_kill_switch(call: Call):
    """The switch's state, and for operators and admins its most recent changes."""
    store = call.services.store
    if not call.principal.allows("operator"):
        # Who changed it and why is for those who may change it (as in the UI).
        return {**store.get_kill_switch(), "audit": []}
    entries = store.kill_switch_audit(AUDIT_SHOWN)
    return {**store.get_kill_switch(), "audit": entries}


@route(
    "POST", "/api/kill-switch/engage", tag="kill-switch", role="operator", body=KillChange,
    response=KillSwitch,
)  # fmt: skip
def engage_kill_switch(call: Call):
    """Stop every model call in every swarm now. Nothing queued is lost."""
    return call.services.ops.set_kill_switch(
        engaged=True, actor=call.principal.actor, reason=call.body.reason.strip()
    )


@route(
    "POST", "/api/kill-switch/release", tag="kill-switch", role="admin", body=KillChange,
    response=KillSwitch,
)  # fmt: skip
def release_kill_switch(call: Call):
    """Release the switch; every agent with pending mail is woken."""
    return call.services.ops.set_kill_switch(
        engaged=False, actor=call.principal.actor, reason=call.body.reason.strip()
    )
