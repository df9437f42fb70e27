"""`raycockpit --web`: its flags checked, then the cockpit served to browsers (screens/web.py,
textual-serve, imported only here), one cockpit process per tab on the cluster cli.py resolved;
the embedded head, when it is the target, started here once and stopped with the server."""

from __future__ import annotations

import argparse
import os
import signal

from raycockpit.cockpit.cli import EXIT_UNREACHABLE, Target, say
from raycockpit.cockpit.config import Settings


def serve_web(target: Target, settings: Settings, args: argparse.Namespace) -> int:
    """--web: one server for every tab; the embedded head (when it is the target) started here,
    once, and stopped when the server stops."""
    if args.once or args.record:
        say("raycockpit: --web serves the cockpit; leave out --once and --record")
        return EXIT_UNREACHABLE
    if not 0 < args.port < 65536:
        say(f"raycockpit: --port {args.port}: expected a port 1..65535")
        return EXIT_UNREACHABLE
    try:
        from raycockpit.screens.web import CockpitWebServer, is_loopback, tab_command
    except ImportError as exc:  # the web extra is not installed
        say(f"raycockpit: --web needs textual-serve ({exc}): pip install 'raycockpit[web]'")
        return EXIT_UNREACHABLE
    if not is_loopback(args.host) and not args.web_token:
        say(
            f"raycockpit: --web on {args.host} (not loopback) needs --web-token TOKEN: anyone who "
            "reaches that port could drive your cluster"
        )
        return EXIT_UNREACHABLE
    from raycockpit.cockpit.local import LocalHead, port_in_use

    if port_in_use(args.port, args.host if args.host != "localhost" else "127.0.0.1"):
        say(f"raycockpit: --web: {args.host}:{args.port} is in use; pick another with --port")
        return EXIT_UNREACHABLE
    head = None
    address = target.address
    if target.embedded:
        head = LocalHead()
        say("raycockpit: starting the local Ray head for the web cockpit...")
        try:
            head.start()
        except Exception as exc:  # LocalHeadError and what the start raised: one line
            say(f"raycockpit: the local head did not start: {exc}")
            head.stop()
            return EXIT_UNREACHABLE
        address = head.dashboard_url
        say(f"raycockpit: local Ray head at {address} (stopped with the server)")
    extra = []
    if args.config:
        extra += ["--config", args.config]
    if args.refresh is not None:
        extra += ["--refresh", str(args.refresh)]
    if settings.readonly:
        extra.append("--readonly")
    token = settings.token()
    if token:  # the tabs read it from their environment: never from, nor to, the page
        os.environ["RAY_AUTH_TOKEN"] = token
    server = CockpitWebServer(
        tab_command(address, extra), host=args.host, port=args.port, web_token=args.web_token
    )
    code = 0
    try:
        server.serve_until_signal()
    except OSError as exc:  # the port taken meanwhile, an address this machine does not have
        say(f"raycockpit: --web cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        code = EXIT_UNREACHABLE
    finally:
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        if head is not None:
            say("raycockpit: stopping the local Ray head...")
            head.stop()
    return code
