"""Pub/Sub push for the local stack, many messages at a time: `python -m emulators.pusher`.

The Pub/Sub emulator pushes each subscription through two fixed threads, so locally no more than
two turns would ever run at once, where Cloud Functions scales agent_turn out to max_instances.
So the stack creates the push subscriptions of resources.json as pull subscriptions (see
emulators/bootstrap.py) and this process delivers them: it pulls each subscription through the
real client, never holding more than ``--concurrency`` messages, and POSTs each one to its
function from a pool of as many threads, with the wrapped push body the functions parse.

What push means is kept:

- a 2xx answer acks the message;
- anything else (an error status, a refused connection, no answer within the subscription's ack
  deadline, which is also what push gives a function) puts it back with the subscription's retry
  backoff: its ack deadline is set to the backoff, doubling per delivery attempt from the
  minimum to the maximum, so Pub/Sub redelivers it once that has passed. (The emulator, asked to
  redeliver at once by a nack, does so at once the first time, not after the minimum backoff:
  a storm of failing deliveries would then feed itself, where GCP spreads them out.)
- Pub/Sub counts every delivery, so after ``max_delivery_attempts`` the emulator moves the message
  to the dead-letter topic, as it does for push.
- order is not kept, as push does not keep it.
- the rate follows the answers, as GCP adjusts a push subscription's rate to its rate of success:
  up to ``--concurrency`` messages are in flight while the function succeeds; each failure halves
  that window (down to two, the emulator's own push concurrency), and it widens again by one per
  window's worth of successes (the additive increase of TCP's congestion avoidance: a burst of
  cheap successes, such as turns that find their agent busy, must not reopen it at once).
  Without this, a function failing under contention (transactions timing out on the Firestore
  emulator's locks) gets its redeliveries at full concurrency and makes the contention worse.

Unary pulls rather than the client's streaming pull: a pulled message simply keeps its ack
deadline, as a pushed one does, where the streaming client would extend it while the function
runs, and a failed one can be handed back with its backoff as its deadline.

``GET /`` answers OK once every subscription is being pulled; ``GET /stats`` gives, per
subscription, the messages delivered and failed, those in flight and the most in flight at once.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import signal
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_CONCURRENCY = 16
PULL_TIMEOUT_S = 30  # the emulator answers an empty pull after about 2 s; this is the RPC's limit
log = logging.getLogger("cloudswarm.pusher")
# No proxy, ever: a developer's http_proxy must not swallow requests to 127.0.0.1.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def push_body(subscription: str, message, delivery_attempt: int = 0) -> bytes:
    """The JSON body Pub/Sub push POSTs (the "wrapped" format functions-framework converts)."""
    msg = {
        "data": base64.b64encode(message.data).decode(),
        "attributes": dict(message.attributes),
        "messageId": message.message_id,
        "message_id": message.message_id,
        "publishTime": message.publish_time.isoformat().replace("+00:00", "Z"),
    }
    body = {"subscription": subscription, "message": msg}
    if delivery_attempt:  # set when the subscription has a dead-letter policy
        body["deliveryAttempt"] = delivery_attempt
    return json.dumps(body).encode()


def backoff_s(attempt: int, minimum: float, maximum: float) -> int:
    """The wait before redelivering a message whose delivery `attempt` (1, 2, ...) failed."""
    if minimum <= 0:
        return 0
    return int(min(maximum, minimum * 2 ** max(attempt - 1, 0)))


class Route:
    """One push subscription, the function endpoint it delivers to, and what it delivered."""

    def __init__(self, subscription: str, endpoint: str, spec: dict, concurrency: int):
        self.subscription = subscription
        self.endpoint = endpoint
        self.ack_deadline_s = spec.get("ack_deadline_s", 10)
        self.min_backoff_s = spec.get("min_backoff_s", 0)
        self.max_backoff_s = spec.get("max_backoff_s", 600)
        self.concurrency = concurrency
        self.delivered = self.failed = self.in_flight = self.max_in_flight = 0
        self.held: set[str] = set()  # ack ids pulled and not yet answered
        self.window = float(concurrency)  # how many may be held now (see the module docstring)
        # Never below the emulator's own two push threads: failures never make it slower than that.
        self.floor = float(min(2, concurrency))
        self._lock = threading.Condition()

    def stats(self) -> dict:
        with self._lock:
            return {
                "endpoint": self.endpoint,
                "concurrency": self.concurrency,
                "delivered": self.delivered,
                "failed": self.failed,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "window": int(self.window),
            }

    def room(self, stopping: threading.Event) -> int:
        """Wait until the window has room; how many more messages may be pulled now."""
        with self._lock:
            while len(self.held) >= int(self.window) and not stopping.is_set():
                self._lock.wait(0.5)
            return max(int(self.window) - len(self.held), 0)

    def hold(self, ack_id: str) -> None:
        with self._lock:
            self.held.add(ack_id)

    def deliver(self, client, received) -> None:
        """POST one pulled message, then ack it or hand it back with its backoff."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        attempt = received.delivery_attempt
        try:
            ok, why = self._post(received.message, attempt)
        except Exception as e:  # never leave a message held until its deadline for a bug here
            ok, why = False, repr(e)
        try:
            if ok:
                client.acknowledge(subscription=self.subscription, ack_ids=[received.ack_id])
            else:
                wait = backoff_s(attempt or 1, self.min_backoff_s, self.max_backoff_s)
                log.warning(
                    "push %s of %s failed (%s); attempt %s, redelivered in %d s",
                    received.message.message_id,
                    self.subscription,
                    why,
                    attempt or "?",
                    wait,
                )
                client.modify_ack_deadline(
                    subscription=self.subscription,
                    ack_ids=[received.ack_id],
                    ack_deadline_seconds=wait,
                )
        except Exception as e:  # the deadline then runs out and Pub/Sub redelivers anyway
            log.warning("answering Pub/Sub for %s failed: %s", received.ack_id[:12], e)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.delivered += ok
                self.failed += not ok
                self.held.discard(received.ack_id)
                if ok:
                    self.window = min(float(self.concurrency), self.window + 1 / self.window)
                else:
                    self.window = max(self.floor, self.window / 2)
                self._lock.notify_all()

    def _post(self, message, attempt: int) -> tuple[bool, str | None]:
        """POST one message as push does: (whether it counts as acked, why not)."""
        req = urllib.request.Request(
            self.endpoint,
            data=push_body(self.subscription, message, attempt),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            # Push gives a function the ack deadline to answer; so does this.
            with _opener.open(req, timeout=self.ack_deadline_s) as resp:
                resp.read()
                ok = 200 <= resp.status < 300
                return ok, None if ok else f"status {resp.status}"
        except urllib.error.HTTPError as e:
            return False, f"status {e.code}"
        except OSError as e:  # refused, reset, timed out: the function is down or too slow
            return False, str(e)


class Pusher:
    def __init__(self, routes: list[Route]):
        from google.cloud import pubsub_v1

        self.routes = routes
        self.client = pubsub_v1.SubscriberClient()
        self.ready = threading.Event()
        self.stopping = threading.Event()

    def _wait_for_subscriptions(self) -> None:
        # The stack starts this process beside the Pub/Sub emulator, and its bootstrap creates
        # the subscriptions once the emulator answers: wait for them rather than fail.
        pending = list(self.routes)
        while pending and not self.stopping.is_set():
            try:
                self.client.get_subscription(subscription=pending[0].subscription, timeout=5)
                pending.pop(0)
            except Exception:  # not up yet, or not created yet
                self.stopping.wait(0.1)

    def run(self) -> None:
        """Pull and deliver every subscription until stopped."""
        self._wait_for_subscriptions()
        threads = [
            threading.Thread(target=self._pull_loop, args=(r,), daemon=True) for r in self.routes
        ]
        for t in threads:
            t.start()
        self.ready.set()
        try:
            self.stopping.wait()
        finally:
            self.stopping.set()
            # Hand back what is still held at once, rather than at its ack deadline.
            for route in self.routes:
                with route._lock:
                    held = list(route.held)
                if held:
                    try:
                        self.client.modify_ack_deadline(
                            subscription=route.subscription, ack_ids=held, ack_deadline_seconds=0
                        )
                    except Exception as e:
                        log.warning("handing back %d messages failed: %s", len(held), e)

    def _pull_loop(self, route: Route) -> None:
        # No more than the window are ever taken from Pub/Sub, so the rest stay there, free for
        # redelivery, as they would wait for an instance in GCP.
        pool = ThreadPoolExecutor(route.concurrency, thread_name_prefix="push")
        while not self.stopping.is_set():
            room = route.room(self.stopping)
            if not room:
                continue
            try:
                resp = self.client.pull(
                    subscription=route.subscription, max_messages=room, timeout=PULL_TIMEOUT_S
                )
                received = list(resp.received_messages)
            except Exception as e:  # the emulator restarting, or gone while stopping
                if not self.stopping.is_set():
                    log.warning("pull of %s failed: %s", route.subscription, e)
                received = []
                self.stopping.wait(0.5)
            for rm in received:
                route.hold(rm.ack_id)
                pool.submit(route.deliver, self.client, rm)

    def stats(self) -> dict:
        return {r.subscription.rsplit("/", 1)[-1]: r.stats() for r in self.routes}


def _handler(pusher: Pusher) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/stats":
                body, status = json.dumps(pusher.stats()).encode(), 200
            elif self.path == "/" and pusher.ready.is_set():
                body, status = b"OK", 200
            else:
                body, status = b"not pulling yet", 503
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet: the stack keeps one log per service
            pass

    return Handler


def routes_from_args(specs: list[str], concurrency: int) -> list[Route]:
    """``LOGICAL=URL`` per push subscription of resources.json, named with this stack's prefix."""
    from cloudswarm import names
    from cloudswarm.settings import settings

    s = settings()
    declared = names.resources()["subscriptions"]
    routes = []
    for spec in specs:
        logical, _, url = spec.partition("=")
        if logical not in declared or not url:
            raise SystemExit(f"pusher: --route {spec!r} is not SUBSCRIPTION=URL of resources.json")
        path = f"projects/{s.project}/subscriptions/{names.scoped(s.prefix, logical)}"
        routes.append(Route(path, url, declared[logical], concurrency))
    return routes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emulators.pusher", description=__doc__)
    ap.add_argument("--port", type=int, required=True, help="for GET / (health) and GET /stats")
    ap.add_argument("--route", action="append", default=[], help="SUBSCRIPTION=URL (repeatable)")
    ap.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="messages in flight per subscription",
    )
    args = ap.parse_args(argv)
    if args.concurrency < 1:
        ap.error("--concurrency must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # The stack stops its services with SIGTERM: shut down as on Ctrl-C, handing messages back.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    pusher = Pusher(routes_from_args(args.route, args.concurrency))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(pusher))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    for r in pusher.routes:
        log.info("pushing %s to %s, %d at a time", r.subscription, r.endpoint, r.concurrency)
    try:
        pusher.run()
    except KeyboardInterrupt:
        pass
    finally:
        pusher.stopping.set()
        server.shutdown()
        server.server_close()
    # POSTs still running are abandoned (their messages were handed back to Pub/Sub): leave
    # without joining their threads, which could wait for an ack deadline of minutes.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
