"""The usage log line the spend alert reads: its event name and fields are a contract with the
log-based metric in terraform/modules/monitoring."""

from __future__ import annotations

import io
import json
import logging

from cloudswarm import log
from cloudswarm.llm import usage

USAGE = {"input_tokens": 120, "output_tokens": 30, "cache_read_tokens": 5, "cache_write_tokens": 0}


def test_each_model_call_is_one_structured_line_with_its_cost_and_context():
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(log.CloudJsonFormatter("proj"))
    logger = usage.log
    logger.addHandler(handler)
    old_level, logger.level = logger.level, logging.INFO
    try:
        with log.log_context(swarm_id="s1", agent_id="lead"):
            usage.UsageLog().model_call(model="claude-x", usd=0.0125, usage=USAGE, seq=2)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    (line,) = buffer.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["event"] == "model_usage"
    assert entry["usd"] == 0.0125 and entry["model"] == "claude-x"
    assert {k: entry[k] for k in USAGE} == USAGE
    assert (entry["swarm_id"], entry["agent_id"]) == ("s1", "lead")
    assert entry["message"] == "model call 2" and entry["severity"] == "INFO"
