"""Conversations and transcripts (transcripts bucket); artifact contents (artifacts bucket)."""

from __future__ import annotations

import hashlib

from cloudswarm.core.shapes import ConvMessage, Transcript
from cloudswarm.gcp.blobs import Blobs, conversation_object, transcript_object


class Journal:
    def __init__(self, blobs: Blobs, bucket: str):
        self.blobs, self.bucket = blobs, bucket

    def load_conversation(self, sid: str, aid: str, version: int) -> list[ConvMessage]:
        return self.blobs.get_json(self.bucket, conversation_object(sid, aid, version))

    def save_conversation(
        self, sid: str, aid: str, version: int, messages: list[ConvMessage]
    ) -> None:
        self.blobs.put_json(self.bucket, conversation_object(sid, aid, version), messages)

    def write_transcript(
        self, sid: str, aid: str, turn: int, turn_id: str, seq: int, record: Transcript
    ) -> None:
        self.blobs.put_json(
            self.bucket, transcript_object(sid, aid, turn, turn_id, seq, "call"), record
        )

    def transcript_objects(self, sid: str, aid: str) -> list[str]:
        return sorted(self.blobs.list(self.bucket, f"{sid}/{aid}/turns/"))

    def read_transcript(self, name: str) -> dict:
        """One transcript object, by a name ``transcript_objects`` listed."""
        return self.blobs.get_json(self.bucket, name)


class Workspace:
    """Artifact contents, content-addressed so a replayed write lands on the same object."""

    def __init__(self, blobs: Blobs, bucket: str):
        self.blobs, self.bucket = blobs, bucket

    def put(self, sid: str, data: bytes) -> str:
        name = f"{sid}/objects/{hashlib.sha256(data).hexdigest()}"
        self.blobs.put(self.bucket, name, data, content_type="text/plain; charset=utf-8")
        return name

    def get(self, name: str) -> bytes:
        return self.blobs.get(self.bucket, name)
