"""Claude through the Anthropic SDK: one streamed Messages call that a watcher can abort.

The SDK honours ANTHROPIC_BASE_URL, so the same code talks to the local model server in tests
and the demo. Errors leave this module as the project's exception tree.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import anthropic

from cloudswarm.errors import Halted, PermanentError, TransientError


@dataclass(frozen=True)
class ModelResponse:
    id: str
    model: str
    content: list[dict]
    stop_reason: str | None
    usage: dict  # input_tokens, output_tokens, cache_read_tokens, cache_write_tokens


def _usage(u) -> dict:
    return {
        "input_tokens": u.input_tokens or 0,
        "output_tokens": u.output_tokens or 0,
        "cache_read_tokens": getattr(u, "cache_read_input_tokens", None) or 0,
        "cache_write_tokens": getattr(u, "cache_creation_input_tokens", None) or 0,
    }


def _retry_after(e: anthropic.APIStatusError) -> float | None:
    raw = e.response.headers.get("retry-after") if e.response is not None else None
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


class Claude:
    def __init__(self, api_key: str, *, timeout_s: float, max_retries: int):
        # The SDK's own retries are few and short: anything longer is a Cloud Task retry, so a
        # turn never sits out a long backoff inside the function's time limit.
        self.client = anthropic.Anthropic(
            api_key=api_key, timeout=timeout_s, max_retries=max_retries
        )

    def call(
        self, request: dict, should_abort: Callable[[], bool], poll_s: float = 0.2
    ) -> ModelResponse:
        """Stream one call; close it within ``poll_s`` once ``should_abort()`` turns true."""
        done = threading.Event()
        aborted = threading.Event()
        try:
            with self.client.messages.stream(**request) as stream:

                def watch():
                    while not done.wait(poll_s):
                        try:
                            stop = should_abort()
                        except Exception:  # a failed check must not kill the stream
                            continue
                        if stop:
                            aborted.set()
                            stream.close()
                            return

                watcher = threading.Thread(target=watch, name="abort-watch", daemon=True)
                watcher.start()
                try:
                    for _ in stream:
                        if aborted.is_set():
                            break
                    if aborted.is_set():
                        raise Halted("model stream closed: halted while streaming")
                    final = stream.get_final_message()
                finally:
                    done.set()
        except Halted:
            raise
        except Exception as e:
            if aborted.is_set():
                raise Halted("model stream closed: halted while streaming") from e
            raise _translate(e) from e
        return ModelResponse(
            id=final.id,
            model=final.model,
            content=[b.model_dump(exclude_none=True) for b in final.content],
            stop_reason=final.stop_reason,
            usage=_usage(final.usage),
        )


# Error types the API also sends as an SSE ``error`` event after a stream has started: the HTTP
# status is then 200, and only the body says it is an overload, not a bad request.
_TRANSIENT_TYPES = frozenset({"overloaded_error", "rate_limit_error", "api_error", "timeout_error"})


def _error_type(e: anthropic.APIStatusError) -> str | None:
    body = e.body if isinstance(e.body, dict) else {}
    err = body.get("error")
    return err.get("type") if isinstance(err, dict) else None


def _translate(e: Exception) -> Exception:
    if isinstance(e, anthropic.APIStatusError):
        code = e.status_code
        if code in (408, 429, 529) or code >= 500 or _error_type(e) in _TRANSIENT_TYPES:
            return TransientError(f"model API {code}: {e.message}", retry_after=_retry_after(e))
        return PermanentError(f"model API {code}: {e.message}")
    if isinstance(e, anthropic.APIConnectionError | anthropic.APITimeoutError):
        return TransientError(f"model API unreachable: {e}")
    if type(e).__module__.split(".")[0].startswith(("httpx", "httpcore")) or isinstance(e, OSError):
        # A connection dropped mid-stream surfaces as the HTTP library's own error, not the SDK's.
        return TransientError(f"model stream broke: {type(e).__name__}: {e}")
    return e
