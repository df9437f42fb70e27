"""Jobs: one row per job (submission id, status, entrypoint, start, duration, message)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import human_duration, timestamp
from raycockpit.cockpit.job_message import failure_line
from raycockpit.cockpit.models import TERMINAL_JOB_STATES, Job, Snapshot, Why
from raycockpit.screens.base import TablePane
from raycockpit.screens.messages import JobAction
from raycockpit.screens.styles import WARN
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


def job_row(job: Job, now_ms: float, why: Why | None = None) -> tuple[str, list, dict]:
    """A job's cells; a PENDING job's (or a failed runtime_env's) Message is its short "Why
    pending?" answer (cockpit/why/) when there is one, a failed job's its exit code and error."""
    duration = job.duration_s(now_ms)
    if why is not None:
        message = Text(why.short or why.reason, style=WARN, overflow="ellipsis", no_wrap=True)
    else:
        message = Text(failure_line(job), overflow="ellipsis", no_wrap=True)
    cells = [
        job.submission_id or job.job_id,
        status_text(job.status),
        timestamp(job.start_time_ms),
        human_duration(duration),
        Text(job.entrypoint, overflow="ellipsis", no_wrap=True),
        message,
    ]
    sort = {"start": job.start_time_ms or 0, "duration": duration or 0}
    return job.key, cells, sort


def job_row_now(job: Job) -> tuple[str, list, dict]:
    return job_row(job, clock.now() * 1000)


def job_key(job: Job) -> str:
    return job.key


def job_text(job: Job) -> str:
    """What `/` searches in a job's row (cheap: no cell is built for it)."""
    return f"{job.submission_id or job.job_id} {job.status} {job.entrypoint} {job.message}"


def job_settled(job: Job) -> bool:
    """A finished job's row never changes; a pending or running one's duration does."""
    return job.status in TERMINAL_JOB_STATES


class JobsPane(TablePane):
    TITLE = "Jobs"
    SECTIONS = ("jobs", "pending")
    COLUMNS = COLUMNS
    SORT_COLUMN = None  # newest first, as the poller orders them (s sorts by a column)
    TICKS = True  # running jobs' durations
    BINDINGS = [
        *TablePane.BINDINGS,  # `?` lists a pane's own BINDINGS: the table's keys stay in it
        Binding("m", "app.postmortems", "Post-mortems", id="jobs.postmortems"),  # the app's
        # the job under the cursor, as on its screen; a key that does not apply to it says why
        Binding("x", "job('stop')", "Stop", id="jobs.stop"),
        Binding("d", "job('delete')", "Delete", id="jobs.delete"),
        Binding("R", "job('resubmit')", "Resubmit", id="jobs.resubmit", show=False),
        Binding("e", "job('duplicate')", "Duplicate+edit", id="jobs.duplicate", show=False),
        Binding("c", "copy_id", "Copy id", id="jobs.copy_id", show=False),
    ]

    class OpenJob(Message):
        def __init__(self, job: Job) -> None:
            super().__init__()
            self.job = job

    def render_snapshot(self, snap: Snapshot) -> None:
        whys = snap.pending.why
        now_ms = clock.now() * 1000

        def row(job: Job) -> tuple[str, list, dict]:
            return job_row(job, now_ms, whys.get(f"job:{job.key}"))

        self.table.set_records(snap.jobs, row=row, key=job_key, text=job_text, stable=job_settled)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "job":
            settings = getattr(self.app, "settings", None)  # --readonly: hidden, as elsewhere
            return not (settings is not None and settings.readonly)
        return True

    def action_copy_id(self) -> None:
        job = self.table.selected_record
        if isinstance(job, Job):
            self.post_message(JobAction("copy", job))

    def action_job(self, action: str) -> None:
        job = self.table.selected_record
        if isinstance(job, Job):
            self.post_message(JobAction(action, job))

    def open_row(self, key: str) -> None:
        job = self.table.selected_record  # no walk over 10,000 jobs for the one under the cursor
        if not isinstance(job, Job) or job.key != key:
            job = next((j for j in self.snapshot.jobs if j.key == key), None)
        if job is not None:
            self.post_message(self.OpenJob(job))
