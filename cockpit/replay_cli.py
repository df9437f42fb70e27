"""`raycockpit --replay FILE [--at TIME] [--once [--json]]`: a recording (cockpit/replay.py), or
the one in a post-mortem bundle, opened instead of a cluster: in the app (readonly), or with
--once as one snapshot of a moment for scripts. No cluster is asked."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from raycockpit.cockpit.cli import EXIT_UNREACHABLE, say
from raycockpit.cockpit.config import Settings, settings_file
from raycockpit.cockpit.recording import RecordingError
from raycockpit.cockpit.replay import ReplayClock, load_recording, parse_at, replay_client


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    """--replay FILE [--at TIME] [--once [--json]]: a recording instead of a cluster."""
    if not args.replay:
        say("raycockpit: --at goes with --replay FILE (a moment of a recording)")
        return EXIT_UNREACHABLE
    others = [
        flag
        for flag, given in (
            ("--address", args.address),
            ("--ssh", args.ssh),
            ("--context", args.context),
            ("--all-contexts", args.all_contexts),
            ("--record", args.record),
        )
        if given
    ]
    if others:
        say(f"raycockpit: --replay asks no cluster: leave out {', '.join(others)}")
        return EXIT_UNREACHABLE
    source = Path(args.replay).expanduser()
    if not source.exists():  # a post-mortem's job or node id: its bundle in the folder
        from raycockpit.cockpit.postmortem import bundle_id, folder_for

        folder = folder_for(settings.postmortem_dir)
        names = (args.replay, bundle_id("job", args.replay), bundle_id("node", args.replay))
        source = next((folder / n for n in names if (folder / n).is_dir()), source)
    try:
        recording = load_recording(source)
        clock = ReplayClock(recording.start, recording.end)
        if args.at:
            clock.seek(parse_at(args.at, clock))
    except (RecordingError, ValueError) as exc:
        say(f"raycockpit: {exc}")
        return EXIT_UNREACHABLE
    if args.once:
        from raycockpit.cockpit import clock as wall_clock

        wall_clock.follow(clock.now)  # ages and durations as they were at that moment
        return asyncio.run(_once_replay(recording, clock, args.json))
    from raycockpit.screens.app import make_app

    settings = settings.updated({"readonly": True, "contexts": {}, "context": None})
    app = make_app(
        settings,
        client=replay_client(recording, clock),
        replay_clock=clock,
        settings_path=settings_file(Path(args.config) if args.config else None),
    )
    app.run()
    return app.return_code or 0


async def _once_replay(recording, clock, as_json: bool) -> int:
    from raycockpit.cockpit.poller import Poller
    from raycockpit.cockpit.report import snapshot_json, snapshot_text

    async with replay_client(recording, clock) as client:
        snap = await Poller(client).poll_once()
    if not snap.connected:
        say(f"raycockpit: the recording has no answer of the dashboard: {snap.connection_error}")
        return EXIT_UNREACHABLE
    sys.stdout.write(snapshot_json(snap) + "\n" if as_json else snapshot_text(snap))
    return 0
