"""Record -> replay on the real test head: a cockpit session recorded with `record=` (what
`--record FILE` does) while a job with secrets in its environment runs and its screen is open;
then the same cockpit on the recording alone (`--replay`): the Nodes table and the job screen
show what the session showed, the clock's keys move in time, nothing can change a cluster, and
no secret is in the file."""

from __future__ import annotations

import gzip
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from raycockpit.cockpit import clock as wall_clock
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.parse import parse_job
from raycockpit.cockpit.recording import REDACTED
from raycockpit.cockpit.replay import ReplayClock, load_recording, replay_client
from raycockpit.screens.app import make_app
from raycockpit.screens.job import JobScreen
from tests.ui.helpers import table_rows, wait_for

pytestmark = pytest.mark.cluster
SIZE = (130, 40)
TOKEN = "rc-test-token-5d1e0c9b"  # sent as the Authorization header (the test head ignores it)
SECRETS = {"WANDB_API_KEY": "wandb-9f8e7d", "DB_PASSWORD": "pw-hunter2"}
PROGRAM = (
    "import os, time\n"
    "for i in range(5):\n"
    "    print(f'step {i} of the recorded job', flush=True)\n"
    "    time.sleep(0.4)\n"
    "print('password is', os.environ['DB_PASSWORD'])\n"
)


def cockpit(*args: str) -> subprocess.CompletedProcess:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).with_name("raycockpit")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=60)


async def test_a_real_session_recorded_then_replayed(ray_head, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    path = tmp_path / "session.rcrec"
    settings = Settings(refresh=0.5, token_path=str(token_file))
    async with DashboardClient(ray_head.dashboard_url, discover=False) as client:
        submission = await client.submit_job(
            shlex.join(["python", "-c", PROGRAM]),
            runtime_env={"env_vars": SECRETS},
        )
        job = parse_job(await client.get_job(submission))
    assert job is not None

    app = make_app(settings, address=ray_head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.client is not None, what="the app connected")
        await pilot.press("colon", *f"record {path}", "enter")  # as a user starts one
        await wait_for(pilot, lambda: app.recorder is not None, what="the recorder started")
        await pilot.press("2")
        nodes = app.query_one("#nodes-table")
        await wait_for(pilot, lambda: nodes.row_count == 1, what="the head in the nodes table")
        app.open_job(job)
        await wait_for(pilot, lambda: isinstance(app.screen, JobScreen), what="the job screen")
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#job-log"), what="the job screen composed")
        log = screen.query_one("#job-log")
        await wait_for(pilot, lambda: screen.job.terminal, timeout=120, what="the job to end")
        await wait_for(pilot, lambda: screen.tail.state == "ended", what="the tail to end")
        assert screen.job.status == "SUCCEEDED", screen.job.message
        # what the replay must show: the session's lines, the secret the job printed cut out
        recorded_log = [line.replace(SECRETS["DB_PASSWORD"], REDACTED) for line in log.lines]
        assert f"password is {REDACTED}" in recorded_log, recorded_log
        await pilot.press("escape")  # left and opened again: its new tail starts from line one
        app.open_job(job)
        await wait_for(pilot, lambda: app.screen is screen, what="the job screen again")
        await wait_for(
            pilot,
            lambda: screen.tail.state == "ended" and log.line_count == len(recorded_log),
            what="the log shown again",
        )
        assert any("step 4 of the recorded job" in line for line in recorded_log)
        await pilot.press("escape", "p")  # pause: the last answers are the ones shown
        await pilot.pause(1.5)
        recorded_nodes = table_rows(nodes)
        status = app.query_one("#status").render().plain
        assert "● rec session.rcrec" in status, status
        await pilot.press("colon", *"stop-record", "enter")
        assert app.recorder is None
        await wait_for(
            pilot,
            lambda: any("recording saved" in str(n.message) for n in app._notifications),
            what="the recording saved",
        )

    raw = gzip.decompress(path.read_bytes()).decode()
    for secret in (TOKEN, *SECRETS.values()):
        assert secret not in raw, f"{secret} is in the recording"
    assert "WANDB_API_KEY" in raw  # the name is kept, its value left out
    recording = load_recording(path)
    assert recording.address == ray_head.dashboard_url
    # the open tail was recorded, each line once though the screen showed it twice
    assert recording.log_lines(job.key, recording.end) == recorded_log

    # --replay FILE --once --json --at TIME: the snapshot of that moment, for scripts
    printed = cockpit("--replay", str(path), "--once", "--json", "--at", "end")
    assert printed.returncode == 0, printed.stderr
    snap = json.loads(printed.stdout)
    assert [n["ip"] for n in snap["nodes"]] == ["127.0.0.1"]
    assert {j["submission_id"]: j["status"] for j in snap["jobs"]}[job.key] == "SUCCEEDED"
    for args, said in (
        (("--at", "99:00"), "the recording is only"),
        (("--at", "soon"), "give seconds from the recording's start"),
        (("--address", ray_head.dashboard_url), "--replay asks no cluster: leave out --address"),
    ):
        bad = cockpit("--replay", str(path), "--once", *args)
        assert bad.returncode == 2 and said in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "notes.txt").write_text("not a recording")
    bad = cockpit("--replay", str(tmp_path / "notes.txt"), "--once")
    assert bad.returncode == 2 and "is not a raycockpit recording" in bad.stderr, bad.stderr

    replay_clock = ReplayClock(recording.start, recording.end, at=recording.end)
    try:
        replayed = make_app(
            Settings(refresh=0.5, readonly=True),
            client=replay_client(recording, replay_clock),
            replay_clock=replay_clock,
        )
        async with replayed.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            nodes = replayed.query_one("#nodes-table")
            await wait_for(pilot, lambda: nodes.row_count == 1, what="the replayed head")
            await wait_for(
                pilot, lambda: table_rows(nodes) == recorded_nodes, what="the recorded rows"
            )
            status = replayed.query_one("#status").render().plain
            assert "replay ‖ paused" in status and "━●" in status, status
            await wait_for(pilot, lambda: replayed.snapshot is not None, what="a snapshot")
            replayed.open_job(next(j for j in replayed.snapshot.jobs if j.key == job.key))
            await wait_for(
                pilot, lambda: isinstance(replayed.screen, JobScreen), what="the job screen"
            )
            screen = replayed.screen
            await wait_for(pilot, lambda: screen.query("#job-log"), what="composed")
            log = screen.query_one("#job-log")
            await wait_for(
                pilot, lambda: list(log.lines) == recorded_log, what="the recorded log lines"
            )
            assert screen.job.status == "SUCCEEDED"
            assert not screen.check_action("delete", ())  # read-only: nothing to change
            await pilot.press("escape", "less_than_sign")  # the start of the recording
            assert replay_clock.offset == 0.0
            await pilot.press("right_square_bracket")
            assert replay_clock.offset == pytest.approx(min(10.0, replay_clock.length))
            await pilot.press("greater_than_sign")
            assert replay_clock.now() == recording.end
    finally:
        wall_clock.follow(None)  # the app does it at exit; a failed test too
