"""Jobs: one row per job (submission id, status, entrypoint, start, duration, message)."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import human_duration, timestamp
from raycockpit.cockpit.models import Job, Snapshot
from raycockpit.screens.base import TablePane
from raycockpit.screens.widgets.keyed_table import Column
from raycockpit.screens.widgets.render import status_text

COLUMNS = [
    Column("id", "Submission id"),
    Column("status", "Status"),
    Column("start", "Start"),
    Column("duration", "Duration"),
    Column("entrypoint", "Entrypoint", width=36),
    Column("message", "Message", width=36),
]
START_COLUMN = 2


def job_row(job: Job, now_ms: float) -> tuple[str, list, dict]:
    duration = job.duration_s(now_ms)
    cells = [
        job.submission_id or job.job_id,
        status_text(job.status),
        timestamp(job.start_time_ms),
        human_duration(duration),
        Text(job.entrypoint, overflow="ellipsis", no_wrap=True),
        Text(job.message.replace("\n", " "), overflow="ellipsis", no_wrap=True),
    ]
    sort = {"start": job.start_time_ms or 0, "duration": duration or 0}
    return job.key, cells, sort


class JobsPane(TablePane):
    TITLE = "Jobs"
    SECTIONS = ("jobs",)
    COLUMNS = COLUMNS
    SORT_COLUMN, SORT_REVERSE = START_COLUMN, True  # newest first

    class OpenJob(Message):
        def __init__(self, job: Job) -> None:
            super().__init__()
            self.job = job

    def render_snapshot(self, snap: Snapshot) -> None:
        now_ms = clock.now() * 1000
        self.table.set_rows([job_row(j, now_ms) for j in snap.jobs])

    def open_row(self, key: str) -> None:
        for job in self.snapshot.jobs:
            if job.key == key:
                self.post_message(self.OpenJob(job))
