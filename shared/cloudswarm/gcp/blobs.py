"""GCS: transcripts, conversation snapshots and artifact contents.

Objects are written once under names that never repeat (versioned or content-addressed), so no
write ever needs a generation precondition and a replayed write is harmless.
"""

from __future__ import annotations

import json

import google.auth
import requests
import requests.adapters
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import storage

from cloudswarm.errors import NotFound, PermanentError, TransientError

# One process serves many turns at once; the HTTP library's default pool (10) made it open and
# discard a connection per request beyond that ("Connection pool is full").
POOL_SIZE = 64


def _client(project: str, emulated: bool) -> storage.Client:
    if emulated:
        # STORAGE_EMULATOR_HOST routes the client; anonymous credentials keep it offline.
        credentials = AnonymousCredentials()
    else:
        credentials, _ = google.auth.default(scopes=storage.Client.SCOPE)
    session = AuthorizedSession(credentials)
    adapter = requests.adapters.HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return storage.Client(project=project, credentials=credentials, _http=session)


# Overloaded, or not reachable within the client's own retry deadline (the client then raises
# RetryError, or the HTTP library's error): all transient, so a turn retries and lets go of its
# lease instead of dying with it held.
_UNREACHABLE = (
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.RetryError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)


class Blobs:
    """One per process (cloudswarm.runtime caches it), so one HTTP connection pool."""

    def __init__(self, project: str, emulated: bool):
        self.client = _client(project, emulated)

    def put(self, bucket: str, name: str, data: bytes, content_type: str = "application/json"):
        try:
            self.client.bucket(bucket).blob(name).upload_from_string(
                data, content_type=content_type
            )
        except _UNREACHABLE as e:
            raise TransientError(f"gcs put {bucket}/{name}: {e}") from e
        except gexc.GoogleAPICallError as e:
            raise PermanentError(f"gcs put {bucket}/{name}: {e}") from e

    def get(self, bucket: str, name: str) -> bytes:
        try:
            return self.client.bucket(bucket).blob(name).download_as_bytes()
        except gexc.NotFound as e:
            raise NotFound(f"gs://{bucket}/{name} does not exist") from e
        except _UNREACHABLE as e:
            raise TransientError(f"gcs get {bucket}/{name}: {e}") from e

    def put_json(self, bucket: str, name: str, obj) -> None:
        self.put(bucket, name, json.dumps(obj, separators=(",", ":"), default=str).encode())

    def get_json(self, bucket: str, name: str):
        return json.loads(self.get(bucket, name))

    def list(self, bucket: str, prefix: str) -> list[str]:
        return [b.name for b in self.client.list_blobs(bucket, prefix=prefix)]


def conversation_object(sid: str, aid: str, version: int) -> str:
    return f"{sid}/{aid}/conversation/{version:08d}.json"


def transcript_object(sid: str, aid: str, turn: int, turn_id: str, seq: int, kind: str) -> str:
    return f"{sid}/{aid}/turns/{turn:05d}-{turn_id}/{seq:03d}-{kind}.json"
