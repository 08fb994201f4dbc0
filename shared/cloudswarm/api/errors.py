"""One error format for every answer: ``{"error": {"code": "...", "message": "..."}}``.

Project errors are translated here and nowhere else. Server-side faults answer with a generic
message: their detail (which may name internal resources) goes to the log only.
"""

from __future__ import annotations

import logging
import math

from cloudswarm.errors import (
    CloudSwarmError,
    Conflict,
    Forbidden,
    Halted,
    NotFound,
    TransientError,
    UserError,
)

log = logging.getLogger("cloudswarm.api")


class ApiError(Exception):
    """An answer other than success, decided by the API layer itself."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def unauthorized(message: str = "authentication required") -> ApiError:
    # RFC 6750: tell the client which scheme, and that the token (if any) is not good.
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="cloudswarm"'})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def rate_limited(retry_after: float) -> ApiError:
    seconds = max(1, math.ceil(retry_after))
    return ApiError(
        429,
        "rate_limited",
        f"too many requests for this key; retry in {seconds} s",
        {"Retry-After": str(seconds)},
    )


def from_exception(e: Exception) -> ApiError:
    """The answer for an exception a handler let through."""
    if isinstance(e, ApiError):
        return e
    if isinstance(e, Forbidden):
        return ApiError(403, e.code, str(e))
    if isinstance(e, NotFound):
        return ApiError(404, e.code, str(e))
    if isinstance(e, Conflict):
        return ApiError(409, e.code, str(e))
    if isinstance(e, UserError):
        return ApiError(400 if e.code in ("invalid", "bad_request") else 422, e.code, str(e))
    if isinstance(e, Halted):
        return ApiError(409, "halted", str(e))
    if isinstance(e, TransientError):
        log.warning("transient failure: %s", e)
        retry = str(max(1, math.ceil(e.retry_after or 1)))
        return ApiError(
            503, "unavailable", "a backing service is busy; retry shortly", {"Retry-After": retry}
        )
    if isinstance(e, CloudSwarmError):
        log.error("request failed: %s: %s", type(e).__name__, e)
    else:
        log.exception("unexpected error")
    return ApiError(500, "internal", "internal error; see the server log")


def body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}
