"""A small HTTP client of the API: exchanges the key for a token, reuses it, retries once on
expiry, retries idempotent reads through brief outages, and turns the API's error format into
one readable message."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.retry import Retry

from cloudswarm.cli import config as cfgfile

# urllib3's Retry, not a loop of our own: it already tells a request that never left (refused
# connection) from one that may have been processed (dropped mid-answer), backs off, and
# honours Retry-After. A GET is retried on either, and on a 429 or 5xx: it changes nothing. A
# POST or DELETE is retried only when the connection could not be opened, so nothing was sent;
# one that reached the API is never sent twice (an approval, a message, a kill).
RETRY = Retry(
    total=5,
    connect=4,
    read=3,
    status=3,
    other=0,
    redirect=0,
    allowed_methods=frozenset({"GET", "HEAD"}),
    status_forcelist=frozenset({429, 500, 502, 503, 504}),
    backoff_factor=0.25,  # 0.25 s, 0.5 s, 1 s, ... between tries
    backoff_max=4,
    backoff_jitter=0.1,
    retry_after_max=10,  # a polling CLI waits for the API, but not for minutes
    raise_on_status=False,  # the last answer is shown with the API's own message
)


class CliError(Exception):
    """Printed to the user as it is; the command exits non-zero."""


class Client:
    def __init__(self, target: cfgfile.Target, data: dict, *, timeout: float = 30.0):
        self.target, self.data, self.timeout = target, data, timeout
        self.http = requests.Session()
        adapter = HTTPAdapter(max_retries=RETRY)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        # A developer's proxy settings must not capture calls to the local stack.
        self.http.trust_env = not _is_local(target.url)

    # -- tokens ----------------------------------------------------------------------------------

    def exchange(self, api_key: str) -> dict:
        out = self._send("POST", "/api/auth/token", json={"api_key": api_key}, auth=False)
        cached = {"url": self.target.url, "value": out["token"], "expires_at": out["expires_at"]}
        self.data["token"] = {**cached, "key_id": out.get("key_id")}
        if self.data.get("api_key") == api_key or not self.data.get("api_key"):
            cfgfile.save(self.data)
        return out

    def _token(self, fresh: bool = False) -> str:
        cached = self.data.get("token") or {}
        if not self.target.api_key:
            raise CliError("not logged in: run `cloudswarm login` (or set CLOUDSWARM_API_KEY)")
        reusable = (
            cached.get("url") == self.target.url
            and cached.get("key_id") == _key_id(self.target.api_key)
            and _alive(cached.get("expires_at"))
        )
        if reusable and not fresh:
            return cached["value"]
        return self.exchange(self.target.api_key)["token"]

    # -- requests --------------------------------------------------------------------------------

    def get(self, path: str, **params):
        return self._send("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict | None = None):
        return self._send("POST", path, json=body if body is not None else {})

    def delete(self, path: str):
        return self._send("DELETE", path)

    def lines(self, path: str, **params) -> Iterator[dict]:
        """A streamed JSON-lines answer, one object at a time."""
        resp = self._request("GET", path, params=params, stream=True)
        with resp:
            try:
                for line in resp.iter_lines():
                    if line:
                        yield _json(resp, line)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                raise CliError(f"the answer to GET {path} broke off; run it again") from None

    def content(self, path: str, params: dict) -> requests.Response:
        """An answer in bytes (an artifact), read whole: ``.content`` and ``.headers``."""
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def _send(self, method: str, path: str, *, auth: bool = True, **kw):
        resp = self._request(method, path, auth=auth, **kw)
        return _json(resp, resp.content) if resp.content else {}

    def _request(self, method: str, path: str, *, auth: bool = True, **kw) -> requests.Response:
        for attempt in (0, 1):
            headers = {"Authorization": f"Bearer {self._token(fresh=attempt > 0)}"} if auth else {}
            try:
                resp = self.http.request(
                    method, self.target.url + path, headers=headers, timeout=self.timeout, **kw
                )
            except requests.ConnectionError as e:
                if method not in RETRY.allowed_methods and _was_sent(e):
                    raise CliError(
                        f"the connection to {self.target.url} dropped before the API answered "
                        f"{method} {path}: it may have been applied; check before repeating it"
                    ) from None
                raise CliError(
                    f"cannot reach the API at {self.target.url}: is it running? (locally: "
                    "`python -m emulators.stack up --profile full`; or pass --url)"
                ) from None
            except requests.Timeout:
                raise CliError(f"the API at {self.target.url} did not answer in time") from None
            # An expired or revoked token: exchange the key once more and retry.
            if resp.status_code == 401 and auth and attempt == 0 and self.target.api_key:
                continue
            if resp.status_code >= 400:
                raise CliError(_describe(resp))
            return resp
        raise CliError(_describe(resp))


def _json(resp: requests.Response, raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        raise CliError(
            f"{resp.url} answered HTTP {resp.status_code} with something that is not the API's "
            "JSON: is --url the CloudSwarm API?"
        ) from None


def _was_sent(err: requests.ConnectionError) -> bool:
    """False when the connection was never opened (refused, or no handshake in time)."""
    cause = err.args[0] if err.args else None
    cause = getattr(cause, "reason", cause)  # MaxRetryError carries the last failure
    return not isinstance(cause, NewConnectionError | ConnectTimeoutError)


def _describe(resp: requests.Response) -> str:
    try:
        err = resp.json()["error"]
        text = f"{err['message']} ({err['code']}, HTTP {resp.status_code})"
    except (ValueError, KeyError, TypeError):
        text = f"HTTP {resp.status_code}: {resp.text[:200]}"
    if resp.status_code == 401:
        text += "; run `cloudswarm login` with a valid key"
    return text


def _alive(expires_at: str | None, margin_s: float = 30) -> bool:
    if not expires_at:
        return False
    try:
        at = dt.datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    return at - dt.timedelta(seconds=margin_s) > dt.datetime.now(dt.UTC)


def _key_id(api_key: str) -> str | None:
    # csk_<key id>_<secret>: the id says which key a cached token belongs to.
    parts = api_key.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "csk" else None


def _is_local(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in ("127.0.0.1", "localhost", "[::1]")
