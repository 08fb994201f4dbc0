"""Remote MCP servers over streamable HTTP, through the official ``mcp`` SDK
(``ports.ExternalTools``).

The SDK is async; a turn is not, so each listing or call runs on a loop of its own
(``anyio.run``): the call itself is bounded by ``timeout_s`` and the whole session (connecting,
the handshake, the call, closing) by ``timeout_s`` + 1 s. A call that outlives the turn's lease
is still at most once: the next turn finds its attempt noted (core/external_calls.py). A
server's token is read here, from Secret Manager, by the secret's name: the core never holds it,
and the log redaction knows it before it is used.

Errors, as the turn needs them: a server that cannot be reached raises ``NotDelivered`` (a
transient error: nothing was sent, the turn retries later); a server that refuses the token
raises ``PermanentError`` (the agent fails, saying so); once the session is open, whatever
happens to a call (a timeout, the connection lost, an HTTP error, the tool's own error) is its
result, flagged as an error, since the server may have acted.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from cloudswarm.core.shapes import JSONObject, McpServer
from cloudswarm.errors import NotDelivered, PermanentError

DEFAULT_TIMEOUT_S = 30.0
CACHE_ENTRIES = 64
CACHE_TTL_S = 600.0


class McpTools:
    """The ``ExternalTools`` port. ``token_of`` reads a secret by name (``gcp.secrets``)."""

    def __init__(
        self,
        token_of: Callable[[str], str],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache_entries: int = CACHE_ENTRIES,
        cache_ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_of = token_of
        self._timeout_s = timeout_s
        self._entries = cache_entries
        self._ttl_s = cache_ttl_s
        self._clock = clock
        self._listings: OrderedDict[tuple[str, ...], tuple[float, list[JSONObject]]] = OrderedDict()
        self._lock = threading.Lock()

    # -- the port ----------------------------------------------------------------------------

    def list_tools(self, sid: str, server: McpServer) -> list[JSONObject]:
        """The server's tools, listed once per swarm and server (the cache is bounded in
        entries and age, so a long-lived process neither grows nor keeps a stale listing)."""
        key = (sid, server["name"], server["url"], server.get("token_secret", ""))
        now = self._clock()
        with self._lock:
            hit = self._listings.get(key)
            if hit is not None and now - hit[0] < self._ttl_s:
                self._listings.move_to_end(key)
                return hit[1]
        tools = anyio.run(self._list, server)
        with self._lock:
            self._listings[key] = (now, tools)
            self._listings.move_to_end(key)
            while len(self._listings) > self._entries:
                self._listings.popitem(last=False)
        return tools

    def call(self, server: McpServer, tool: str, arguments: JSONObject) -> tuple[str, bool]:
        result: tuple[str, bool] = anyio.run(self._call, server, tool, arguments)
        return result

    # -- the SDK -----------------------------------------------------------------------------

    def _http(self, server: McpServer) -> httpx2.AsyncClient:
        headers = {}
        if server.get("token_secret"):
            headers["Authorization"] = f"Bearer {self._token_of(server['token_secret'])}"
        timeout = httpx2.Timeout(self._timeout_s, read=self._timeout_s)
        return create_mcp_http_client(headers=headers, timeout=timeout)

    async def _list(self, server: McpServer) -> list[JSONObject]:
        async def work(client: Client) -> list[JSONObject]:
            tools: list[JSONObject] = []
            cursor = None
            for _ in range(10):  # pages; a server that never ends its listing is cut off
                page = await client.list_tools(cursor=cursor)
                tools += [
                    {
                        "name": t.name,
                        "description": t.description or "",
                        "input_schema": t.input_schema,
                    }
                    for t in page.tools
                ]
                cursor = page.next_cursor
                if not cursor:
                    break
            return tools

        tools: list[JSONObject] = await self._session(server, work, listing=True)
        return tools

    async def _call(self, server: McpServer, tool: str, arguments: JSONObject) -> tuple[str, bool]:
        async def work(client: Client) -> tuple[str, bool]:
            try:
                with anyio.fail_after(self._timeout_s):
                    result = await client.call_tool(tool, arguments)
            except TimeoutError:
                return (f"no answer within {self._timeout_s:.0f}s; the outcome is unknown", True)
            except Exception as e:  # the server may have acted: a result, not a retry
                return (f"the call failed ({_kind(e)}); the outcome is unknown", True)
            return (_text(result), bool(result.is_error))

        out: tuple[str, bool] = await self._session(server, work, listing=False)
        return out

    async def _session(
        self, server: McpServer, work: Callable[[Client], Awaitable[Any]], *, listing: bool
    ) -> Any:
        """Open a session (connect and shake hands), do ``work`` in it, close it. A failure
        before ``work`` began means no request of ours reached a tool: ``NotDelivered`` (or
        the token was refused). Once it began, its result stands, however the close goes."""
        began, done, result = False, False, None
        refused: list[int] = []

        async def seen(response: httpx2.Response) -> None:
            if response.status_code in (401, 403):
                refused.append(response.status_code)

        try:
            with anyio.fail_after(self._timeout_s + 1):  # the whole session, handshake included
                http = self._http(server)
                http.event_hooks["response"].append(seen)  # the SDK reports a 401 as any error
                async with http:
                    transport = streamable_http_client(server["url"], http_client=http)
                    async with Client(transport, read_timeout_seconds=self._timeout_s) as client:
                        began = True
                        result = await work(client)
                        done = True
        except Exception as e:
            if refused:
                raise PermanentError(
                    f"MCP server {server['name']} refused the token (HTTP {refused[0]}): check "
                    "the secret named in tools.mcp[].token_secret"
                ) from None
            if not began:
                _raise_unreached(server, e)
            if not done:
                if listing:
                    raise NotDelivered(
                        f"MCP server {server['name']}: listing failed ({_kind(e)})"
                    ) from None
                return (f"the call failed ({_kind(e)}); the outcome is unknown", True)
        return result


def _leaves(e: BaseException) -> list[BaseException]:
    if isinstance(e, BaseExceptionGroup):
        return [x for sub in e.exceptions for x in _leaves(sub)]
    out = [e]
    if e.__cause__ is not None:
        out += _leaves(e.__cause__)
    return out


def _raise_unreached(server: McpServer, e: BaseException) -> None:
    raise NotDelivered(f"MCP server {server['name']} could not be reached ({_kind(e)})") from None


def _kind(e: BaseException) -> str:
    leaf = _leaves(e)[-1]
    if isinstance(leaf, httpx2.HTTPStatusError):
        return f"HTTP {leaf.response.status_code}"
    return type(leaf).__name__


def _text(result: Any) -> str:
    """A call's result as text: its text blocks; other blocks and structured content as JSON."""
    parts: list[str] = []
    for block in result.content or []:
        if getattr(block, "type", "") == "text":
            parts.append(block.text)
        else:
            parts.append(json.dumps(block.model_dump(mode="json", by_alias=True))[:2000])
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content))
    return "\n".join(parts)
