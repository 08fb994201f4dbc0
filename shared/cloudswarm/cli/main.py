"""``cloudswarm``: start, watch and steer swarms from a terminal.

Talks to the local stack by default (http://127.0.0.1:8094); ``--url`` (or CLOUDSWARM_API_URL,
or ``login --url``) points it at a deployment.
"""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.text import Text

from cloudswarm.cli import config as cfgfile
from cloudswarm.cli import render, untrusted
from cloudswarm.cli.client import Client, CliError
from cloudswarm.cli.follow import Follower
from cloudswarm.cli.render import text

EXIT_FOR = {"completed": 0, "failed": 1, "killed": 1}


class State:
    def __init__(self, url: str | None, as_json: bool):
        self.data = cfgfile.load()
        self.target = cfgfile.Target.resolve(url, self.data)
        self.json = as_json
        self.console = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.target, self.data)
        return self._client

    def show(self, data, human) -> None:
        if self.json:
            render.dump(self.console, data)
        else:
            human(data)


pass_state = click.make_pass_decorator(State)


class Group(click.Group):
    """Turns CliError into a one-line message and exit code 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CliError as e:
            Console(stderr=True, highlight=False).print(text(("error: ", "red"), str(e)))
            ctx.exit(1)


@click.group(cls=Group)
@click.option("--url", help="API base URL (default: CLOUDSWARM_API_URL, the config, local).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON answers.")
@click.version_option(package_name="cloudswarm")
@click.pass_context
def app(ctx: click.Context, url: str | None, as_json: bool):
    """Start, watch and steer CloudSwarm swarms."""
    ctx.obj = State(url, as_json)


# -- session ---------------------------------------------------------------------------------------


@app.command()
@click.option("--api-key-stdin", is_flag=True, help="Read the key from standard input.")
@pass_state
def login(st: State, api_key_stdin: bool):
    """Check an API key and remember it (and the URL) in the config file."""
    if api_key_stdin:
        key = sys.stdin.readline().strip()
    else:
        # Prompted, never a flag: a key on the command line ends up in shell history and ps.
        key = click.prompt("API key", hide_input=True).strip()
    st.target.api_key = key
    st.data.update({"url": st.target.url, "api_key": key})
    out = st.client.exchange(key)
    path = cfgfile.save(st.data)
    st.err.print(text(f"logged in to {st.target.url} as {out['role']} (key {out['key_id']}); "
                      f"saved in {path}"))  # fmt: skip


@app.command()
@pass_state
def logout(st: State):
    """Revoke the current token and forget the key."""
    if st.data.get("token") and st.target.api_key:
        try:
            st.client.post("/api/auth/revoke", {})
        except CliError as e:
            st.err.print(text(("could not revoke the token: ", "yellow"), str(e)))
    for k in ("api_key", "token"):
        st.data.pop(k, None)
    cfgfile.save(st.data)
    st.err.print("logged out")


# -- swarms ----------------------------------------------------------------------------------------


@app.command()
@click.argument("goal")
@click.option("--model", help="The lead's model (default: the deployment's).")
@click.option("--usd", type=float, help="Budget in USD.")
@click.option("--tokens", type=int, help="Budget in tokens.")
@click.option("--turns", type=int, help="Budget in agent turns.")
@click.option("--wall-s", type=float, help="Budget in wall-clock seconds.")
@click.option("--template", help="A team template to start from (`cloudswarm templates`).")
@click.option("--detach", is_flag=True, help="Start it and return at once.")
@click.option("--timeout", type=float, help="Give up following after this many seconds.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Poll interval.")
@pass_state
def run(st: State, goal, model, usd, tokens, turns, wall_s, template, detach, timeout, interval):
    """Start a swarm on GOAL and follow it live until it ends."""
    budget = {k: v for k, v in dict(usd=usd, tokens=tokens, turns=turns, wall_s=wall_s).items()
              if v is not None}  # fmt: skip
    body = {"goal": goal, "model": model, "budget": budget or None, "template": template}
    out = st.client.post("/api/swarms", {k: v for k, v in body.items() if v is not None})
    sid = out["swarm_id"]
    if detach:
        st.show(out, lambda d: st.console.print(text(sid)))
        return
    st.err.print(text("swarm ", (sid, "bold"), " started; following it (Ctrl-C detaches)"))
    try:
        final = Follower(st.client, sid, st.err if st.json else st.console, interval).run(timeout)
    except KeyboardInterrupt:
        st.err.print(text(f"\ndetached; the swarm goes on: cloudswarm status {sid}"))
        sys.exit(130)
    st.show(final, lambda s: st.console.print(text(
        f"swarm {sid} ", render.styled(s["status"]),
        f": {s['summary']}" if s.get("summary") else "",
        f" ({s['status_reason']})" if s.get("status_reason") else "",
    )))  # fmt: skip
    sys.exit(EXIT_FOR.get(final["status"], 1))


@app.command()
@click.argument("sid", required=False)
@click.option("--limit", default=20, show_default=True)
@pass_state
def status(st: State, sid: str | None, limit: int):
    """List swarms, or show one with its agents and spend."""
    if sid is None:
        out = st.client.get("/api/swarms", limit=limit)
        st.show(out, lambda d: render.table(
            st.console, "Swarms", ["id", "status", "tasks", "created", "goal"],
            [[s["id"], render.styled(s["status"]), f"{s.get('tasks_done', 0)}/"
              f"{s.get('task_count', 0)}", render.when(s.get("created_at")),
              untrusted.cell(s.get("goal"), limit=70)]
             for s in d["swarms"]],
        ))  # fmt: skip
        return
    swarm = st.client.get(f"/api/swarms/{sid}")
    usage = st.client.get(f"/api/swarms/{sid}/usage")
    if st.json:
        render.dump(st.console, {"swarm": swarm, "usage": usage})
        return
    st.console.print(text((sid, "bold"), " ", render.styled(swarm["status"]), "  ",
                          swarm.get("goal")))  # fmt: skip
    if swarm.get("summary"):
        st.console.print(Text(f"outcome: {untrusted.block(swarm['summary'])}"))
    if swarm.get("status_reason"):
        st.console.print(text(f"reason: {swarm['status_reason']}"))
    st.console.print(text(
        f"tasks {swarm.get('tasks_done', 0)}/{swarm.get('task_count', 0)}  "
        f"agents {swarm.get('agent_count', 0)}  spend {render.usd(usage['total']['cost_usd'])}"
        f"  budget {_budget(swarm.get('budget'))}"
    ))  # fmt: skip


def _budget(budget: dict | None) -> str:
    parts = [f"{k}={v:g}" for k, v in (budget or {}).items() if v is not None]
    return ", ".join(parts) or "unlimited"


def _swarm_action(action: str, doc: str):
    @app.command(name=action, help=doc)
    @click.argument("sid")
    @click.argument("aid", required=False)
    @click.option("--reason", default="", help="Recorded with the change.")
    @pass_state
    def cmd(st: State, sid: str, aid: str | None, reason: str):
        # With AID, the same action on that one agent (the rest of the swarm goes on).
        path = f"/api/swarms/{sid}/agents/{aid}/{action}" if aid else f"/api/swarms/{sid}/{action}"
        body = {"reason": reason} if reason and (action != "stop" or not aid) else {}
        who = f"{sid}/{aid}" if aid else sid
        out = st.client.post(path, body)
        st.show(out, lambda d: st.console.print(text(f"{who} ", render.styled(d["status"]))))


_swarm_action("pause", "Pause a swarm, or with AID one of its agents.")
_swarm_action("resume", "Resume a paused swarm, or with AID a paused agent.")
_swarm_action("stop", "Stop a swarm for good, or with AID one of its agents.")


@app.command()
@click.argument("sid")
@pass_state
def agents(st: State, sid: str):
    """The agents of a swarm."""
    out = st.client.get(f"/api/swarms/{sid}/agents")
    st.show(out, lambda d: render.table(
        st.console, f"Agents of {sid}", ["id", "role", "status", "turns", "spend", "activity"],
        [[a["id"], a.get("role"), render.styled(a.get("status")), a.get("turns"),
          render.usd((a.get("usage") or {}).get("cost_usd")), (a.get("activity") or "")[:60]]
         for a in d["agents"]],
    ))  # fmt: skip


@app.command()
@click.argument("sid")
@click.option("--status", "status_", help="Only tasks in this status.")
@pass_state
def tasks(st: State, sid: str, status_: str | None):
    """The task board of a swarm."""
    out = st.client.get(f"/api/swarms/{sid}/tasks", status=status_)
    st.show(out, lambda d: render.table(
        st.console, f"Tasks of {sid}", ["id", "status", "owner", "title"],
        [[t["id"], render.styled(t.get("status")), t.get("owner"), t.get("title")]
         for t in d["tasks"]],
    ))  # fmt: skip


@app.command()
@click.argument("sid")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the swarm ends.")
@click.option("--limit", default=200, show_default=True)
@pass_state
def logs(st: State, sid: str, follow: bool, limit: int):
    """The activity feed of a swarm."""
    if follow:
        Follower(st.client, sid, st.console).run()
        return
    out = st.client.get(f"/api/swarms/{sid}/events", limit=min(limit, 200))
    st.show(out, lambda d: [st.console.print(render.event_line(e)) for e in d["events"]])


@app.command()
@click.argument("sid")
@click.argument("aid")
@pass_state
def transcript(st: State, sid: str, aid: str):
    """An agent's transcript: every model call, as JSON lines."""
    for line in st.client.lines(f"/api/swarms/{sid}/agents/{aid}/transcript"):
        if st.json:
            render.dump(st.console, line)
        else:
            # print_json keeps non-ASCII as it is (bidi and C1 controls too): cleaned first.
            st.console.print_json(data=untrusted.data(line))


