"""The ``api`` HTTP function: route, authenticate, validate, call the handler, answer.

Order matters for safety: the size limit is checked before anything is read, the token before
the body is parsed (an anonymous caller learns nothing about validation), the role before the
handler runs. Every answer, error or not, carries the same security headers.
"""

from __future__ import annotations

import json
import logging
import time

import flask
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from cloudswarm import telemetry
from cloudswarm.api import auth, deps, errors
from cloudswarm.api.config import ApiConfig, config
from cloudswarm.api.errors import ApiError
from cloudswarm.api.routes import ROUTE_TABLE
from cloudswarm.api.routing import Call, Route, build_map
from cloudswarm.core.tracing import NoTracer, valid_traceparent
from cloudswarm.log import log_context

log = logging.getLogger("cloudswarm.api")
URLS = build_map(ROUTE_TABLE)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-site",
}
__all__ = ["ROUTE_TABLE", "framework_error", "handle"]


def handle(request: flask.Request) -> flask.Response:
    """One request as a server span: the child of the caller's ``traceparent`` if it sent one,
    else the root of a new trace; the swarms it starts or steers ring their doorbells in it."""
    try:
        tracer = telemetry.tracer()
    except Exception:  # bad settings: the request is answered (with the error) all the same
        tracer = NoTracer()
    attrs = {"http.request.method": request.method, "url.path": request.path[:200]}
    parent = valid_traceparent(request.headers.get("traceparent"))
    with tracer.span(f"api {request.method}", attrs, parent=parent, kind="server") as span:
        response = _handle(request)
        span.set({"http.response.status_code": response.status_code})
    telemetry.flush()
    return response


def _handle(request: flask.Request) -> flask.Response:
    started = time.monotonic()
    trace = request.headers.get("traceparent") or request.headers.get("X-Cloud-Trace-Context")
    with log_context(trace=trace, http_method=request.method, path=request.path[:200]):
        call = Call(request, deps.services())
        try:
            cfg: ApiConfig | None = config()
        except Exception:  # reported below, when the request needs it
            cfg = None
        try:
            response = _dispatch(request, cfg or config(), call)
        except Exception as e:
            err = errors.from_exception(e)
            response = json_response(errors.body(err.code, err.message), err.status, err.headers)
        _decorate(request, response, cfg)
        log.info(
            "%s %s -> %s",
            request.method,
            request.path[:200],
            response.status_code,
            extra={
                "status": response.status_code,
                "ms": round((time.monotonic() - started) * 1000, 1),
                "key_id": getattr(call.principal, "key_id", None),
            },
        )
        return response


def framework_error(e: HTTPException) -> flask.Response:
    """The answer for a request the framework refuses before ``handle`` sees it (its router
    takes no control characters in a path): the same error format and headers as the rest."""
    request = flask.request
    code = {404: "not_found", 405: "method_not_allowed"}.get(e.code or 500, "bad_request")
    response = json_response(errors.body(code, e.description or "refused"), e.code or 400)
    try:
        cfg: ApiConfig | None = config()
    except Exception:
        cfg = None
    _decorate(request, response, cfg)
    return response


def _dispatch(request: flask.Request, cfg: ApiConfig, call: Call) -> flask.Response:
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        return _preflight(request, cfg)
    route, params = _match(request)
    limit = cfg.webhook_max_body_bytes if route.auth == "webhook" else cfg.max_body_bytes
    if (request.content_length or 0) > limit:
        raise ApiError(413, "too_large", f"the body exceeds {limit} bytes")
    call.limit = limit
    if route.auth == "bearer":
        call.principal = auth.authenticate(request, cfg, call.services)
        auth.require(call.principal, route.role)
    call.query = _query(route, request)
    call.body = _body(route, call)
    result = route.handler(call, **params)
    if isinstance(result, flask.Response):
        return result
    status = route.status
    if isinstance(result, tuple):
        result, status = result
    if route.response is not None:
        result = route.response.model_validate(result)
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json", by_alias=True)
    return json_response(result, status)


def _match(request: flask.Request) -> tuple[Route, dict]:
    adapter = URLS.bind("api", url_scheme="http")
    try:
        index, params = adapter.match(request.path, request.method)
    except MethodNotAllowed as e:
        allowed = ", ".join(sorted(e.valid_methods or []))
        raise ApiError(
            405, "method_not_allowed", f"use {allowed} on this path", {"Allow": allowed}
        ) from None
    except (NotFound, RequestRedirect):
        raise ApiError(404, "not_found", "no such route") from None
    return ROUTE_TABLE[index], params


def _problems(e: ValidationError) -> str:
    parts = []
    for err in e.errors(include_url=False, include_input=False)[:10]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _query(route: Route, request: flask.Request):
    args = request.args
    if route.query is None:
        if args:
            raise ApiError(400, "bad_request", "this route takes no query parameters")
        return None
    repeated = sorted(k for k in args if len(args.getlist(k)) > 1)
    if repeated:
        raise ApiError(400, "bad_request", f"repeated query parameter: {', '.join(repeated)}")
    try:
        return route.query.model_validate(args.to_dict())
    except ValidationError as e:
        raise ApiError(422, "validation_failed", _problems(e)) from None


def _body(route: Route, call: Call):
    if route.body is None:
        return None
    request, raw = call.request, call.raw()
    if not raw.strip():
        if route.body_required:
            raise ApiError(422, "validation_failed", "a JSON body is required")
        return route.body()
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    try:
        return route.body.model_validate_json(raw)
    except ValidationError as e:
        if any(err["type"] == "json_invalid" for err in e.errors()):
            raise ApiError(400, "bad_request", "the body is not valid JSON") from None
        raise ApiError(422, "validation_failed", _problems(e)) from None


def json_response(payload, status: int = 200, headers: dict | None = None) -> flask.Response:
    return flask.Response(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        status=status,
        headers=headers or {},
        mimetype="application/json",
    )


def _cors_origin(request: flask.Request, cfg: ApiConfig | None) -> str | None:
    origin = request.headers.get("Origin", "")
    if cfg and origin in cfg.cors_origins and request.path.startswith("/api/"):
        return origin
    return None


def _preflight(request: flask.Request, cfg: ApiConfig) -> flask.Response:
    if _cors_origin(request, cfg) is None:
        raise ApiError(403, "forbidden", "this origin may not call the API")
    methods = URLS.bind("api").allowed_methods(request.path)
    if not methods:
        raise ApiError(404, "not_found", "no such route")
    return flask.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": ", ".join(sorted(methods)),
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


def _decorate(request: flask.Request, response: flask.Response, cfg: ApiConfig | None) -> None:
    for k, v in SECURITY_HEADERS.items():
        response.headers.setdefault(k, v)
    if cfg is not None and not cfg.emulator:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    origin = _cors_origin(request, cfg)
    if origin:
        # Bearer tokens, never cookies: no Allow-Credentials, so no ambient authority.
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    response.headers.add("Vary", "Origin")
