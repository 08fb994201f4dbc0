"""Claude through the Anthropic SDK: one streamed Messages call that a watcher can abort.

Two providers, one call: Anthropic's API (``anthropic.Anthropic``, an API key) or Claude on
Vertex AI (``anthropic.AnthropicVertex``, the runtime service account's credentials, no key).
The SDK honours ANTHROPIC_BASE_URL, and the Vertex client takes a base URL, so the same code
talks to the local model server in tests and the demo. Errors leave this module as the
project's exception tree, whichever provider raised them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anthropic
from google.auth import exceptions as auth_exc

from cloudswarm.core import context
from cloudswarm.core.shapes import Block, JSONObject, Request
from cloudswarm.errors import Halted, PermanentError, TransientError, UserError
from cloudswarm.llm import providers

# The local model server checks that a bearer token is present, not what it says.
EMULATOR_TOKEN = "local-model-server"


@dataclass(frozen=True)
class ModelResponse:
    id: str
    model: str
    content: list[Block]
    stop_reason: str | None
    usage: dict[str, int]  # input/output/cache tokens, and the server tools' searches and fetches
    container: dict[str, str] | None = None  # its code-execution container: {id, expires_at}
    context_management: JSONObject | None = None  # {applied_edits: [...]} when edits were sent


def _usage(u) -> dict:
    """The call's usage. A compaction's own tokens come apart from the top-level fields (as a
    ``compaction`` entry of ``iterations``) but are billed like any: they are added in here."""
    server = getattr(u, "server_tool_use", None)
    out = {
        "input_tokens": u.input_tokens or 0,
        "output_tokens": u.output_tokens or 0,
        "cache_read_tokens": getattr(u, "cache_read_input_tokens", None) or 0,
        "cache_write_tokens": getattr(u, "cache_creation_input_tokens", None) or 0,
        "web_search_requests": getattr(server, "web_search_requests", None) or 0,
        "web_fetch_requests": getattr(server, "web_fetch_requests", None) or 0,
    }
    for it in getattr(u, "iterations", None) or []:
        if getattr(it, "type", None) == "compaction":
            out["input_tokens"] += it.input_tokens or 0
            out["output_tokens"] += it.output_tokens or 0
            out["cache_read_tokens"] += it.cache_read_input_tokens or 0
            out["cache_write_tokens"] += it.cache_creation_input_tokens or 0
    return out


def _retry_after(e: anthropic.APIStatusError) -> float | None:
    raw = e.response.headers.get("retry-after") if e.response is not None else None
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


class Claude:
    def __init__(
        self,
        api_key: str | None = None,
        *,
        timeout_s: float,
        max_retries: int,
        client: anthropic.Anthropic | anthropic.AnthropicVertex | None = None,
        provider: str = "anthropic",
        deadline_s: float | None = None,
    ):
        # The SDK's own retries are few and short: anything longer is a Cloud Task retry, so a
        # turn never sits out a long backoff inside the function's time limit.
        self.client = client or anthropic.Anthropic(
            api_key=api_key, timeout=timeout_s, max_retries=max_retries
        )
        self.provider = provider
        # The SDK's timeout bounds each read, not the call: a stream that sends an event now
        # and then never times out. The whole call, retries included, gets this long
        # (Settings.model_call_deadline_s, which the settings keep inside the lease's fence).
        self.deadline_s = timeout_s * (max_retries + 1) if deadline_s is None else deadline_s

    @classmethod
    def on_vertex(
        cls,
        *,
        project: str,
        region: str,
        timeout_s: float,
        max_retries: int,
        base_url: str = "",
        emulated: bool = False,
        deadline_s: float | None = None,
    ) -> Claude:
        """Claude on Vertex AI. In a deployment the SDK asks Application Default Credentials
        (the function's service account) for a token; the local model server gets a placeholder
        bearer token, as there are no Google credentials on a developer's machine."""
        client = anthropic.AnthropicVertex(
            project_id=project,
            region=region,
            base_url=base_url or None,
            access_token=EMULATOR_TOKEN if emulated else None,
            timeout=timeout_s,
            max_retries=max_retries,
        )
        return cls(
            timeout_s=timeout_s,
            max_retries=max_retries,
            client=client,
            provider="vertex",
            deadline_s=deadline_s,
        )

    def call(
        self, request: Request, should_abort: Callable[[], bool], poll_s: float = 0.2
    ) -> ModelResponse:
        """Stream one call; close it within ``poll_s`` once ``should_abort()`` turns true, or
        once the call has run ``deadline_s`` (then a TransientError: the turn is retried)."""
        deadline = time.monotonic() + self.deadline_s
        done = threading.Event()
        aborted = threading.Event()
        expired = threading.Event()
        # The provider's own model id (Vertex AI: claude-sonnet-4-5@20250929). A swarm's model
        # was checked at its start; one a lead asked for when spawning may not be served, and
        # then the agent fails with the reason (no retry can help).
        try:
            model = providers.model_id(self.provider, request["model"])
        except UserError as e:
            raise PermanentError(str(e)) from e
        # Context edits are a beta: sent through the SDK's beta client with the headers they need.
        betas = context.betas(request)
        params: dict[str, Any] = {**request, "model": model}
        if betas:
            params["betas"] = betas
        messages: Any = self.client.beta.messages if betas else self.client.messages
        try:
            with messages.stream(**params) as stream:

                def watch():
                    while not done.wait(min(poll_s, max(0.0, deadline - time.monotonic()))):
                        if time.monotonic() >= deadline:
                            expired.set()
                            _hang_up(stream)
                            return
                        try:
                            stop = should_abort()
                        except Exception:  # a failed check must not kill the stream
                            continue
                        if stop:
                            aborted.set()
                            _hang_up(stream)
                            return

                watcher = threading.Thread(target=watch, name="abort-watch", daemon=True)
                watcher.start()
                try:
                    for _ in stream:
                        if aborted.is_set() or expired.is_set():
                            break
                    if aborted.is_set():
                        raise Halted("model stream closed: halted while streaming")
                    if expired.is_set():
                        raise self._past_deadline()
                    final = stream.get_final_message()
                finally:
                    done.set()
        except (Halted, TransientError):
            raise
        except Exception as e:
            if aborted.is_set():
                raise Halted("model stream closed: halted while streaming") from e
            if expired.is_set():
                raise self._past_deadline() from e
            raise _translate(e) from e
        return ModelResponse(
            id=final.id,
            model=final.model,
            # Only the fields the API sent (to_dict leaves out unset ones and keeps explicit
            # nulls): server tool blocks and citations go back exactly as they came.
            content=[b.to_dict(mode="json") for b in final.content],
            stop_reason=final.stop_reason,
            usage=_usage(final.usage),
            container=final.container.to_dict(mode="json") if final.container else None,
            context_management=_context(final),
        )

    def _past_deadline(self) -> TransientError:
        return TransientError(
            f"model call closed at its {self.deadline_s:g} s deadline (the stream was still "
            "going): CLOUDSWARM_MODEL_TIMEOUT_S x (CLOUDSWARM_MODEL_MAX_RETRIES + 1) bounds a call"
        )


def _context(final) -> dict | None:
    cm = getattr(final, "context_management", None)
    return cm.to_dict(mode="json") if cm is not None else None


def _hang_up(stream) -> None:
    """Close a stream from the watcher's thread, at once. Closing the response alone takes
    effect only when the reading thread's next read returns: while the model is silent (a stall,
    a long think) that thread holds the socket and the server sees nothing for as long. Shutting
    the socket down first ends that read now, and the server sees the hang-up."""
    with contextlib.suppress(Exception):  # no socket to shut (a test double): closing will do
        network = stream.response.extensions["network_stream"]
        network.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
    stream.close()


# Error types the API also sends as an SSE ``error`` event after a stream has started: the HTTP
# status is then 200, and only the body says it is an overload, not a bad request. Vertex AI's
# own errors (quota, permission) come in Google's envelope instead, {"error": {"code": 429,
# "status": "RESOURCE_EXHAUSTED", "message": ...}}: their ``status`` says the same.
_TRANSIENT_TYPES = frozenset(
    {
        "overloaded_error",
        "rate_limit_error",
        "api_error",
        "timeout_error",
        "RESOURCE_EXHAUSTED",
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
        "INTERNAL",
        "ABORTED",
    }
)
_HINTS = {
    # Vertex AI refuses a service account without the role (Terraform grants it for vertex).
    "PERMISSION_DENIED": " (the runtime service account needs roles/aiplatform.user, and the "
    "Claude model must be enabled in the project's Model Garden)",
}


def _error_type(e: anthropic.APIStatusError) -> str | None:
    body = e.body if isinstance(e.body, dict) else {}
    err = body.get("error")
    if not isinstance(err, dict):
        return None
    return err.get("type") or err.get("status")


def _translate(e: Exception) -> Exception:
    if isinstance(e, anthropic.APIStatusError):
        code, kind = e.status_code, _error_type(e)
        if code in (408, 429, 529) or code >= 500 or kind in _TRANSIENT_TYPES:
            return TransientError(f"model API {code}: {e.message}", retry_after=_retry_after(e))
        return PermanentError(f"model API {code}: {e.message}{_HINTS.get(kind or '', '')}")
    if isinstance(e, auth_exc.DefaultCredentialsError):
        return PermanentError(
            f"no Google credentials for Vertex AI: {e} (a deployed function uses its service "
            "account; locally set ANTHROPIC_VERTEX_BASE_URL to the local model server)"
        )
    if isinstance(e, auth_exc.RefreshError):
        # The metadata server may be briefly unreachable; a revoked account will not recover.
        if getattr(e, "retryable", False):
            return TransientError(f"Google credentials could not be refreshed: {e}")
        return PermanentError(f"Google credentials were refused: {e}")
    if isinstance(e, auth_exc.TransportError):
        return TransientError(f"Google credentials unreachable: {e}")
    if isinstance(e, anthropic.APIConnectionError | anthropic.APITimeoutError):
        return TransientError(f"model API unreachable: {e}")
    if type(e).__module__.split(".")[0].startswith(("httpx", "httpcore")) or isinstance(e, OSError):
        # A connection dropped mid-stream surfaces as the HTTP library's own error, not the SDK's.
        return TransientError(f"model stream broke: {type(e).__name__}: {e}")
    return e