@app.command()
@click.argument("sid")
@click.argument("aid")
@click.argument("body")
@click.option(
    "--interrupt", is_flag=True, help="Stop the agent's running call; it reads this first."
)
@pass_state
def message(st: State, sid: str, aid: str, body: str, interrupt: bool):
    """Send a message to an agent (it wakes to read it)."""
    payload = {"body": body, **({"interrupt": True} if interrupt else {})}
    out = st.client.post(f"/api/swarms/{sid}/agents/{aid}/messages", payload)
    said = "interrupted {aid} with {mid}" if interrupt else "sent {mid} to {aid}"
    st.show(out, lambda d: st.console.print(text(said.format(aid=aid, mid=d["message_id"]))))


@app.command()
@click.argument("sid")
@pass_state
def approvals(st: State, sid: str):
    """Approval requests of a swarm."""
    out = st.client.get(f"/api/swarms/{sid}/approvals")
    st.show(out, lambda d: render.table(
        st.console, f"Approvals of {sid}", ["id", "status", "agent", "action", "detail"],
        [[a["id"], render.styled(a.get("status")), a.get("agent_id"), a.get("action"),
          _call_or_detail(a)] for a in d["approvals"]],
    ))  # fmt: skip


def _call_or_detail(a: dict) -> str:
    """An external call is shown whole (its exact arguments are what approving runs)."""
    call = a.get("call")
    if not call:
        return (a.get("detail") or "")[:60]
    args = json.dumps(call.get("arguments") or {}, ensure_ascii=False, sort_keys=True)
    return f"{call['server']}__{call['tool']} {args}"


