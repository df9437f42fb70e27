"""`raycockpit`: resolve where to connect (or start the embedded head), then run the app or
print one snapshot (--once). `--web` is web_cli.py, `--replay` replay_cli.py, and the `config`,
`k8s` and `postmortem` commands config_cli.py and postmortem_cli.py. Imports stay lazy so --once
never loads Textual."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from raycockpit import __version__
from raycockpit.cockpit.config import (
    DEFAULT_ADDRESS,
    Settings,
    address_from_env,
    address_problem,
    normalise_address,
    settings_file,
)

EXIT_UNREACHABLE = 2


@dataclass(frozen=True)
class Target:
    address: str
    embedded: bool  # True: no cluster found, start and own a local head
    source: str  # what decided it: flag, env, running, embedded
    ssh: str | None = None  # [user@]host[:port]: reach the dashboard through an ssh tunnel
    k8s: str | None = None  # a KubeRay cluster: reach it through kubectl port-forward


EXAMPLES = """examples:
  raycockpit                          the dashboard on :8265, or an embedded local head
  raycockpit 10.0.0.5                 a cluster's dashboard (http://10.0.0.5:8265)
  raycockpit --ssh me@head            through an ssh tunnel to the head's loopback
  raycockpit --once --json            one snapshot, with the why of what is pending
  raycockpit config check up.yaml     the cluster-config doctor
  raycockpit postmortem list          the bundles kept of failed jobs
keys: ? in the cockpit lists them all; : opens the command bar, ctrl+p the palette"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="raycockpit",
        description="A keyboard-driven terminal cockpit for Ray clusters. With no address it "
        "attaches to a dashboard on http://127.0.0.1:8265, or else starts and owns a local Ray "
        "head.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "address_arg",
        nargs="?",
        metavar="ADDRESS",
        help="dashboard URL of a running cluster, as --address (raycockpit http://HOST:8265)",
    )
    p.add_argument("--address", help="dashboard URL of a running cluster, e.g. http://HOST:8265")
    p.add_argument(
        "--ssh",
        metavar="[USER@]HOST[:PORT]",
        help="reach a head whose dashboard listens on that machine's loopback, through a "
        "managed ssh tunnel (your ~/.ssh/config, agent and known_hosts apply)",
    )
    p.add_argument("--ssh-key", metavar="FILE", help="with --ssh: the private key to log in with")
    p.add_argument(
        "--remote-dashboard",
        type=int,
        metavar="PORT",
        help="with --ssh: the dashboard port on the remote machine (default 8265)",
    )
    p.add_argument(
        "--context",
        metavar="NAME",
        help="open the cluster named NAME under contexts: in the settings file",
    )
    p.add_argument(
        "--all-contexts",
        action="store_true",
        help="with --once: one line per context of the settings (the fleet), asked at once",
    )
    p.add_argument("--refresh", type=float, help="seconds between polls (default 2)")
    p.add_argument("--once", action="store_true", help="print one snapshot as text and exit")
    p.add_argument("--json", action="store_true", help="with --once: print JSON instead of text")
    p.add_argument(
        "--keep-cluster", action="store_true", help="leave the embedded local head running on exit"
    )
    p.add_argument(
        "--readonly",
        action="store_true",
        help="hide and refuse every action that changes the cluster",
    )
    p.add_argument(
        "--record",
        metavar="FILE",
        help="write what the cockpit receives (answers and open log tails, secrets left out, "
        "gzip, bounded by record_max_mb) to FILE; :record / :stop-record do it while running",
    )
    p.add_argument(
        "--replay",
        metavar="FILE",
        help="open a recording instead of a cluster: every pane as it was, keys [ ] { } < > to "
        "move in time, . and * to play at 1x and 10x; nothing can change a cluster",
    )
    p.add_argument(
        "--at",
        metavar="TIME",
        help="with --replay: start at TIME from the recording's start (seconds, MM:SS, H:MM:SS "
        "or end); with --once: the snapshot at that moment",
    )
    p.add_argument(
        "--web",
        action="store_true",
        help="serve the cockpit to browsers (textual-serve): one cockpit per tab, on the cluster "
        "this resolves to (the embedded head is started once, here)",
    )
    p.add_argument("--host", default="127.0.0.1", help="with --web: the address to listen on")
    p.add_argument("--port", type=int, default=8000, help="with --web: the port (default 8000)")
    p.add_argument(
        "--web-token",
        metavar="TOKEN",
        help="with --web: the page and its websocket answer only /?token=TOKEN (needed on any "
        "address but loopback)",
    )
    p.add_argument("--config", help="settings file (default ~/.config/raycockpit/cockpit.yaml)")
    p.add_argument("--version", action="version", version=f"raycockpit {__version__}")
    return p


