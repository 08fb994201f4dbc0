"""The stack's pusher (emulators/pusher.py) keeps what Pub/Sub push means, many at a time.

It runs here against the session stack's Pub/Sub emulator, delivering the swarm-requests push
subscription (turned into a pull subscription for the test, as the full stack creates it) to an
HTTP endpoint of the test's own that answers as each case needs.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from google.cloud import pubsub_v1

from cloudswarm import names
from emulators.stack import Stack
from tests.conftest import REPO_ROOT, stack_environ, wait_until

RESOURCES = names.resources()
LOGICAL = "swarm-requests-push"
SPEC = RESOURCES["subscriptions"][LOGICAL]
CONCURRENCY = 4


class Endpoint:
    """Records every push; answers 204, or 500 for the first `fail[marker]` pushes of a message;
    holds a push of a message marked `hold` until `release` is set."""

    def __init__(self):
        self.pushes: dict[str, list[dict]] = defaultdict(list)
        self.fail: dict[str, int] = {}
        self.holding = 0
        self.most_held = 0
        self.release = threading.Event()
        self.stats_url = ""
        self.changed = threading.Condition()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                marker = body["message"]["attributes"].get("test_marker", "")
                with endpoint.changed:
                    endpoint.pushes[marker].append(body)
                    failing = len(endpoint.pushes[marker]) <= endpoint.fail.get(marker, 0)
                    hold = body["message"]["attributes"].get("hold") == "1"
                    if hold:
                        endpoint.holding += 1
                        endpoint.most_held = max(endpoint.most_held, endpoint.holding)
                    endpoint.changed.notify_all()
                if hold:
                    endpoint.release.wait(60)
                    with endpoint.changed:
                        endpoint.holding -= 1
                self.send_response(500 if failing else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pushing(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """The pusher delivering swarm-requests to an Endpoint; the push config is restored after.
    One for the module: each test tells its messages apart by a marker of its own."""
    s = stack.config.settings
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(s.project, names.scoped(s.prefix, LOGICAL))
    endpoint = Endpoint()
    subscriber.modify_push_config(subscription=path, push_config={})
    log = (tmp_path_factory.mktemp("pusher") / "pusher.log").open("wb")
    with socket.socket() as probe:  # a free port for the pusher's /stats
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint.stats_url = f"http://127.0.0.1:{port}/stats"
    argv = [sys.executable, "-m", "emulators.pusher", "--port", str(port)]
    pusher = subprocess.Popen(
        [*argv, f"--concurrency={CONCURRENCY}", "--route", f"{LOGICAL}={endpoint.url}"],
        cwd=REPO_ROOT,
        env={**stack_environ(), **stack.env()},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield endpoint
    finally:
        pusher.terminate()
        pusher.wait(timeout=30)
        log.close()
        endpoint.close()
        push = {"push_endpoint": stack.config.url(SPEC["push_function"]) + "/"}
        subscriber.modify_push_config(subscription=path, push_config=push)


def _publish(stack: Stack, data: bytes, **attributes: str) -> None:
    s = stack.config.settings
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(s.project, s.topic(SPEC["topic"]))
    publisher.publish(topic, data, **attributes).result(timeout=10)


def test_a_2xx_acks_and_the_body_is_the_push_body(stack: Stack, pushing: Endpoint) -> None:
    marker = uuid.uuid4().hex
    _publish(stack, b'{"goal": "x"}', test_marker=marker)
    with pushing.changed:
        assert pushing.changed.wait_for(lambda: pushing.pushes[marker], timeout=30)
    (body,) = pushing.pushes[marker]
    message = body["message"]
    assert base64.b64decode(message["data"]) == b'{"goal": "x"}'
    assert message["attributes"] == {"test_marker": marker}
    assert message["messageId"] and message["publishTime"].endswith("Z")
    assert body["subscription"].endswith("/" + names.scoped(stack.config.settings.prefix, LOGICAL))
    assert body["deliveryAttempt"] == 1
    # Acked: a second delivery would come within the retry backoff; a later message arriving
    # after it shows the pusher is past it without one.
    later = uuid.uuid4().hex
    _publish(stack, b"{}", test_marker=later)
    with pushing.changed:
        assert pushing.changed.wait_for(lambda: pushing.pushes[later], timeout=30)
        assert pushing.changed.wait_for(lambda: len(pushing.pushes[marker]) > 1, timeout=5) is False


def test_a_failure_is_redelivered_until_a_2xx(stack: Stack, pushing: Endpoint) -> None:
    marker = uuid.uuid4().hex
    pushing.fail[marker] = 2
    _publish(stack, b"{}", test_marker=marker)
    with pushing.changed:
        assert pushing.changed.wait_for(lambda: len(pushing.pushes[marker]) >= 3, timeout=60)
    attempts = [b["deliveryAttempt"] for b in pushing.pushes[marker]]
    assert attempts == [1, 2, 3]


def test_after_max_delivery_attempts_it_is_dead_lettered(stack: Stack, pushing: Endpoint) -> None:
    s = stack.config.settings
    marker = uuid.uuid4().hex
    pushing.fail[marker] = 1000
    _publish(stack, b"{}", test_marker=marker)
    subscriber = pubsub_v1.SubscriberClient()
    dead = subscriber.subscription_path(
        s.project, names.scoped(s.prefix, "swarm-requests-dead-pull")
    )

    def arrived() -> bool:
        resp = subscriber.pull(subscription=dead, max_messages=50, timeout=5)
        if resp.received_messages:
            subscriber.acknowledge(
                subscription=dead, ack_ids=[m.ack_id for m in resp.received_messages]
            )
        return marker in [m.message.attributes.get("test_marker") for m in resp.received_messages]

    assert wait_until(arrived, timeout=90, every=0.2), (
        "never reached the dead-letter topic; delivery attempts: "
        f"{[b.get('deliveryAttempt') for b in pushing.pushes[marker]]}"
    )
    assert len(pushing.pushes[marker]) == SPEC["max_delivery_attempts"]


def _window(pushing: Endpoint) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(pushing.stats_url, timeout=10) as resp:
        (route,) = json.loads(resp.read()).values()  # the one subscription it pushes
        return route["window"]


def test_pushes_run_side_by_side_up_to_the_concurrency(stack: Stack, pushing: Endpoint) -> None:
    # The failures of the tests before have narrowed the window (halved per failure); it widens
    # by one per window's worth of successes, so some quick successes open it fully again.
    assert _window(pushing) < CONCURRENCY
    for _ in range(CONCURRENCY * CONCURRENCY):
        _publish(stack, b"{}", test_marker=uuid.uuid4().hex)
    assert wait_until(lambda: _window(pushing) == CONCURRENCY, timeout=30, every=0.1)
    marker = uuid.uuid4().hex
    for _ in range(CONCURRENCY + 2):
        _publish(stack, b"{}", test_marker=marker, hold="1")
    with pushing.changed:
        assert pushing.changed.wait_for(lambda: pushing.holding == CONCURRENCY, timeout=30)
        # No more than the concurrency are sent while those are held.
        assert not pushing.changed.wait_for(lambda: pushing.holding > CONCURRENCY, timeout=2)
    pushing.release.set()
    with pushing.changed:
        done = pushing.changed.wait_for(
            lambda: len(pushing.pushes[marker]) >= CONCURRENCY + 2, timeout=30
        )
    assert done and pushing.most_held == CONCURRENCY
