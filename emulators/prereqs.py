"""Check the prerequisites `make setup` cannot install itself, and say how to get each one.

Stdlib only: it runs before the project's venv exists.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

GCLOUD_HINT = (
    "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), then "
    "`gcloud components install cloud-firestore-emulator pubsub-emulator beta` "
    "(on Debian: `apt-get install google-cloud-cli-firestore-emulator "
    "google-cloud-cli-pubsub-emulator`)"
)


def _sdk_root() -> Path | None:
    gcloud = shutil.which("gcloud")
    if not gcloud:
        return None
    out = subprocess.run(
        [gcloud, "info", "--format=value(installation.sdk_root)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    root = out.stdout.strip()
    return Path(root) if root else Path(gcloud).resolve().parent.parent


def problems() -> list[str]:
    found: list[str] = []
    # Runs under the system python3, which may be older than the project's floor.
    if sys.version_info < (3, 11):  # noqa: UP036
        found.append(
            f"Python 3.11+ is needed (this is {sys.version.split()[0]}): install python3.11"
        )
    root = _sdk_root()
    if root is None:
        found.append(f"gcloud is not on PATH: {GCLOUD_HINT}")
    else:
        platform = root / "platform"
        if not (platform / "cloud-firestore-emulator").is_dir():
            found.append(f"the Firestore emulator component is missing: {GCLOUD_HINT}")
        if not (platform / "pubsub-emulator").is_dir():
            found.append(f"the Pub/Sub emulator component is missing: {GCLOUD_HINT}")
    if not shutil.which("java"):
        found.append(
            "Java (17+) is missing; the emulators need it: "
            "`apt-get install -y openjdk-17-jre-headless`"
        )
    if not shutil.which("node") or not shutil.which("npm"):
        found.append(
            "Node.js 20+ with npm is missing (the web UI): `apt-get install -y nodejs npm`"
        )
    if not shutil.which("terraform"):
        found.append(
            "Terraform (1.5+) is missing; `make deploy` and the tests of terraform/ run it: "
            "https://developer.hashicorp.com/terraform/install"
        )
    return found


def main() -> int:
    found = problems()
    for p in found:
        print(f"setup: missing prerequisite: {p}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
