"""The swarm's messages and activity feed, a page at a time."""

from __future__ import annotations

from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import EventPage, FeedPage, MessagePage


@route("GET", "/api/swarms/{sid}/messages", tag="feed", query=FeedPage, response=MessagePage)
def list_messages(call: Call, sid: str):
    """Messages between agents and humans, oldest first (order=desc for newest first)."""
    q, store = call.query, call.services.store
    store.get_swarm(sid)
    docs, token = store.page_messages(sid, order=q.order, limit=q.limit, token=q.page_token)
    return {"messages": docs, "next_page_token": token}


@route("GET", "/api/swarms/{sid}/events", tag="feed", query=FeedPage, response=EventPage)
def list_events(call: Call, sid: str):
    """The activity feed, oldest first (order=desc for newest first)."""
    q, store = call.query, call.services.store
    store.get_swarm(sid)
    docs, token = store.page_events(sid, order=q.order, limit=q.limit, token=q.page_token)
    return {"events": docs, "next_page_token": token}
