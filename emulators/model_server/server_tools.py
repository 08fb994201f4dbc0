"""Server tools as the Messages API runs them: their definitions checked, their blocks made from
scenario data, and the blocks it issued sealed so that one altered on its way back is refused.

The shapes follow the pinned SDK's types (``anthropic/types``): ``server_tool_use`` then
``web_search_tool_result`` (``web_search_result`` items with ``encrypted_content``),
``web_fetch_tool_result`` (a ``web_fetch_result`` holding a ``document``), or
``bash_code_execution_tool_result`` (``stdout``, ``stderr``, ``return_code``); usage counts
``server_tool_use.web_search_requests`` / ``web_fetch_requests``; code execution answers with a
``container {id, expires_at}``.

Sealing: the server keeps no state about conversations, so each ``server_tool_use`` id carries an
HMAC (a per-process key) over the use and its result. A request whose pair no longer matches, or
that carries a result without its use, is refused as the real API refuses a tampered
``encrypted_content``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
from urllib.parse import urlsplit

from .errors import invalid, new_id

# type string -> (tool name, options it takes beyond name/type)
_COMMON = {"cache_control", "allowed_callers", "defer_loading", "strict"}
DEFINITIONS: dict[str, tuple[str, frozenset[str]]] = {
    "web_search_20250305": (
        "web_search",
        frozenset({"max_uses", "allowed_domains", "blocked_domains", "user_location", *_COMMON}),
    ),
    "web_fetch_20250910": (
        "web_fetch",
        frozenset(
            {
                "max_uses",
                "allowed_domains",
                "blocked_domains",
                "citations",
                "max_content_tokens",
                *_COMMON,
            }
        ),
    ),
    "code_execution_20250825": ("code_execution", frozenset(_COMMON)),
}
RESULT_TYPES = frozenset(
    {
        "web_search_tool_result",
        "web_fetch_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "code_execution_tool_result",
    }
)
# The result type each tool's use is answered with.
RESULT_OF = {
    "web_search": "web_search_tool_result",
    "web_fetch": "web_fetch_tool_result",
    "bash_code_execution": "bash_code_execution_tool_result",
}
# The name a use block carries: code execution (20250825) runs bash.
USE_NAME = {
    "web_search": "web_search",
    "web_fetch": "web_fetch",
    "code_execution": "bash_code_execution",
}
CONTAINER_TTL_S = 3600.0
_KEY = secrets.token_bytes(32)
_ID = re.compile(r"^srvtoolu_([0-9a-f]{16})_([0-9a-f]{32})$")


def is_server_tool(tool: dict) -> bool:
    return tool.get("type", "custom") in DEFINITIONS


def check_definition(tool: dict, where: str) -> str:
    """Raise the API's error for a malformed server tool definition; its name when it is fine."""
    name, options = DEFINITIONS[tool["type"]]
    for key in tool:
        if key not in options | {"type", "name"}:
            raise invalid(f"{where}.{key}: Extra inputs are not permitted")
    if tool.get("name") != name:
        raise invalid(f"{where}.name: Input should be '{name}'")
    if "max_uses" in tool:
        value = tool["max_uses"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid(f"{where}.max_uses: Input should be greater than or equal to 1")
    if tool.get("allowed_domains") is not None and tool.get("blocked_domains") is not None:
        raise invalid(f"{where}: Cannot specify both allowed_domains and blocked_domains")
    for key in ("allowed_domains", "blocked_domains"):
        value = tool.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
            raise invalid(f"{where}.{key}: Input should be a valid list of strings")
        for d in value:
            if "://" in d or not d or " " in d:
                raise invalid(f"{where}.{key}: domain {d!r} must not include a scheme")
    if "max_content_tokens" in tool and (
        not isinstance(tool["max_content_tokens"], int) or tool["max_content_tokens"] < 1
    ):
        raise invalid(f"{where}.max_content_tokens: Input should be greater than or equal to 1")
    return name


def _canonical(block: dict) -> bytes:
    body = {k: v for k, v in block.items() if k not in ("cache_control", "id", "tool_use_id")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _mac(nonce: str, use: dict, result: dict) -> str:
    msg = nonce.encode() + b"\0" + _canonical(use) + b"\0" + _canonical(result)
    return hmac.new(_KEY, msg, hashlib.sha256).hexdigest()[:32]


def seal(use: dict, result: dict) -> tuple[dict, dict]:
    """The use and its result, tied by an id that carries their MAC."""
    nonce = secrets.token_hex(8)
    sid = f"srvtoolu_{nonce}_{_mac(nonce, use, result)}"
    return {**use, "id": sid}, {**result, "tool_use_id": sid}


def check_sealed(blocks: list[tuple[str, dict]]) -> None:
    """Refuse server blocks that this server did not issue as they are (``(where, block)``)."""
    uses = {b.get("id"): (w, b) for w, b in blocks if b.get("type") == "server_tool_use"}
    answered = set()
    for where, block in blocks:
        if block.get("type") not in RESULT_TYPES:
            continue
        tid = block.get("tool_use_id")
        if tid not in uses:
            raise invalid(f"{where}: {block['type']} without its server_tool_use ({tid})")
        match = _ID.match(str(tid))
        if not match or not hmac.compare_digest(
            match.group(2), _mac(match.group(1), uses[tid][1], block)
        ):
            raise invalid(
                f"{where}: the server tool blocks of {tid} were altered; send them back "
                "exactly as they were received"
            )
        answered.add(tid)
    for tid, (where, _) in uses.items():
        if tid not in answered:
            raise invalid(f"{where}: server_tool_use {tid} has no result after it")


def _allowed(url: str, tool: dict) -> bool:
    host = urlsplit(url).hostname or ""

    def under(domains):
        return any(host == d.split("/")[0] or host.endswith("." + d.split("/")[0]) for d in domains)

    if tool.get("allowed_domains"):
        return under(tool["allowed_domains"])
    return not under(tool.get("blocked_domains") or [])


def _encrypted(payload: dict) -> str:
    """Opaque to the client, as the real ``encrypted_content`` is."""
    return base64.b64encode(json.dumps(payload).encode()).decode()


def result_for(name: str, tool: dict, tool_input: dict, data: object, used: int) -> dict:
    """The result block a use gets from scenario ``data`` (without its tool_use_id)."""
    kind = RESULT_OF[USE_NAME.get(name, name)]
    if tool.get("max_uses") is not None and used > tool["max_uses"]:
        error = {"type": f"{kind}_error", "error_code": "max_uses_exceeded"}
        return {"type": kind, "content": error}
    if name == "web_search":
        hits = [h for h in (data if isinstance(data, list) else []) if _allowed(h["url"], tool)]
        return {
            "type": kind,
            "content": [
                {
                    "type": "web_search_result",
                    "url": h["url"],
                    "title": h["title"],
                    "page_age": h.get("page_age", "1 day ago"),
                    "encrypted_content": _encrypted({"text": h.get("text", "")}),
                }
                for h in hits
            ],
        }
    if name == "web_fetch":
        page = data if isinstance(data, dict) else {}
        url = str(tool_input.get("url", ""))
        if not page or not _allowed(url, tool):
            code = "url_not_accessible" if not page else "url_not_allowed"
            return {"type": kind, "content": {"type": f"{kind}_error", "error_code": code}}
        document = {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": page.get("text", "")},
            "title": page.get("title", url),
        }
        if tool.get("citations"):
            document["citations"] = tool["citations"]
        return {
            "type": kind,
            "content": {
                "type": "web_fetch_result",
                "url": url,
                "retrieved_at": page.get("retrieved_at", "2026-12-01T00:00:00Z"),
                "content": document,
            },
        }
    out = data if isinstance(data, dict) else {}
    return {
        "type": kind,
        "content": {
            "type": "bash_code_execution_result",
            "stdout": str(out.get("stdout", "")),
            "stderr": str(out.get("stderr", "")),
            "return_code": int(out.get("return_code", 0)),
            "content": [],
        },
    }


def citation(hit: dict, cited_text: str) -> dict:
    return {
        "type": "web_search_result_location",
        "url": hit["url"],
        "title": hit["title"],
        "encrypted_index": _encrypted({"url": hit["url"]}),
        "cited_text": cited_text,
    }


class Containers:
    """Code-execution containers: a request naming a live one reuses it, else a new one."""

    def __init__(self, ttl_s: float | None = None):
        self.ttl_s = float(os.environ.get("MODEL_SERVER_CONTAINER_TTL_S", ttl_s or CONTAINER_TTL_S))
        self.expires: dict[str, dt.datetime] = {}
        self.created = 0

    def take(self, wanted: object) -> dict:
        now = dt.datetime.now(dt.UTC)
        cid = wanted.get("id") if isinstance(wanted, dict) else wanted
        if isinstance(cid, str) and cid in self.expires:
            if self.expires[cid] <= now:
                raise invalid(f"container: container {cid} has expired")
        else:
            if cid is not None:
                raise invalid(f"container: container {cid} was not found")
            cid = new_id("container_")
            self.created += 1
        self.expires[cid] = now + dt.timedelta(seconds=self.ttl_s)
        return {"id": cid, "expires_at": self.expires[cid].isoformat().replace("+00:00", "Z")}
