"""The Messages API's error shapes and id formats, exactly as the real API sends them."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

# HTTP status for each error type, as the real API pairs them.
STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def new_id(prefix: str) -> str:
    """``msg_…``, ``toolu_…``, ``req_…``: random, so replayed requests still get fresh ids."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(24))


class ApiError(Exception):
    """An error answer: raised anywhere while handling a request, rendered by the server."""

    def __init__(self, error_type: str, message: str, status: int | None = None, headers=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status or STATUS[error_type]
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict:
        return error_body(self.error_type, self.message)


def error_body(error_type: str, message: str) -> dict:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def invalid(message: str) -> ApiError:
    return ApiError("invalid_request_error", message)


# Vertex AI answers its own refusals (credentials, quota) in Google's error envelope, not the
# Messages API's; what reaches the model itself is answered in the Messages API's shapes.
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
}


class GoogleError(ApiError):
    """An error in Google's envelope: ``{"error": {"code", "message", "status"}}``."""

    def __init__(self, status: int, message: str, headers=None):
        super().__init__(GOOGLE_STATUS[status], message, status, headers)

    def body(self) -> dict:
        return {"error": {"code": self.status, "message": self.message, "status": self.error_type}}


def as_vertex(e: ApiError, model: str) -> ApiError:
    """The error Vertex AI would send in place of ``e``: a rate limit is its quota refusal."""
    if e.error_type == "rate_limit_error":
        return GoogleError(
            429,
            "Quota exceeded for "
            "aiplatform.googleapis.com/online_prediction_requests_per_base_model "
            f"with base model: anthropic-{model.split('@')[0]}. "
            "Please submit a quota increase request.",
        )
    return e
