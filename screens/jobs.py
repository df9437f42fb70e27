"""Jobs: one row per job (submission id, status, entrypoint, start, duration, message)."""

from __future__ import annotations


from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message

from cockpit import clock
from cockpit.models import Job, Snapshot
from cockpit.widgets.filter_bar import FilterBar
from cockpit.widgets.keyed_table import Column, KeyedTable
from cockpit.widgets.render import timestamp, human_duration, status_text
from screens.base import Pane

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


class JobsPane(Pane):
    TITLE = "Jobs"
    SECTIONS = ("jobs",)

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="jobs.filter"),
        Binding("enter", "open", "Detail", id="jobs.open"),
    ]

    class OpenJob(Message):
        def __init__(self, job: Job) -> None:
            super().__init__()
            self.job = job

    def compose(self) -> ComposeResult:
        yield self.compose_stale()
        yield FilterBar(id="jobs-filter")
        yield KeyedTable(COLUMNS, sort_column=START_COLUMN, sort_reverse=True, id="jobs-table")  # newest first

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#jobs-table", KeyedTable)

    def render_snapshot(self, snap: Snapshot) -> None:
        now_ms = clock.now() * 1000
        self.table.set_rows([job_row(j, now_ms) for j in snap.jobs])

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_filter_changed(self, event: FilterBar.FilterChanged) -> None:
        self.table.set_filter(event.value)

    def on_filter_bar_filter_done(self, event: FilterBar.FilterDone) -> None:
        self.table.focus()

    def on_data_table_row_selected(self, event) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        key = self.table.selected_key
        if self.snapshot is None or key is None:
            return
        for job in self.snapshot.jobs:
            if job.key == key:
                self.post_message(self.OpenJob(job))
                return
