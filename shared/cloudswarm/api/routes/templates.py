"""Team templates: the shipped ones and those an admin created (core/templates.py)."""

from __future__ import annotations

from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import TemplateIn, TemplateList, TemplateOut


@route("GET", "/api/templates", tag="templates", response=TemplateList)
def list_templates(call: Call):
    """Every team template a swarm may name: the shipped ones, then the admins'."""
    return {"templates": call.services.ops.list_templates()}


@route(
    "POST", "/api/templates", tag="templates", role="admin", body=TemplateIn,
    response=TemplateOut, status=201, errors=(409,),
)  # fmt: skip
def put_template(call: Call):
    """Create or replace a team template; a shipped template's name is refused (409)."""
    doc = call.body.model_dump(exclude_none=True)
    return call.services.ops.put_template(doc, actor=call.principal.actor)
