"""An agent's transcript: every model request and response, streamed as JSON lines."""

from __future__ import annotations

import json
import logging

import flask

from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import TranscriptQuery
from cloudswarm.errors import CloudSwarmError, NotFound

log = logging.getLogger("cloudswarm.api")


@route(
    "GET", "/api/swarms/{sid}/agents/{aid}/transcript", tag="agents", query=TranscriptQuery,
    stream="application/x-ndjson",
)  # fmt: skip
def get_transcript(call: Call, sid: str, aid: str):
    """The agent's transcript objects in order, one JSON line each: {"object", "record"}.

    The answer streams: an object read failing midway ends the stream with an
    {"error": {...}} line, since the status has been sent by then.
    """
    call.services.store.get_agent(sid, aid)
    transcripts = call.services.transcripts
    names = transcripts.transcript_objects(sid, aid)[: call.query.limit]

    def lines():
        for name in names:
            try:
                record = transcripts.read_transcript(name)
            except NotFound:
                continue  # deleted since the listing
            except CloudSwarmError as e:
                log.warning("transcript read failed: %s", e)
                err = {"code": "unavailable", "message": "transcript read failed; retry"}
                yield json.dumps({"error": err}) + "\n"
                return
            yield json.dumps({"object": name, "record": record}, default=str) + "\n"

    return flask.Response(lines(), status=200, mimetype="application/x-ndjson")
