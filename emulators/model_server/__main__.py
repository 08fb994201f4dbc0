"""Run the model server: ``python -m emulators.model_server --port 8090 [--scenario demo]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from . import scenario as scenarios
from .faults import FaultConfig
from .server import ModelServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m emulators.model_server", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090, help="0 picks a free port (printed on start)")
    p.add_argument(
        "--scenario",
        default="demo",
        help=f"a name ({', '.join(scenarios.available())}) or a path to a scenario JSON file",
    )
    p.add_argument("--log", metavar="FILE", help="append each request and response as a JSON line")
    p.add_argument("--min-cache-tokens", type=int, default=1024)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--rate-529", type=float, default=0.0)
    p.add_argument("--rate-500", type=float, default=0.0)
    p.add_argument("--rate-stream-error", type=float, default=0.0)
    p.add_argument("--retry-after", type=float, default=1.0, help="seconds, sent with 429s")
    p.add_argument("--slow-stream-delay", type=float, default=0.0, help="seconds between events")
    p.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    p.add_argument("--stall", type=float, default=0.0, help="seconds of silence mid-answer")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def _faults(args: argparse.Namespace) -> FaultConfig:
    return FaultConfig.from_json(
        {
            "seed": args.seed,
            "rate_429": args.rate_429,
            "rate_529": args.rate_529,
            "rate_500": args.rate_500,
            "rate_stream_error": args.rate_stream_error,
            "retry_after_s": args.retry_after,
            "slow_stream_delay_s": args.slow_stream_delay,
            "latency_s": args.latency,
            "stall_s": args.stall,
        }
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        server = ModelServer(
            args.host,
            args.port,
            scenario=args.scenario,
            faults=_faults(args),
            min_cache_tokens=args.min_cache_tokens,
            log_path=args.log,
        )
    except (ValueError, OSError) as e:  # a bad flag, an unknown scenario, a port in use
        print(f"model server: {e}", file=sys.stderr)
        return 2

    def stop(signum, frame):
        # shutdown() waits for serve_forever to return, so it cannot run on the serving thread.
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Scripts and tests read this line to learn the port when --port 0 was given.
    print(f"model server listening on {server.url} (scenario {server.scenario.name})", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