def dashboard_answers(address: str, timeout: float = 1.0) -> bool:
    import httpx

    from raycockpit.cockpit.local import port_in_use

    host_port = address.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    if (
        host in ("127.0.0.1", "localhost")
        and port.isdigit()
        and not port_in_use(int(port), "127.0.0.1")
    ):
        return False  # nothing listens: skip the HTTP round trip
    try:
        return httpx.get(f"{address}/api/version", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _check_address(address: str, where: str) -> None:
    problem = address_problem(address)
    if problem:
        raise ValueError(
            f"{where} {address!r} is not a dashboard URL: {problem}; give one like "
            f"{DEFAULT_ADDRESS}"
        )


def resolve_target(
    flag: str | None,
    settings: Settings,
    env: dict[str, str] | None = None,
    ssh_flag: str | None = None,
) -> Target:
    """--address or --ssh; RAY_API_SERVER_ADDRESS or an http(s) RAY_ADDRESS; the settings file
    (address or ssh); a dashboard already answering on 127.0.0.1:8265; else an embedded head."""
    if flag and ssh_flag:
        raise ValueError("give either --address or --ssh, not both")
    if flag:
        _check_address(flag, "--address")
        return Target(normalise_address(flag), False, "--address")
    if ssh_flag:
        return Target("", False, "--ssh", ssh=ssh_flag)
    from_env = address_from_env(env)
    if from_env:
        _check_address(from_env, "RAY_API_SERVER_ADDRESS / RAY_ADDRESS")
        return Target(from_env, False, "environment")
    if sum(bool(x) for x in (settings.address, settings.ssh, settings.k8s)) > 1:
        raise ValueError("the settings name more than one of address:, ssh: and k8s:; keep one")
    if settings.address:
        return Target(normalise_address(settings.address), False, "settings")
    if settings.ssh:
        return Target("", False, "settings", ssh=settings.ssh)
    if settings.k8s:
        return Target("", False, "settings", k8s=settings.k8s)
    if dashboard_answers(DEFAULT_ADDRESS):
        return Target(DEFAULT_ADDRESS, False, "running")
    return Target(DEFAULT_ADDRESS, True, "embedded")


def open_tunnel(target: Target, settings: Settings, args: argparse.Namespace):
    """The ssh tunnel for an --ssh target, opened (or a TunnelError / ValueError to print)."""
    from raycockpit.cockpit.tunnel import SshTarget, SshTunnel

    key = args.ssh_key or settings.ssh_key
    if args.remote_dashboard is not None and not 0 < args.remote_dashboard < 65536:
        raise ValueError(f"--remote-dashboard = {args.remote_dashboard}: expected a port 1..65535")
    tunnel = SshTunnel(
        SshTarget.parse(target.ssh or ""),
        remote_port=args.remote_dashboard or settings.remote_dashboard,
        key=str(Path(key).expanduser()) if key else None,
        options=[
            str(Path(o).expanduser()) if o.startswith("~") else o for o in settings.ssh_options
        ],
        connect_timeout=min(settings.request_timeout, 15.0),
    )
    say(
        f"raycockpit: opening an ssh tunnel to {tunnel.target} (dashboard :{tunnel.remote_port})..."
    )
    tunnel.open()
    return tunnel


def open_forward(settings: Settings):
    """The kubectl port-forward of a k8s target, opened (or a TunnelError to print)."""
    from raycockpit.cockpit.fleet import make_tunnel

    forward = make_tunnel(settings)
    say(f"raycockpit: opening kubectl port-forward to {forward.target} (:{forward.remote_port})...")
    forward.open()
    return forward


def say(text: str) -> None:
    """One line on stderr; silent when the terminal is gone (after a hangup)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


async def _once(
    address: str, settings: Settings, as_json: bool, via: str = "", remote_port: int = 0
) -> int:
    from raycockpit.cockpit.client import DashboardClient
    from raycockpit.cockpit.poller import Poller
    from raycockpit.cockpit.report import snapshot_json, snapshot_text

    async with DashboardClient(
        address, token=settings.token(), timeout=settings.request_timeout
    ) as client:
        snap = await Poller(client).poll_once()
    if not snap.connected:
        if via:  # the link is up, so the far end's dashboard is what does not answer
            say(
                f"raycockpit: the link to {via} is up, but no Ray dashboard answers on its "
                f"port {remote_port} — start Ray there, or name the port with "
                "--remote-dashboard PORT"
            )
        else:
            say(f"raycockpit: {snap.connection_error}")
        return EXIT_UNREACHABLE
    sys.stdout.write(snapshot_json(snap) + "\n" if as_json else snapshot_text(snap))
    return 0


async def _once_fleet(settings: Settings, as_json: bool) -> int:
    """--once --all-contexts: every context asked at once, one row each; exit 0 when all answer,
    EXIT_UNREACHABLE when one does not (its row says why)."""
    import json

    from raycockpit.cockpit.fleet import FleetWatcher
    from raycockpit.cockpit.report import fleet_text

    contexts = {name: settings.for_context(name) for name in settings.contexts}
    if not contexts:
        say("raycockpit: --all-contexts: the settings name no contexts: (see the README)")
        return EXIT_UNREACHABLE
    watcher = FleetWatcher(contexts, lambda row: None)
    try:
        rows = await watcher.poll_all_once()
    finally:
        await watcher.close()
    if as_json:
        sys.stdout.write(json.dumps([r.as_dict() for r in rows], indent=2) + "\n")
    else:
        sys.stdout.write(fleet_text(rows))
    return 0 if all(r.reachable for r in rows) else EXIT_UNREACHABLE


COMMANDS = ("config", "k8s", "postmortem")


def looks_like_address(word: str) -> bool:
    return any(c in word for c in ".:/[") or word == "localhost"


def positional_problem(word: str, flag: str | None) -> str | None:
    """Why the one positional word cannot be the address (a command mistyped, the address given
    twice), or None."""
    if flag is not None:
        return f"give the address once: {word!r} or --address {flag!r}"
    if not looks_like_address(word):
        near = difflib.get_close_matches(word, COMMANDS, n=1)
        hint = f"; did you mean raycockpit {near[0]}?" if near else ""
        return (
            f"{word!r} is neither a dashboard URL (http://HOST:8265) nor a command "
            f"({', '.join(COMMANDS)}){hint}"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["config"]:  # raycockpit config check FILE: the cluster-config doctor
        from raycockpit.cockpit.config_cli import main as config_main

        return config_main(argv[1:])
    if argv[:1] == ["k8s"]:  # raycockpit k8s manifest FILE: a KubeRay RayCluster
        from raycockpit.cockpit.config_cli import k8s_main

        return k8s_main(argv[1:])
    if argv[:1] == ["postmortem"]:  # raycockpit postmortem [list | show ID]: no cluster asked
        from raycockpit.cockpit.postmortem_cli import main as postmortem_main

        return postmortem_main(argv[1:])
    if argv and not argv[0].startswith("-") and not looks_like_address(argv[0]):
        say(f"raycockpit: {positional_problem(argv[0], None)}")  # a command mistyped
        return EXIT_UNREACHABLE
    args = build_parser().parse_args(argv)
    if args.address_arg is not None:  # `raycockpit http://head:8265`, as people type it
        problem = positional_problem(args.address_arg, args.address)
        if problem:
            say(f"raycockpit: {problem}")
            return EXIT_UNREACHABLE
        args.address = args.address_arg
    overrides = {
        "refresh": args.refresh,
        "keep_cluster": args.keep_cluster or None,
        "readonly": args.readonly or None,
    }
    try:  # the file, then the flags over it, validated alike: one line per problem, exit 2
        settings = Settings.load(path=Path(args.config) if args.config else None)
        settings = settings.updated(
            {k: v for k, v in overrides.items() if v is not None},
            names={
                "refresh": "--refresh",
                "keep_cluster": "--keep-cluster",
                "readonly": "--readonly",
            },
        )
    except ValueError as exc:
        for line in str(exc).splitlines():
            say(f"raycockpit: {line}")
        return EXIT_UNREACHABLE
    base = settings
    if args.replay or args.at:  # a recording instead of a cluster
        from raycockpit.cockpit.replay_cli import run_replay

        return run_replay(args, settings)
    if args.record and args.once:
        say("raycockpit: --record keeps a session of the cockpit; --once prints one snapshot")
        return EXIT_UNREACHABLE
    if args.all_contexts:
        if not args.once:
            say("raycockpit: --all-contexts goes with --once (the cockpit has the Fleet pane: 9)")
            return EXIT_UNREACHABLE
        return asyncio.run(_once_fleet(base, args.json))
    context = args.context or (None if (args.address or args.ssh) else settings.context)
    if context is not None:
        if args.address or args.ssh:
            say("raycockpit: give either --context or --address / --ssh, not both")
            return EXIT_UNREACHABLE
        try:
            settings = base.for_context(context)
        except ValueError as exc:
            say(f"raycockpit: {exc}")
            return EXIT_UNREACHABLE

    from raycockpit.cockpit.errors import TunnelError

    tunnel = None
    try:
        settings.token()  # a token_path that cannot be read: said now, not on every request
        if context is not None and settings.k8s:
            target = Target("", False, f"--context {context}", k8s=settings.k8s)
        elif context is not None:  # the context's place, over RAY_ADDRESS and the like
            target = resolve_target(settings.address, settings, ssh_flag=settings.ssh)
            target = Target(target.address, False, f"--context {context}", ssh=target.ssh)
        else:
            target = resolve_target(args.address, settings, ssh_flag=args.ssh)
        if target.ssh:
            tunnel = open_tunnel(target, settings, args)
            target = Target(tunnel.address, False, target.source, ssh=target.ssh)
        elif target.k8s:
            tunnel = open_forward(settings)
            target = Target(tunnel.address, False, target.source, k8s=target.k8s)
    except (ValueError, TunnelError) as exc:
        say(f"raycockpit: {exc}")
        return EXIT_UNREACHABLE
    try:
        if args.web:
            from raycockpit.cockpit.web_cli import serve_web

            return serve_web(target, settings, args)
        if args.once:
            if target.embedded:
                say(
                    f"raycockpit: no Ray dashboard answers on {target.address} — "
                    "start one (raycockpit without --once starts a local head) "
                    "or pass --address URL or --ssh HOST"
                )
                return EXIT_UNREACHABLE
            via, port = (str(tunnel.target), tunnel.remote_port) if tunnel else ("", 0)
            return asyncio.run(
                _once(target.address, settings, args.json, via=via, remote_port=port)
            )
        return _run_app(
            target,
            settings,
            tunnel,
            base,
            record=args.record,
            settings_path=settings_file(Path(args.config) if args.config else None),
        )
    finally:
        if tunnel is not None:
            tunnel.shut_down()


def _run_app(
    target: Target,
    settings: Settings,
    tunnel,
    base: Settings | None = None,
    record: str | None = None,
    settings_path: Path | None = None,
) -> int:
    from raycockpit.cockpit.command_log import command_log_file
    from raycockpit.cockpit.gc_pacing import quiet_start
    from raycockpit.cockpit.kept_heads import KeptHead
    from raycockpit.cockpit.local import LocalHead
    from raycockpit.screens.app import make_app

    head = LocalHead() if target.embedded else None
    kept = None if (target.embedded or tunnel) else KeptHead.find(target.address)
    app = make_app(
        settings,
        address=target.address,
        head=head,
        kept_head=kept,
        tunnel=tunnel,
        base_settings=base,
        record=record,
        settings_path=settings_path,
        command_log_path=command_log_file(),
    )
    quiet_start()  # GC policy: cockpit/gc_pacing.py
    try:
        app.run()
    finally:
        # The app has left (q, :quit, or a hangup / SIGTERM / SIGINT it turned into the same exit).
        # A second hangup or ^C must not cut the head's stop short: it is bounded by itself.
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        if (
            head is not None and head.pid is not None
        ):  # started, or still starting when the user quit
            if settings.keep_cluster and app.head_started:
                KeptHead.record(head)
                say(
                    f"raycockpit: the local Ray head keeps running at {head.dashboard_url} "
                    f"(pid {head.pid}); the next raycockpit attaches to it and :stop-head stops it"
                )
            else:
                say("raycockpit: stopping the local Ray head...")
                head.stop()
    if head is not None and not app.head_started and head.log_path is not None and app.return_code:
        say(f"raycockpit: the local head did not start; see {head.log_path}")
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
