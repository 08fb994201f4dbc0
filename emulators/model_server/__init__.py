"""A local Messages-API-compatible model server for tests, the demo and benchmarks.

It speaks the real wire format (JSON and SSE streaming), validates requests as strictly as the real
API, reports usage with prompt-cache accounting, injects faults on request, logs every request, and
answers from a scripted, stateless scenario policy (``scenarios/*.json``).

Point the SDK at it with ``ANTHROPIC_BASE_URL=http://127.0.0.1:8090`` and any API key. In-process:

    with ModelServer(port=0, scenario="demo") as server:
        client = anthropic.Anthropic(base_url=server.url, api_key="test")
"""

from .faults import FaultConfig
from .server import ModelServer

__all__ = ["FaultConfig", "ModelServer"]
