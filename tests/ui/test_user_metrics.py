"""The job screen charts a Tune program that knows nothing of raycockpit (no cockpit events, only
`tune.report`; tests/fixtures/user_programs/tune_user.py) on the real test head: its trials and
scores from Ray's printed tables, and its `ray.util.metrics` counter from the head's metrics
export port, scraped by the app's own worker while the screen is open."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.packaging import build_package, ensure_uploaded
from raycockpit.cockpit.parse import parse_job
from raycockpit.screens.app import make_app
from raycockpit.screens.job import JobScreen
from tests.ui.helpers import table_rows, wait_for

pytestmark = pytest.mark.cluster

PROGRAMS = Path(__file__).resolve().parents[1] / "fixtures" / "user_programs"


async def test_a_users_tune_program_on_the_job_screen(ray_head, tmp_path):
    async with DashboardClient(ray_head.dashboard_url, discover=False) as client:
        uri = await ensure_uploaded(client, build_package(PROGRAMS, include=None))
        env = {"working_dir": uri, "env_vars": {"OUT": str(tmp_path)}}
        submission = await client.submit_job("python tune_user.py", runtime_env=env)
        job = parse_job(await client.get_job(submission))
    assert job is not None
    app = make_app(Settings(refresh=0.5), address=ray_head.dashboard_url)
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: app.client is not None, what="the app connected")
        app.open_job(job)
        await wait_for(pilot, lambda: isinstance(app.screen, JobScreen), what="the job screen")
        screen = app.screen
        series = screen.series
        await wait_for(pilot, lambda: screen.job.terminal, timeout=200, what="the job to end")
        await wait_for(
            pilot,
            lambda: (
                len(series.trials) == 3
                and all(t.state == "TERMINATED" for t in series.trials.values())
            ),
            timeout=30,
            what="three trials TERMINATED",
        )
        assert screen.job.status == "SUCCEEDED"
        scores = sorted(
            points[-1] for name, points in series.series.items() if name.startswith("score [")
        )
        assert scores == [(4.0, 1.0), (4.0, 5.0), (4.0, 10.0)], series.series.keys()
        for trial in series.trials.values():  # each printed point: lr * (1 + .. + iteration)
            index, lr = trial.trial_id.rsplit("_", 1)[-1], trial.config["lr"]
            for step, value in series.series[f"score [{index}] (tune log)"]:
                assert math.isclose(value, lr * step * (step + 1) / 2, rel_tol=1e-4), (step, value)
        counter = "user_tune_steps_total (prometheus)"
        await wait_for(
            pilot,
            lambda: series.series.get(counter) and series.series[counter][-1][1] == 12.0,
            timeout=90,
            what="the user's counter at 12 from the metrics port",
        )
        panel = screen.query_one("#job-metrics")
        await wait_for(pilot, lambda: not panel.has_class("-empty"), what="the charts shown")
        assert not panel.border_subtitle  # the metrics port answered
        names = panel.plotted_names()
        assert "score [00002] (tune log)" in names and counter in names
        table = panel.query_one("#metrics-trials")
        # the panel redraws on the screen's beat (twice a second): the log's last lines, which
        # ended the trials in the series just now, reach the table at the next beat
        await wait_for(
            pilot,
            lambda: all("TERMINATED" in row for row in table_rows(table)),
            timeout=10,
            what="the trials table to show the three trials TERMINATED",
        )
        rows = table_rows(table)
        assert len(rows) == 3, rows
        starred = [row for row in rows if "★" in row]  # the best: lr=1, score 10
        assert len(starred) == 1 and starred[0][1].endswith("_00002"), rows
