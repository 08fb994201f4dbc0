"""Deliver doorbells to agent_turn as Pub/Sub push does, but many at a time.

The Pub/Sub emulator pushes each subscription through two fixed threads (two ``PushLoop``s, each
sending one message and waiting for the answer; idle loops look again every 100 ms). Production
push has no such limit: agent_turn scales out to its max_instances. So for the figures that need
many turns at once, the bench turns the doorbell subscription into a pull subscription, pulls it
with up to ``CONCURRENCY`` messages outstanding, and POSTs each one to agent_turn with the very
body and headers the emulator's push sends; a 2xx acks it, anything else nacks it (redelivered,
as push would). Stopping restores the push subscription.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

CONCURRENCY = 128
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DoorbellRelay:
    def __init__(self, env, concurrency: int = CONCURRENCY):
        from google.cloud import pubsub_v1

        s = env.settings
        ports = json.loads((env.run_dir / "stack.json").read_text())["ports"]
        self.endpoint = f"http://127.0.0.1:{ports['agent_turn']}/"
        self.sub = pubsub_v1.SubscriberClient()
        self.name = self.sub.subscription_path(s.project, s.topic("agent-doorbell-push"))
        self.concurrency = concurrency
        self.delivered = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._future = None
        self._executor: ThreadPoolExecutor | None = None

    def __enter__(self) -> DoorbellRelay:
        from google.cloud import pubsub_v1
        from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler

        self.sub.modify_push_config(subscription=self.name, push_config={})
        self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="relay")
        self._future = self.sub.subscribe(
            self.name,
            self._deliver,
            flow_control=pubsub_v1.types.FlowControl(max_messages=self.concurrency),
            scheduler=ThreadScheduler(self._executor),
        )
        return self

    def __exit__(self, *exc) -> None:
        if self._future is not None:
            self._future.cancel()
            # The cancelled stream's own ending is not an error here.
            with contextlib.suppress(Exception):
                self._future.result(timeout=30)
        self.sub.modify_push_config(
            subscription=self.name, push_config={"push_endpoint": self.endpoint}
        )

    def _deliver(self, message) -> None:
        body = {
            "subscription": self.name,
            "message": {
                "data": "",
                "attributes": dict(message.attributes),
                "messageId": message.message_id,
                "message_id": message.message_id,
                "publishTime": message.publish_time.isoformat().replace("+00:00", "Z"),
            },
        }
        req = urllib.request.Request(
            self.endpoint,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with _opener.open(req, timeout=600) as resp:
                ok = 200 <= resp.status < 300
        except (urllib.error.URLError, OSError):
            ok = False
        with self._lock:
            self.delivered += ok
            self.failed += not ok
        message.ack() if ok else message.nack()
