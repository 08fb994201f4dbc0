"""The swarm's messages and activity feed, a page at a time."""

from __future__ import annotations

from cloudswarm import runtime
from cloudswarm.api import ops
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import EventPage, FeedPage, MessagePage


@route("GET", "/api/swarms/{sid}/messages", tag="feed", query=FeedPage, response=MessagePage)
def list_messages(call: Call, sid: str):
    """Messages between agents and humans, oldest first (order=desc for newest first)."""
    ops.swarm(sid)
    q, col = call.query, runtime.store().p.messages(sid)
    docs, token = ops.page(col, col, "created_at", q.order, q.limit, q.page_token)
    return {"messages": docs, "next_page_token": token}


@route("GET", "/api/swarms/{sid}/events", tag="feed", query=FeedPage, response=EventPage)
def list_events(call: Call, sid: str):
    """The activity feed, oldest first (order=desc for newest first)."""
    ops.swarm(sid)
    q, col = call.query, runtime.store().p.events(sid)
    docs, token = ops.page(col, col, "at", q.order, q.limit, q.page_token)
    return {"events": docs, "next_page_token": token}
