"""The Overview's Jobs card: the counts, then the live jobs (and why one waits) and the latest
ended ones (and what a failed one ended with). Before, it showed only running jobs' ids and
entrypoints: a failed job was a count, FAILED 1, and nothing more."""

from __future__ import annotations

import io

from rich.console import Console

from raycockpit.cockpit import clock
from raycockpit.cockpit.launch import JobOptions, build_custom_request
from raycockpit.cockpit.models import ClusterInfo, Job, PendingWork, Snapshot, Why
from raycockpit.screens.overview import RECENT_JOBS, jobs_card

NOW_MS = 1_800_000_000_000
FAILED = (
    "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 "
    "chars):\nTraceback (most recent call last):\nSystemExit: config file missing: /data/x.yaml"
)


def job(i: int, status: str, **kw) -> Job:
    ended = status in ("SUCCEEDED", "FAILED", "STOPPED")
    return Job(
        submission_id=f"raysubmit_{i}",
        job_id="",
        type="SUBMISSION",
        status=status,
        entrypoint=kw.pop("entrypoint", f"python job_{i}.py"),
        start_time_ms=NOW_MS - 600_000,
        end_time_ms=NOW_MS - i * 60_000 if ended else None,
        **kw,
    )


def lines(snap: Snapshot, width: int = 100) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(jobs_card(snap))
    return out.getvalue().rstrip("\n").split("\n")


def test_live_jobs_first_then_the_latest_ended_with_a_failures_error(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW_MS / 1000)
    tune = build_custom_request("python x.py", "", JobOptions())[0].metadata
    tune = {**tune, "raycockpit.spec": "tune"}
    jobs = (
        job(1, "SUCCEEDED", metadata=tune),
        job(2, "FAILED", message=FAILED),
        job(3, "RUNNING"),
        job(4, "PENDING", entrypoint="python big.py"),
        *[job(10 + i, "SUCCEEDED") for i in range(20)],
    )
    why = Why(
        "infeasible",
        "asks 64 CPU; the largest node has 2",
        "ask for less",
        short="no node has 64 CPU",
    )
    snap = Snapshot(
        info=ClusterInfo("x"), jobs=jobs, pending=PendingWork(why={"job:raysubmit_4": why})
    )
    shown = lines(snap)
    assert shown[0].startswith("FAILED 1  PENDING 1  RUNNING 1  SUCCEEDED 21"), shown
    assert len(shown) == 1 + RECENT_JOBS
    running, pending, succeeded, failed = shown[1:]
    assert running.startswith("RUNNING   10m") and "python job_3.py" in running
    assert pending.startswith("PENDING") and "python big.py" in pending
    assert pending.endswith("no node has 64 CPU")
    assert succeeded.startswith("SUCCEEDED 1m00s ago") and succeeded.rstrip().endswith("tune")
    assert failed.startswith("FAILED    2m00s ago") and failed.rstrip().endswith(
        "exit code 1: SystemExit: config file missing: /data/x.yaml"
    )


def test_no_jobs():
    assert lines(Snapshot(info=ClusterInfo("x"))) == ["no jobs yet"]
