"""Commands that bypass the API and write to Firestore directly: bootstrapping the first key."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.group()
def admin():
    """Direct administration (needs Firestore access: GOOGLE_CLOUD_PROJECT and credentials,
    or the local stack's environment)."""


@admin.command(name="create-key")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), default="admin")
@click.option("--name", default="bootstrap-admin", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the key to this file (0600) instead of printing it.")  # fmt: skip
def create_key(role: str, name: str, out: Path | None):
    """Create an API key straight in Firestore (the first admin key of a deployment)."""
    from cloudswarm.api.keys import bootstrap_admin_key, generate_key

    value = generate_key()
    if out is not None:
        # Written before it is stored: a key that exists only in Firestore would be lost.
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
    bootstrap_admin_key(value, name=name, role=role)
    if out is None:
        click.echo(value)
    else:
        click.echo(f"{role} key written to {out}", err=True)
