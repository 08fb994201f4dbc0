"""Create everything resources.json declares, in the emulators, through the real clients.

Each step is idempotent (what exists is left alone) and talks to the endpoint of this stack
explicitly, never through *_EMULATOR_HOST in os.environ: the process running it (a test) may
point those at another stack.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable

import grpc
from google.api_core.exceptions import AlreadyExists, Conflict, FailedPrecondition, NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager, storage, tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport
from google.protobuf.duration_pb2 import Duration
from google.pubsub_v1 import (
    DeadLetterPolicy,
    PublisherClient,
    PushConfig,
    RetryPolicy,
    SubscriberClient,
    Subscription,
    Topic,
)
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

from cloudswarm import names
from cloudswarm.errors import ConfigError
from emulators.config import LOCAL_MCP_SECRET, StackConfig

# A developer's http_proxy must not capture gRPC calls to 127.0.0.1.
_GRPC_OPTIONS = [("grpc.enable_http_proxy", 0)]


def _channel(hostport: str) -> grpc.Channel:
    return grpc.insecure_channel(hostport, options=_GRPC_OPTIONS)


def _create(call: Callable[[], object]) -> None:
    with contextlib.suppress(AlreadyExists, Conflict):
        call()


def pubsub(cfg: StackConfig) -> None:
    res, s, project = names.resources(), cfg.settings, cfg.settings.project
    channel = _channel(cfg.hostport("pubsub"))
    publisher = PublisherClient(transport=PublisherGrpcTransport(channel=channel))
    subscriber = SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))

    def topic_path(logical: str) -> str:
        return publisher.topic_path(project, s.topic(logical))

    # Topics first: a subscription's dead-letter topic must exist before the subscription.
    for logical, spec in res["topics"].items():
        topic = Topic(
            name=topic_path(logical),
            message_retention_duration=Duration(seconds=spec["retention_s"]),
        )
        _create(lambda t=topic: publisher.create_topic(request=t))
    for logical, spec in res["subscriptions"].items():
        sub = Subscription(
            name=subscriber.subscription_path(project, names.scoped(s.prefix, logical)),
            topic=topic_path(spec["topic"]),
            ack_deadline_seconds=spec.get("ack_deadline_s", 10),
        )
        # With the stack's pusher, a push subscription is pulled and POSTed by emulators/pusher.py
        # (many at once); without it, the emulator pushes (two at a time).
        push = PushConfig()
        if "push_function" in spec and not cfg.pushes:
            push = PushConfig(push_endpoint=cfg.url(spec["push_function"]) + "/")
        sub.push_config = push
        if "dead_letter" in spec:
            sub.dead_letter_policy = DeadLetterPolicy(
                dead_letter_topic=topic_path(spec["dead_letter"]),
                max_delivery_attempts=spec["max_delivery_attempts"],
            )
        if "min_backoff_s" in spec:
            sub.retry_policy = RetryPolicy(
                minimum_backoff=Duration(seconds=spec["min_backoff_s"]),
                maximum_backoff=Duration(seconds=spec["max_backoff_s"]),
            )
        _create(lambda sub=sub: subscriber.create_subscription(request=sub))
        if "push_function" in spec:
            # It may exist from an earlier start with the other profile (Pub/Sub keeps its data
            # in the run folder): make its delivery this stack's.
            subscriber.modify_push_config(subscription=sub.name, push_config=push)
    channel.close()


def buckets(cfg: StackConfig) -> None:
    client = storage.Client(
        project=cfg.settings.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": cfg.url("storage")},
    )
    for logical, spec in names.resources()["buckets"].items():
        bucket = client.bucket(cfg.settings.bucket(logical))
        bucket.add_lifecycle_delete_rule(age=spec["lifecycle_delete_days"])
        _create(lambda b=bucket: client.create_bucket(b))


def queues(cfg: StackConfig) -> None:
    s = cfg.settings
    channel = _channel(cfg.hostport("tasks"))
    client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    parent = f"projects/{s.project}/locations/{s.region}"
    for logical, spec in names.resources()["queues"].items():
        queue = tasks_v2.Queue(
            name=client.queue_path(s.project, s.region, s.queue(logical)),
            rate_limits=tasks_v2.RateLimits(
                max_dispatches_per_second=spec["max_dispatches_per_second"]
            ),
            retry_config=tasks_v2.RetryConfig(max_attempts=spec["max_attempts"]),
        )
        _create(lambda q=queue: client.create_queue(parent=parent, queue=q))
    channel.close()


def secret_client(cfg: StackConfig) -> secretmanager.SecretManagerServiceClient:
    return secretmanager.SecretManagerServiceClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": cfg.url("secrets")},
    )


def secrets(cfg: StackConfig) -> None:
    client, project = secret_client(cfg), cfg.settings.project
    named = {cfg.settings.secret(logical): v for logical, v in cfg.secret_values().items()}
    if "mcp" in cfg.services:
        # Named as a swarm names it (tools.mcp[].token_secret), not a declared secret.
        named[LOCAL_MCP_SECRET] = cfg.mcp_token()
    for secret_id, value in named.items():
        _create(
            lambda sid=secret_id: client.create_secret(
                parent=f"projects/{project}",
                secret_id=sid,
                secret={"replication": {"automatic": {}}},
            )
        )
        if value is None:
            continue  # declared but not given: exists without a version, as in a fresh project
        path = client.secret_path(project, secret_id)
        try:
            latest = client.access_secret_version(name=f"{path}/versions/latest")
            if latest.payload.data == value.encode():
                continue
        except (NotFound, FailedPrecondition):
            pass
        client.add_secret_version(parent=path, payload={"data": value.encode()})


_ADMIN_KEY = (
    "import sys; from cloudswarm.api.keys import bootstrap_admin_key, generate_key; "
    "print(bootstrap_admin_key(sys.argv[1] or generate_key(), name='local-admin'))"
)


def admin_key(cfg: StackConfig) -> None:
    """A first admin API key for the UI and the CLI, kept in <run dir>/admin-key (mode 0600).

    Runs in a child process with the stack's client environment, so this process's own clients
    and settings stay untouched. The same key is written again on every start (the emulator
    forgets it), so a developer's saved key keeps working.
    """
    if "api" not in cfg.services:
        return
    path = cfg.run_dir / "admin-key"
    value = path.read_text().strip() if path.exists() else ""
    env = {**os.environ, **cfg.client_env()}
    out = subprocess.run(
        [sys.executable, "-c", _ADMIN_KEY, value],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise ConfigError(f"could not create the local admin key: {out.stderr.strip()[-500:]}")
    key = out.stdout.strip().splitlines()[-1]
    path.write_text(key + "\n")
    path.chmod(0o600)


# Per service: what to create once it is healthy. Firestore's rules come via --rules.
STEPS: dict[str, Callable[[StackConfig], None]] = {
    "firestore": admin_key,
    "pubsub": pubsub,
    "storage": buckets,
    "tasks": queues,
    "secrets": secrets,
}