@app.command()
@pass_state
def templates(st: State):
    """Team templates a swarm may name (`run --template NAME`)."""
    out = st.client.get("/api/templates")
    st.show(out, lambda d: render.table(
        st.console, "Team templates", ["name", "source", "team", "description"],
        [[t["name"], t.get("source"), ", ".join(m["name"] for m in t.get("teammates") or []),
          (t.get("description") or "")[:80]] for t in d["templates"]],
    ))  # fmt: skip


def _decision(name: str):
    @app.command(name=name, help=f"{name.capitalize()} an approval request.")
    @click.argument("sid")
    @click.argument("approval_id")
    @click.option("--comment", default=None, help="Told to the agent.")
    @pass_state
    def cmd(st: State, sid: str, approval_id: str, comment: str | None):
        body = {"comment": comment} if comment else {}
        out = st.client.post(f"/api/swarms/{sid}/approvals/{approval_id}/{name}", body)

        def said(d: dict) -> None:
            st.console.print(text(f"{approval_id} ", render.styled(d["status"])))
            if d.get("call"):
                what = (
                    "runs in the agent's next turn" if d["status"] == "approved" else "never runs"
                )
                st.console.print(text(f"{_call_or_detail(d)}: {what}"))

        st.show(out, said)


_decision("approve")
_decision("reject")


# -- kill switch -----------------------------------------------------------------------------------


def _show_switch(st: State, d: dict) -> None:
    state = ("ENGAGED", "red bold") if d.get("engaged") else ("released", "green")
    st.console.print(text("kill switch ", state, f" by {d.get('actor') or '-'}: ",
                          d.get("reason") or ""))  # fmt: skip


@app.command()
@click.option("--reason", required=True, help="Why (audited).")
@pass_state
def kill(st: State, reason: str):
    """Engage the global kill switch: every model call stops now."""
    st.show(st.client.post("/api/kill-switch/engage", {"reason": reason}),
            lambda d: _show_switch(st, d))  # fmt: skip


@app.command()
@click.option("--reason", required=True, help="Why (audited).")
@pass_state
def release(st: State, reason: str):
    """Release the kill switch (admin); agents with pending mail resume."""
    st.show(st.client.post("/api/kill-switch/release", {"reason": reason}),
            lambda d: _show_switch(st, d))  # fmt: skip


@app.command(name="kill-switch")
@pass_state
def kill_switch(st: State):
    """Show the kill switch and its recent changes."""
    st.show(st.client.get("/api/kill-switch"), lambda d: _show_switch(st, d))


# -- keys ------------------------------------------------------------------------------------------


@app.group()
def keys():
    """API keys (admin)."""


@keys.command(name="list")
@pass_state
def keys_list(st: State):
    """Every API key."""
    out = st.client.get("/api/keys")
    st.show(out, lambda d: render.table(
        st.console, "API keys", ["key id", "name", "role", "revoked", "created"],
        [[k["key_id"], k["name"], k["role"], k["revoked"], render.when(k.get("created_at"))]
         for k in d["keys"]],
    ))  # fmt: skip


@keys.command(name="create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), required=True)
@pass_state
def keys_create(st: State, name: str, role: str):
    """Create a key; it is shown this once."""
    out = st.client.post("/api/keys", {"name": name, "role": role})
    st.show(out, lambda d: st.console.print(text(d["key"])))


@keys.command(name="revoke")
@click.argument("key_id")
@pass_state
def keys_revoke(st: State, key_id: str):
    """Revoke a key and every token issued for it."""
    out = st.client.delete(f"/api/keys/{key_id}")
    st.show(out, lambda d: st.console.print(text(f"revoked {key_id}")))


from cloudswarm.cli import workspace  # noqa: E402  (registers after the main group exists)
from cloudswarm.cli.admin import admin  # noqa: E402

workspace.register(app, pass_state)
app.add_command(admin)
