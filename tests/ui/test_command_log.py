"""ctrl+l against the real head: a job submitted from the form and stopped from its screen are
both in the command log, with their REST call and `ray` line, the secret env var left out, and
`c` copies the selected line."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from pathlib import Path

import pytest
from textual.widgets import DataTable

from raycockpit.cockpit.config import Settings
from raycockpit.screens.app import make_app
from raycockpit.screens.command_log import CommandLogScreen
from raycockpit.screens.job import JobScreen
from tests.ui.helpers import screen_text, wait_for
from tests.ui.replay import replay_client
from tests.ui.test_launch import SIZE, open_form, type_into

pytestmark = pytest.mark.cluster
SECRET = "hf_s3cretvalue"


async def test_submit_and_stop_are_in_the_command_log(ray_head, client, tmp_path):
    kept = tmp_path / "commands.jsonl"
    app = make_app(Settings(refresh=0.5), address=ray_head.dashboard_url, command_log_path=kept)
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "custom")
        await type_into(pilot, "entrypoint", 'python -c "import time; time.sleep(60)"')
        await type_into(pilot, "opt-env_vars", f"HF_TOKEN={SECRET} A=1")
        await pilot.press("ctrl+r")
        await wait_for(
            pilot, lambda: isinstance(app.screen, JobScreen), timeout=60, what="the job screen"
        )
        job_id = app.screen.job_id
        await pilot.press("x")
        await pilot.press("y")
        await wait_for(pilot, lambda: len(app.command_log) == 2, timeout=30, what="the stop")

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandLogScreen), what="ctrl+l")
        screen = app.screen
        table = screen.query_one(DataTable)
        assert table.row_count == 2
        stop, submit = screen._shown  # newest first
        assert (stop.action, stop.target, stop.ok) == ("job stop", job_id, True)
        assert stop.rest == f"POST /api/jobs/{job_id}/stop"
        assert stop.cli == shlex.join(
            ["ray", "job", "stop", "--address", ray_head.dashboard_url, job_id]
        )
        assert (submit.action, submit.result) == ("job submit", f"ok: {job_id}")
        assert submit.method == "POST" and submit.path == "/api/jobs/"
        assert submit.body["runtime_env"] == {"env_vars": {"A": "1"}}
        words = shlex.split(submit.cli)
        assert words[:5] == ["ray", "job", "submit", "--address", ray_head.dashboard_url]
        assert json.loads(words[words.index("--runtime-env-json") + 1]) == {"env_vars": {"A": "1"}}
        # Ray joins the words after `--` with shlex.join: a shell string that does not come
        # back from that byte for byte goes through `bash -c`, as the job's own shell runs it
        entrypoint = (await client.get_job(job_id))["entrypoint"]
        assert words[words.index("--") + 1 :] == ["bash", "-c", entrypoint]
        assert "env_vars.HF_TOKEN" in submit.full_note
        # the form's fields kept in the job's metadata (for resubmit) hold it too: cut there
        assert "metadata.raycockpit.options HF_TOKEN" in submit.full_note
        for entry in (stop, submit):
            for text in (entry.rest, entry.curl, entry.cli):
                assert SECRET not in text

        detail = screen_text(screen.query_one("#commands-detail"))
        assert stop.cli in detail and stop.rest in detail  # the stop row is selected first
        await pilot.press("down")
        detail = screen_text(screen.query_one("#commands-detail"))
        assert submit.cli in detail and "left out" in detail
        capture(screen, detail)
        await pilot.press("c")
        assert app.clipboard == submit.cli
        await pilot.press("u")
        assert app.clipboard == submit.curl
        await pilot.press("escape")
        assert not isinstance(app.screen, CommandLogScreen)
    for _ in range(120):  # the stop took: Ray ends the job (a loaded box takes a while)
        if (await client.get_job(job_id))["status"] in {"STOPPED", "FAILED"}:
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError(f"{job_id} did not stop")

    # the next session (a replay here: no cluster needed) reads both back, the secret nowhere
    assert len(kept.read_text().splitlines()) == 2 and SECRET not in kept.read_text()
    later = make_app(Settings(refresh=3600), client=replay_client(), command_log_path=kept)
    async with later.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(later.screen, CommandLogScreen), what="ctrl+l")
        screen = later.screen
        assert [(c.action, c.target, c.result) for c in screen._shown] == [
            ("job stop", job_id, "ok: stop requested"),
            ("job submit", "", f"ok: {job_id}"),
        ]
        title = screen_text(screen.query_one("#commands-title"))
        assert title.startswith("Command log: 2 calls that changed a cluster (2 in earlier"), title
        assert str(kept) in title.replace("\n", "")  # (under the test's tmp, not ~)
        assert all(c.earlier for c in screen._shown)
        detail = screen_text(screen.query_one("#commands-detail"))
        assert f"on {ray_head.dashboard_url}" in detail and stop.cli in detail


def capture(screen: CommandLogScreen, detail: str) -> None:
    """With RAYCOCKPIT_CAPTURE=FOLDER: what the screen shows, as text, for the README."""
    folder = os.environ.get("RAYCOCKPIT_CAPTURE")
    if not folder:
        return
    title = screen_text(screen.query_one("#commands-title"))
    rows = [f"  {e.when}  {e.action:<12} {e.target:<28} {e.result}" for e in screen._shown]
    keys = screen_text(screen.query_one("#commands-keys"))
    text = "\n".join([title, *rows, "", detail, keys])
    Path(folder, "command_log.txt").write_text(text + "\n")
