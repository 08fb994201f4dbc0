"""``cloudswarm artifacts``: the swarm's shared workspace, listed, and one file printed.

``artifacts get`` writes the artifact's bytes exactly as stored, to a file or a pipe, so
``> out.md`` or ``| sha256sum`` sees what the agent wrote. A terminal is the one place the bytes
are not passed through as they are: an artifact is outside text, and its escape sequences would
reach the terminal, so text is shown cleaned (cloudswarm.cli.untrusted) and anything else is
refused with the way to save it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.text import Text

from cloudswarm.cli import render, untrusted
from cloudswarm.cli.client import CliError

PAGE = 200


class _ListByDefault(click.Group):
    """``artifacts SID`` lists; ``artifacts get SID PATH`` prints one: a first argument that is
    not a subcommand is the swarm id of a listing."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


def register(app: click.Group, pass_state) -> None:
    @app.group(cls=_ListByDefault)
    def artifacts():
        """The shared workspace: `artifacts SID` lists it, `artifacts get SID PATH` prints one."""

    @artifacts.command(name="list")
    @click.argument("sid")
    @click.option("--prefix", default="", help="Only paths starting with this.")
    @click.option("--limit", default=1000, show_default=True, help="At most this many paths.")
    @pass_state
    def artifacts_list(st, sid: str, prefix: str, limit: int):
        """The swarm's artifacts: path, version, size, who wrote it and when."""
        items: list[dict] = []
        token = None
        while len(items) < limit:
            page = st.client.get(f"/api/swarms/{sid}/artifacts", prefix=prefix or None,
                                 limit=min(PAGE, limit - len(items)), page_token=token)  # fmt: skip
            items += page["artifacts"]
            token = page.get("next_page_token")
            if not token:
                break
        out = {"artifacts": items, "next_page_token": token}
        st.show(out, lambda d: render.table(
            st.console, f"Artifacts of {sid}", ["path", "version", "size", "by", "updated"],
            [[a["path"], a["version"], a["size"], a.get("updated_by"),
              render.when(a.get("updated_at"))] for a in d["artifacts"]],
        ))  # fmt: skip
        if token and not st.json:
            st.err.print(Text(f"(more than {limit}; raise --limit or use --prefix)"))

    @artifacts.command(name="get")
    @click.argument("sid")
    @click.argument("path")
    @click.option("--version", "version", type=click.IntRange(min=1), help="This version.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write it to this file instead of standard output.")  # fmt: skip
    @pass_state
    def artifacts_get(st, sid: str, path: str, version: int | None, output: Path | None):
        """Print an artifact (the latest version, or --version N) byte for byte."""
        params = {"path": path, "version": version}
        resp = st.client.content(f"/api/swarms/{sid}/artifacts/content", params)
        data = resp.content
        if output is not None:
            output.write_bytes(data)
            st.err.print(Text(f"wrote {len(data)} bytes (v{resp.headers.get('X-Artifact-Version')})"
                              f" to {untrusted.line(str(output))}"))  # fmt: skip
            return
        if not _is_terminal():
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        if resp.headers.get("Content-Disposition", "").startswith("attachment"):
            raise CliError(f"{path} is not text ({resp.headers.get('Content-Type')}): save it "
                           "with -o FILE or pipe it")  # fmt: skip
        st.console.print(Text(untrusted.block(data.decode("utf-8"), limit=None)), end="")


def _is_terminal() -> bool:
    # FORCE_COLOR is how the tests (and some CI) make rich treat a pipe as a terminal.
    return sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))
