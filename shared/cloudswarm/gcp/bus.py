"""Pub/Sub: doorbells (content-free "agent X has work" messages) and dead letters."""

from __future__ import annotations

import json
from collections.abc import Mapping

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1

from cloudswarm import telemetry
from cloudswarm.errors import TransientError


class Bus:
    def __init__(self, project: str, doorbell_topic: str, *, duplicate: bool = False):
        # Batching would hold each doorbell back for its latency window: a turn rings one or two
        # agents at a time, so publish at once.
        self.publisher = pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(max_messages=1)
        )
        self.project = project
        self.doorbell = self.publisher.topic_path(project, doorbell_topic)
        # Chaos testing: ring twice, as an at-least-once bus may deliver.
        self.copies = 2 if duplicate else 1

    def ring(
        self, swarm_id: str, agent_id: str, *, redelivery: Mapping[str, str] | None = None
    ) -> None:
        """Ring an agent; the doorbell carries the ringing span (``traceparent``) and, from
        the watchdog or a retry task, why it rings (``redelivery``, ``retry_of``)."""
        attrs = {"swarm_id": swarm_id, "agent_id": agent_id, **telemetry.carrier()}
        attrs.update({k: v for k, v in (redelivery or {}).items() if v})
        for _ in range(self.copies):
            self._publish(self.doorbell, b"", attrs)

    def publish(self, topic: str, data: dict | bytes, attributes: dict | None = None) -> str:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        return self._publish(self.publisher.topic_path(self.project, topic), raw, attributes or {})

    def drain(self, subscription: str, limit: int = 100):
        """Up to ``limit`` messages from a pull subscription (the dead-letter ones), and a
        function that acknowledges them: call it once they are safely recorded."""
        sub = pubsub_v1.SubscriberClient()
        path = sub.subscription_path(self.project, subscription)
        try:
            resp = sub.pull(
                request={"subscription": path, "max_messages": limit}, timeout=5, retry=None
            )
        except gexc.DeadlineExceeded:
            return [], lambda: None  # nothing waiting
        except gexc.GoogleAPICallError as e:
            raise TransientError(f"pubsub pull from {path}: {e}") from e
        got = [(m.message.data, dict(m.message.attributes)) for m in resp.received_messages]
        ack_ids = [m.ack_id for m in resp.received_messages]

        def ack() -> None:
            if ack_ids:
                sub.acknowledge(request={"subscription": path, "ack_ids": ack_ids})

        return got, ack

    def _publish(self, topic_path: str, data: bytes, attributes: dict) -> str:
        try:
            return self.publisher.publish(topic_path, data, **attributes).result(timeout=30)
        except (gexc.GoogleAPICallError, TimeoutError) as e:
            raise TransientError(f"pubsub publish to {topic_path}: {e}") from e
