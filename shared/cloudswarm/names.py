"""Concrete resource names from the logical ones in resources.json.

Terraform applies the same rule (terraform/locals.tf), and a structural test checks they agree:
topics, subscriptions, queues and secrets are ``{prefix}-{name}``; buckets, whose names are
global, are ``{project}-{prefix}-{name}``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

RESOURCES_FILE = Path(__file__).with_name("resources.json")


@cache
def resources() -> dict:
    return json.loads(RESOURCES_FILE.read_text())


def scoped(prefix: str, name: str) -> str:
    return f"{prefix}-{name}"


def bucket(project: str, prefix: str, name: str) -> str:
    return f"{project}-{prefix}-{name}"
