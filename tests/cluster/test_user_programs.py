"""Programs written as users write them (tests/fixtures/user_programs/: only `tune.report` /
`ray.train.report`, no cockpit events), run as jobs on the real test head: the series the job
screen builds from their logs (cockpit/printed_metrics.py) hold what they reported, and the head's
metrics export port (the session head exports metrics on a port of its own) gives the job's
`ray.util.metrics` series and its actors (cockpit/prom_metrics.py)."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import httpx
import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.models import TERMINAL_JOB_STATES
from raycockpit.cockpit.packaging import build_package, ensure_uploaded
from raycockpit.cockpit.parse import parse_nodes
from raycockpit.cockpit.printed_metrics import LogMetrics
from raycockpit.cockpit.prom_metrics import (
    job_metrics,
    job_places,
    metrics_targets,
    scrape_nodes,
)

pytestmark = pytest.mark.cluster

PROGRAMS = Path(__file__).resolve().parents[1] / "fixtures" / "user_programs"
JOB_TIMEOUT_S = 240.0


async def run_and_scrape(client, tmp_path, program: str) -> tuple[dict, str, list[dict]]:
    """Submit `program`, scrape the nodes' metrics for the job every 2 s until it has ended and
    a few beats after (Ray exports every ~10 s); the job, its log and every beat's metrics."""
    uri = await ensure_uploaded(client, build_package(PROGRAMS, include=None))
    env = {
        "working_dir": uri,
        # Train's report blocks until the controller polls (every 2 s by default)
        "env_vars": {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.1", "OUT": str(tmp_path)},
    }
    submission = await client.submit_job(f"python {program}", runtime_env=env)
    targets = metrics_targets(parse_nodes(await client.node_summary()))
    assert targets, "the test head says no metrics export port"
    beats: list[dict] = []
    deadline = time.monotonic() + JOB_TIMEOUT_S
    ended_at = None
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            job = await client.get_job(submission)
            if job.get("job_id"):
                workers = (await job_places(client, job["job_id"])).workers
                # (the agent answers in well under a second; on the loaded 2-core box, seconds)
                scrape = await scrape_nodes(http, targets, timeout=20.0)
                if not scrape.unreachable:
                    beats.append(job_metrics(scrape.samples, job["job_id"], workers))
            if job["status"] in TERMINAL_JOB_STATES:
                ended_at = ended_at or time.monotonic()
                if time.monotonic() - ended_at > 15 or _done(program, beats):
                    break
            await asyncio.sleep(2.0)
    return job, await client.job_logs(submission), beats


def _done(program: str, beats: list[dict]) -> bool:
    return program != "tune_user.py" or any(b.get("user_tune_steps_total") == 12.0 for b in beats)


async def test_a_users_train_program_is_charted_from_its_log(ray_head, tmp_path):
    async with DashboardClient(ray_head.dashboard_url, discover=False) as client:
        job, log, beats = await run_and_scrape(client, tmp_path, "train_user.py")
    assert job["status"] == "SUCCEEDED", log[-3000:]
    assert "@@cockpit" not in log
    metrics = LogMetrics()
    metrics.add_lines(log.splitlines())
    series = metrics.series.series
    losses = [0.7 ** (i + 1) for i in range(5)]
    assert [p[0] for p in series["loss (train log)"]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    got = [p[1] for p in series["loss (train log)"]]
    assert all(math.isclose(a, b) for a, b in zip(got, losses, strict=True)), got
    assert [p[1] for p in series["epoch (train log)"]] == [0, 1, 2, 3, 4]
    assert len(series["accuracy (train log)"]) == 5
    # Ray's own metrics labelled with the job's id: its actors (the TrainController, its worker)
    assert any(b.get("actors alive", 0) >= 1 for b in beats), beats[-3:]


async def test_two_ray_data_jobs_each_get_their_own_datasets_series(ray_head, tmp_path):
    """Ray Data's metrics all come from one shared stats actor (its worker runs tasks of every
    job that uses Ray Data): a job's series are its own datasets' (by their `job_id` label),
    never another job's, whatever workers the job's tasks name."""
    async with DashboardClient(ray_head.dashboard_url, discover=False) as client:
        uri = await ensure_uploaded(client, build_package(PROGRAMS, include=None))
        ids = {}
        for fn in ("double_a", "double_b"):
            env = {"working_dir": uri, "env_vars": {"FN": fn}}
            ids[fn] = await client.submit_job("python data_user.py", runtime_env=env)
        targets = metrics_targets(parse_nodes(await client.node_summary()))
        seen: dict[str, set[str]] = {fn: set() for fn in ids}
        deadline = time.monotonic() + JOB_TIMEOUT_S
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                jobs = {fn: await client.get_job(sub) for fn, sub in ids.items()}
                if all(j["status"] in TERMINAL_JOB_STATES for j in jobs.values()):
                    break
                scrape = await scrape_nodes(http, targets, timeout=20.0)
                for fn, job in jobs.items():
                    if job.get("job_id") and job["status"] == "RUNNING":
                        workers = (await job_places(client, job["job_id"])).workers
                        seen[fn] |= set(job_metrics(scrape.samples, job["job_id"], workers))
                await asyncio.sleep(2.0)
        logs = {fn: await client.job_logs(sub) for fn, sub in ids.items()}
    for fn, other in (("double_a", "double_b"), ("double_b", "double_a")):
        assert jobs[fn]["status"] == "SUCCEEDED", logs[fn][-3000:]
        mine = [name for name in seen[fn] if name.startswith("data_")]
        assert any(f"MapBatches({fn})" in name for name in mine), sorted(seen[fn])
        assert not any(other in name for name in mine), sorted(mine)
        # the attribution labels are not part of a series' name: one series per operator
        assert not any("dataset=" in name or "job_id=" in name for name in mine), sorted(mine)
