"""`raycockpit`: resolve where to connect (or start the embedded head), then run the app or
print one snapshot (--once). Imports stay lazy so --once never loads Textual."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from cockpit.config import DEFAULT_ADDRESS, Settings, address_from_env, normalise_address

EXIT_UNREACHABLE = 2


@dataclass(frozen=True)
class Target:
    address: str
    embedded: bool  # True: no cluster found, start and own a local head
    source: str  # what decided it: flag, env, running, embedded


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="raycockpit",
        description="A keyboard-driven terminal cockpit for Ray clusters. With no address it "
        "attaches to a dashboard on http://127.0.0.1:8265, or else starts and owns a local Ray head.",
    )
    p.add_argument("--address", help="dashboard URL of a running cluster, e.g. http://HOST:8265")
    p.add_argument("--refresh", type=float, help="seconds between polls (default 2)")
    p.add_argument("--once", action="store_true", help="print one snapshot as text and exit")
    p.add_argument("--json", action="store_true", help="with --once: print JSON instead of text")
    p.add_argument("--keep-cluster", action="store_true", help="leave the embedded local head running on exit")
    p.add_argument("--readonly", action="store_true", help="hide and refuse every action that changes the cluster")
    p.add_argument("--config", help="settings file (default ~/.config/raycockpit/cockpit.yaml)")
    p.add_argument("--version", action="version", version="raycockpit 0.1.0")
    return p


def dashboard_answers(address: str, timeout: float = 1.0) -> bool:
    import httpx

    from cockpit.local import port_in_use

    host_port = address.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    if host in ("127.0.0.1", "localhost") and port.isdigit() and not port_in_use(int(port), "127.0.0.1"):
        return False  # nothing listens: skip the HTTP round trip
    try:
        return httpx.get(f"{address}/api/version", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def resolve_target(flag: str | None, settings: Settings, env: dict[str, str] | None = None) -> Target:
    """--address; RAY_API_SERVER_ADDRESS or an http(s) RAY_ADDRESS; the settings file; a dashboard
    already answering on 127.0.0.1:8265; else an embedded local head."""
    if flag:
        return Target(normalise_address(flag), False, "--address")
    from_env = address_from_env(env)
    if from_env:
        return Target(from_env, False, "environment")
    if settings.address:
        return Target(normalise_address(settings.address), False, "settings")
    if dashboard_answers(DEFAULT_ADDRESS):
        return Target(DEFAULT_ADDRESS, False, "running")
    return Target(DEFAULT_ADDRESS, True, "embedded")


async def _once(address: str, settings: Settings, as_json: bool) -> int:
    from cockpit.client import DashboardClient
    from cockpit.poller import Poller
    from cockpit.report import snapshot_json, snapshot_text

    async with DashboardClient(address, timeout=settings.request_timeout) as client:
        snap = await Poller(client).poll_once()
    if not snap.connected:
        print(f"raycockpit: {snap.connection_error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    sys.stdout.write(snapshot_json(snap) + "\n" if as_json else snapshot_text(snap))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.load(path=None if not args.config else __import__("pathlib").Path(args.config))
    except ValueError as exc:
        print(f"raycockpit: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    overrides = {"refresh": args.refresh, "keep_cluster": args.keep_cluster or None, "readonly": args.readonly or None}
    settings = settings.__class__(**{**settings.__dict__, **{k: v for k, v in overrides.items() if v is not None}})
    if settings.refresh <= 0:
        print("raycockpit: --refresh must be a positive number of seconds", file=sys.stderr)
        return EXIT_UNREACHABLE

    target = resolve_target(args.address, settings)
    if args.once:
        if target.embedded:
            print(
                f"raycockpit: no Ray dashboard answers on {target.address} — start one (raycockpit "
                "without --once starts a local head) or pass --address URL",
                file=sys.stderr,
            )
            return EXIT_UNREACHABLE
        return asyncio.run(_once(target.address, settings, args.json))

    from cockpit.app import make_app
    from cockpit.local import LocalHead

    head = LocalHead() if target.embedded else None
    app = make_app(settings, address=target.address, head=head)
    try:
        app.run()
    finally:
        if head is not None and head.pid is not None:  # started, or still starting when the user quit
            if settings.keep_cluster and app.head_started:
                print(f"raycockpit: the local Ray head keeps running at {head.dashboard_url} "
                      f"(pid {head.pid}); stop it with: kill {head.pid}", file=sys.stderr)  # fmt: skip
            else:
                print("raycockpit: stopping the local Ray head...", file=sys.stderr)
                head.stop()
    if head is not None and not app.head_started and head.log_path is not None and app.return_code:
        print(f"raycockpit: the local head did not start; see {head.log_path}", file=sys.stderr)
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
