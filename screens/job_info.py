"""One job in full: entrypoint, runtime_env, metadata, times, status message (the job screen's
`i`)."""

from __future__ import annotations

import json

from rich.console import Group
from rich.table import Table
from rich.text import Text

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import human_duration, timestamp
from raycockpit.cockpit.models import Job, Why
from raycockpit.screens.styles import BAD, OK, WARN
from raycockpit.screens.widgets.render import status_text


def why_rows(info: Table, why: Why) -> None:
    """The full "Why pending?" answer: reason, fix, the evidence, one row each."""
    title = (
        "Why failed" if why.category == "runtime_env_failed" and not why.waited_s else "Why pending"
    )
    info.add_row(title, Text(f"{why.reason} [{why.category}]", style=WARN))
    info.add_row("Fix", Text(why.fix, style=OK))
    if why.evidence:
        info.add_row("Evidence", Text("\n".join(why.evidence), style="dim"))


def job_view(job: Job, why: Why | None = None) -> Group:
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_row("Submission id", job.submission_id or "-")
    info.add_row("Job id", job.job_id or "-")
    info.add_row("Status", status_text(job.status))
    info.add_row("Entrypoint", Text(job.entrypoint))
    info.add_row("Started", timestamp(job.start_time_ms))
    info.add_row("Ended", timestamp(job.end_time_ms))
    info.add_row("Duration", human_duration(job.duration_s(clock.now() * 1000)))
    if why is not None:
        why_rows(info, why)
    if job.message:
        info.add_row("Message", Text(job.message, style=BAD if job.status == "FAILED" else ""))
    if job.error_type:
        info.add_row("Error type", Text(job.error_type, style=BAD))
    if job.driver_exit_code is not None:
        info.add_row("Exit code", str(job.driver_exit_code))
    if job.runtime_env:
        info.add_row("runtime_env", Text(json.dumps(job.runtime_env, indent=1, sort_keys=True)))
    if job.metadata:
        info.add_row(
            "Metadata", Text("\n".join(f"{k} = {v}" for k, v in sorted(job.metadata.items())))
        )
    return Group(info)
