"""How big a recording gets: a cockpit session on the local cluster recorded with `--record`
(cockpit/recording.py), against the target "a 10-minute session stays under a few MB".

    .venv/bin/python benchmarks/recording_size.py [--minutes 10] [--refresh 2]

One loopback head of its own (isolated ports, a fresh temp dir), started and stopped by this
script (by its pid). The real app (headless, Textual's Pilot: the same code as the console
script) records for `--minutes` at the default refresh, the way a person uses it: every pane in
turn (20 s each), and a job that prints a line a second for the whole session with its screen
(log tail and metrics) open for a third of the time. Printed: the file's size, the answers and
log lines it holds, the distinct bodies, and the raw bytes those answers were on the wire.

Every figure is one line: `bench <name>: <value> (target <op> <target>) ok|short`.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import shlex
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raycockpit.cockpit.client import DashboardClient  # noqa: E402
from raycockpit.cockpit.config import Settings  # noqa: E402
from raycockpit.cockpit.local import HeadPorts, LocalHead  # noqa: E402
from raycockpit.cockpit.parse import parse_job  # noqa: E402
from raycockpit.cockpit.replay import load_recording  # noqa: E402
from raycockpit.screens.app import PANES, make_app, pane_key  # noqa: E402

TARGET_MB_PER_10_MIN = 5.0
PRINTER = (
    "import time\n"
    "for i in range(100000):\n"
    "    print(f'step {i} loss {1 / (i + 1):.4f}', flush=True)\n"
    "    time.sleep(1)\n"
)


async def session(url: str, path: Path, minutes: float, refresh: float) -> dict:
    async with DashboardClient(url, discover=False) as client:
        submission = await client.submit_job(shlex.join(["python", "-c", PRINTER]))
        job = parse_job(await client.get_job(submission))
    app = make_app(Settings(refresh=refresh), address=url, record=str(path))
    end = time.monotonic() + minutes * 60
    async with app.run_test(size=(120, 40)) as pilot:
        while app.recorder is None:
            await pilot.pause(0.2)
        recorder = app.recorder
        panes = [pane_key(i, name) for i, (name, _) in enumerate(PANES)]
        turn = 0
        while time.monotonic() < end:
            left = end - time.monotonic()
            if turn % 3 == 2 and job is not None:  # a third of the turns: the job's screen
                app.open_job(job)
            else:
                if app.screen is not app.screen_stack[0]:
                    await pilot.press("escape")
                await pilot.press(panes[turn % len(panes)])
            await pilot.pause(min(20.0, max(left, 0.1)))
            turn += 1
        answers, lost = recorder.answers, recorder.lost
        async with DashboardClient(url, discover=False) as client:
            await client.stop_job(submission)
    recording = load_recording(path)
    raw_bytes = sum(len(recording.bodies[a.sha]) for v in recording.answers.values() for a in v)
    lines = sum(len(lines) for v in recording.logs.values() for _, lines in v)
    return {
        "answers": answers,
        "lost": lost,
        "bodies": len(recording.bodies),
        "log_lines": lines,
        "answered_bytes": raw_bytes,
        "text_bytes": len(gzip.decompress(path.read_bytes())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--refresh", type=float, default=2.0)
    args = parser.parse_args()
    temp_dir = tempfile.mkdtemp(prefix="rc-bench-rec-")
    head = LocalHead(ports=HeadPorts.isolated(), temp_dir=temp_dir)
    head.start()
    try:
        path = Path(tempfile.mkdtemp(prefix="rc-bench-rec-file-")) / "session.rcrec"
        figures = asyncio.run(session(head.dashboard_url, path, args.minutes, args.refresh))
    finally:
        head.stop()
    size_mb = path.stat().st_size / 1e6
    per_10 = size_mb * 10 / args.minutes
    print(
        f"recording of {args.minutes:g} min at refresh {args.refresh:g} s: {size_mb:.2f} MB "
        f"({figures['answers']} answers, {figures['lost']} lost, {figures['bodies']} distinct "
        f"bodies, {figures['log_lines']} log lines; the answers were "
        f"{figures['answered_bytes'] / 1e6:.1f} MB as text, the file's text "
        f"{figures['text_bytes'] / 1e6:.1f} MB before gzip)"
    )
    ok = "ok" if per_10 <= TARGET_MB_PER_10_MIN else "short"
    print(
        f"bench recording_mb_per_10_min: {per_10:.2f} MB (target <= {TARGET_MB_PER_10_MIN:g} MB)"
        f" {ok}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
