"""How model errors from either provider map onto the transient/permanent tree.

Exceptions are built as the SDK builds them from a response (the integration tests get the same
ones from the local model server); here the shapes the server does not produce are covered.
"""

from __future__ import annotations

import anthropic
import httpx2
import pytest
from google.auth import exceptions as auth_exc

from cloudswarm.errors import PermanentError, TransientError
from cloudswarm.llm.claude import _translate


def _status_error(cls, status: int, body: dict):
    request = httpx2.Request("POST", "https://aiplatform.googleapis.com/v1/x:streamRawPredict")
    response = httpx2.Response(status, request=request, json=body)
    return cls("refused", response=response, body=body)


def _google(status: int, code: str) -> dict:
    return {"error": {"code": status, "message": "m", "status": code}}


@pytest.mark.parametrize(
    ("cls", "status", "body"),
    [
        (anthropic.RateLimitError, 429, _google(429, "RESOURCE_EXHAUSTED")),
        (anthropic.InternalServerError, 503, _google(503, "UNAVAILABLE")),
        # A Google status that means "later" is transient whatever the HTTP code says.
        (anthropic.BadRequestError, 400, _google(400, "RESOURCE_EXHAUSTED")),
        (anthropic.APIStatusError, 529, {"type": "error", "error": {"type": "overloaded_error"}}),
    ],
)
def test_transient(cls, status, body):
    assert isinstance(_translate(_status_error(cls, status, body)), TransientError)


def test_a_permission_refusal_on_vertex_says_which_role_is_missing():
    e = _translate(
        _status_error(anthropic.PermissionDeniedError, 403, _google(403, "PERMISSION_DENIED"))
    )
    assert isinstance(e, PermanentError) and "roles/aiplatform.user" in str(e)


def test_a_bad_request_is_permanent_without_a_hint():
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "x"}}
    e = _translate(_status_error(anthropic.BadRequestError, 400, body))
    assert isinstance(e, PermanentError) and "roles/" not in str(e)


def test_google_credential_errors():
    assert isinstance(_translate(auth_exc.DefaultCredentialsError("none")), PermanentError)
    assert isinstance(_translate(auth_exc.TransportError("metadata down")), TransientError)
    retryable = auth_exc.RefreshError("later", retryable=True)
    assert isinstance(_translate(retryable), TransientError)
    assert isinstance(_translate(auth_exc.RefreshError("revoked")), PermanentError)
