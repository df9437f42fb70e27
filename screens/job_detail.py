"""One job in full: entrypoint, runtime_env, metadata, times, status message, the driver log."""

from __future__ import annotations

import json

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from cockpit import clock
from cockpit.messages import JobLogsLoaded, JobLogsWanted
from cockpit.models import Job, Snapshot
from cockpit.widgets.status_line import StatusLine
from cockpit.widgets.render import timestamp, human_duration, status_text


def job_view(job: Job) -> Group:
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
    if job.message:
        info.add_row("Message", Text(job.message, style="red" if job.status == "FAILED" else ""))
    if job.error_type:
        info.add_row("Error type", Text(job.error_type, style="red"))
    if job.driver_exit_code is not None:
        info.add_row("Exit code", str(job.driver_exit_code))
    if job.runtime_env:
        info.add_row("runtime_env", Text(json.dumps(job.runtime_env, indent=1, sort_keys=True)))
    if job.metadata:
        info.add_row("Metadata", Text("\n".join(f"{k} = {v}" for k, v in sorted(job.metadata.items()))))
    return Group(info)


class JobDetailScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="detail.back"),
        Binding("r", "reload", "Reload log", id="job.reload"),
    ]

    DEFAULT_CSS = """
    JobDetailScreen #job-info { height: auto; max-height: 50%; overflow-y: auto; padding: 0 1; }
    JobDetailScreen #job-log { height: 1fr; border: round $primary 50%; }
    """

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job

    def compose(self) -> ComposeResult:
        yield StatusLine()
        with Vertical():
            yield Static(job_view(self.job), id="job-info")
            yield Log(id="job-log", max_lines=20_000)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#job-log", Log).border_title = "driver log (loading...)"
        self.action_reload()

    def action_reload(self) -> None:
        self.app.post_message(JobLogsWanted(self.job.key))

    def show_snapshot(self, snap: Snapshot) -> None:
        for job in snap.jobs:
            if job.key == self.job.key and job != self.job:
                self.job = job
                self.query_one("#job-info", Static).update(job_view(job))

    def show_logs(self, message: JobLogsLoaded) -> None:
        log = self.query_one("#job-log", Log)
        log.clear()
        if message.error:
            log.border_title = f"driver log: {message.error}"
            return
        log.write(message.text or "(the driver has not written anything)")
        log.border_title = f"driver log ({len(message.text.splitlines())} lines; r reloads)"
