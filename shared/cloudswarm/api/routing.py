"""The route table: one declaration per operation, read by the dispatcher and by the OpenAPI
builder alike, so the document describes exactly what is served."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import flask
from pydantic import BaseModel
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter, Map, Rule

from cloudswarm.api.errors import ApiError

if TYPE_CHECKING:
    from cloudswarm.api.deps import Services

# Firestore document ids are safe path segments only in this shape: no '/', no '.' or '..',
# no reserved '__x__' names.
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}"
WEBHOOK_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
ROLES = ("viewer", "operator", "admin")


class IdConverter(BaseConverter):
    regex = ID_PATTERN


class WebhookNameConverter(BaseConverter):
    regex = WEBHOOK_PATTERN


CONVERTERS = {"id": IdConverter, "hook": WebhookNameConverter}
PARAM_KIND = {"name": "hook"}  # path parameter name -> converter; every other one is an id


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI style: /api/swarms/{sid}
    handler: Callable[..., Any]
    tag: str
    role: str | None  # least role allowed; None: no bearer token needed
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    stream: str | None = None  # media type of a streamed answer
    media: tuple[str, ...] = ()  # media types of an answer in bytes (not JSON)
    auth: str = "bearer"  # bearer | none | webhook
    also: tuple[int, ...] = ()  # other success statuses (e.g. 200 beside 202)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def summary(self) -> str:
        return (inspect.getdoc(self.handler) or self.operation_id).splitlines()[0]

    @property
    def description(self) -> str:
        return inspect.getdoc(self.handler) or ""

    @property
    def path_params(self) -> list[str]:
        return [p.strip("{}") for p in self.path.split("/") if p.startswith("{")]

    def werkzeug_path(self) -> str:
        return "/".join(
            f"<{PARAM_KIND.get(p.strip('{}'), 'id')}:{p.strip('{}')}>" if p.startswith("{") else p
            for p in self.path.split("/")
        )


ROUTES: list[Route] = []


def route(method: str, path: str, *, tag: str, role: str | None = "viewer", **kw):
    """Register the decorated function as the handler of ``method path``."""
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role}")

    def deco(fn):
        ROUTES.append(Route(method=method, path=path, handler=fn, tag=tag, role=role, **kw))
        return fn

    return deco


@dataclass
class Call:
    """What a handler gets: the request, the services it may use, who is calling, and the
    validated inputs."""

    request: flask.Request
    services: Services
    principal: Any = None
    body: Any = None
    query: Any = None
    limit: int = 0  # body size limit in bytes

    def raw(self) -> bytes:
        """The raw body, refused past ``limit`` however it is sent.

        A chunked body declares no length, and the WSGI server may cut it at the stream limit
        without saying so: the stream allows one byte more than the limit, so an oversize body
        is always seen as such.
        """
        self.request.max_content_length = self.limit + 1
        try:
            data = self.request.get_data(cache=True)
        except RequestEntityTooLarge:
            data = None
        if data is None or len(data) > self.limit:
            raise ApiError(413, "too_large", f"the body exceeds {self.limit} bytes")
        return data


def build_map(routes: list[Route]) -> Map:
    return Map(
        [Rule(r.werkzeug_path(), endpoint=i, methods=[r.method]) for i, r in enumerate(routes)],
        converters=CONVERTERS,
        merge_slashes=False,
    )
