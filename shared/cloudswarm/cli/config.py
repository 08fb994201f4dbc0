"""Where the CLI talks to and with which key: flags, then environment, then the config file.

The file (``~/.config/cloudswarm/config.json``, or ``$CLOUDSWARM_CONFIG``) holds the API URL,
the API key and the last token; it is written 0600 because the key is a credential, like
``gh`` and ``gcloud`` keep theirs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8094"


def config_path() -> Path:
    if explicit := os.environ.get("CLOUDSWARM_CONFIG"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "cloudswarm" / "config.json"


def load(path: Path | None = None) -> dict:
    path = path or config_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save(data: dict, path: Path | None = None) -> Path:
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start, then swapped in whole: never readable by others, never torn.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    tmp.replace(path)
    return path


@dataclass
class Target:
    url: str
    api_key: str | None

    @classmethod
    def resolve(cls, url: str | None, data: dict) -> Target:
        url = url or os.environ.get("CLOUDSWARM_API_URL") or data.get("url") or DEFAULT_URL
        key = os.environ.get("CLOUDSWARM_API_KEY") or data.get("api_key")
        return cls(url.rstrip("/"), key)
