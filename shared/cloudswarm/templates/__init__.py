"""The team templates shipped with CloudSwarm (``*.json`` here), checked by core/templates.py."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from cloudswarm.core import templates
from cloudswarm.core.shapes import JSONObject


@cache
def shipped() -> dict[str, JSONObject]:
    """Name -> template, every file checked (a bad file fails loudly, at first use)."""
    out: dict[str, JSONObject] = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            doc = templates.validate(json.loads(entry.read_text()))
            out[str(doc["name"])] = doc
    return out
