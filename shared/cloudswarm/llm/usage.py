"""What each model call used and cost, as one structured log line per call.

The spend alert counts these lines: a log-based metric sums ``usd`` over the lines whose
``event`` is ``model_usage`` (terraform/modules/monitoring), so the field names are a contract.
The log context (``cloudswarm.log.log_context``) adds the swarm and agent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger("cloudswarm.usage")


class UsageLog:
    """The core's ``Meter`` port, on the process's structured log."""

    def model_call(self, *, model: str, usd: float, usage: Mapping[str, int], seq: int) -> None:
        log.info(
            "model call %s",
            seq,
            extra={"event": "model_usage", "usd": usd, "model": model, **usage},
        )
