"""The job screen: status, duration, resources and message on top; the live log tail on the left;
metric charts, Tune trials and artifacts on the right; stop, delete, resubmit, duplicate-and-edit.

It renders and posts messages only: the app follows the log in a worker and hands lines over.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from raycockpit.cockpit import clock
from raycockpit.cockpit.events import MetricSeries
from raycockpit.cockpit.format import human_duration, timestamp
from raycockpit.cockpit.job_actions import JOB_ACTIONS, job_action_refusal
from raycockpit.cockpit.job_message import failure_line
from raycockpit.cockpit.launch_preview import job_launch_line
from raycockpit.cockpit.models import Job, Snapshot
from raycockpit.cockpit.printed_metrics import LogMetrics
from raycockpit.cockpit.prom_metrics import add_to_series
from raycockpit.cockpit.tail import TailState
from raycockpit.screens.job_info import job_view
from raycockpit.screens.messages import JobAction
from raycockpit.screens.styles import BAD, WARN
from raycockpit.screens.widgets.key_footer import KeyFooter
from raycockpit.screens.widgets.log_view import LogView
from raycockpit.screens.widgets.metrics_panel import MetricsPanel
from raycockpit.screens.widgets.render import status_text
from raycockpit.screens.widgets.status_line import StatusLine


class JobScreen(Screen):
    KEYS_TITLE = "Job screen"  # its group on the ? screen
    BINDINGS = [
        Binding("escape", "back", "Back", id="job.back"),
        Binding("x", "stop", "Stop", id="job.stop"),
        Binding("d", "delete", "Delete", id="job.delete"),
        Binding("R", "resubmit", "Resubmit", id="job.resubmit"),
        Binding("e", "duplicate", "Duplicate+edit", id="job.duplicate"),
        Binding("i", "toggle_info", "Info", id="job.info"),
        Binding("m", "next_metric", "Next metric", id="job.metric"),
        Binding("c", "copy_id", "Copy id", id="job.copy_id", show=False),
    ]

    DEFAULT_CSS = """
    JobScreen #job-head { height: auto; padding: 0 1; background: $boost; }
    JobScreen #job-info { height: auto; max-height: 40%; padding: 0 1; display: none; }
    JobScreen #job-info.-open { display: block; }
    JobScreen #job-body { height: 1fr; }
    JobScreen LogView { width: 3fr; border: round $primary 50%; }
    JobScreen MetricsPanel { width: 2fr; border: round $primary 50%; }
    /* no metric yet (most plain jobs have none): its one line in a narrow column, the log wide */
    JobScreen MetricsPanel.-empty { width: 28; }
    """

    @dataclass
    class Closed(Message):
        """Posted to the app once the screen has left the stack, whatever route took it off
        (escape, a pane key, the command bar or palette, a deleted job, the app closing): its
        log follower stops. A dialog over the screen does not close it."""

        job_id: str

    @dataclass
    class PromMetrics(Message):
        """One slow beat of the job's metrics scraped from the nodes' metrics ports
        (cockpit/prom_metrics.py), for the app to hand to the screen showing the job."""

        job_id: str
        metrics: dict[str, float]
        seconds: float  # since the scraping began
        note: str  # one line when a node's metrics port did not answer, else ""

    def __init__(self, job: Job, *, readonly: bool = False, max_lines: int = 20_000) -> None:
        super().__init__()
        self.job = job
        self.readonly = readonly
        self.max_lines = max_lines
        self.series = MetricSeries()
        self.log_metrics = LogMetrics(self.series)  # cockpit events, else what Ray prints
        self.metrics_note = ""
        self.tail = TailState("following", "connecting")
        self._dirty = False
        self._ticker: Timer | None = None

    @property
    def job_id(self) -> str:
        return self.job.key

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield Static(id="job-head", markup=False)
        with VerticalScroll(id="job-info"):
            yield Static(job_view(self.job), id="job-info-body", markup=False)
        with Horizontal(id="job-body"):
            yield LogView(max_lines=self.max_lines, id="job-log")
            yield MetricsPanel(id="job-metrics")
        yield KeyFooter()

    def on_mount(self) -> None:
        log, metrics, lines = (self.query(s) for s in ("#job-log", "#job-metrics", "#log-lines"))
        if not (log and metrics and lines):
            # closed while it was being built: the app quit just as it built this screen ahead
            # (Textual mounts none or only some of a closing screen's children, yet sends Mount)
            return
        self.sub_title = f"job {self.job_id}"
        log.first().border_title = "log"
        metrics.first().border_title = "metrics"
        metrics.first().set_job_status(self.job.status)
        self._render_head()
        self._ticker = self.set_interval(0.5, self.redraw)
        if self not in self.app.screen_stack:  # built ahead, not shown yet
            self._ticker.pause()
        self.query_one("#log-lines").focus()

    def show_job(self, job: Job) -> None:
        """Show another job on this screen: an empty log following the end, no metrics, the
        tail connecting. The app keeps one job screen and reuses it: building a new one (its
        widgets, their styles, a first paint of all of it) was most of the time to open a job."""
        self.job = job
        self.series = MetricSeries()
        self.log_metrics = LogMetrics(self.series)
        self.metrics_note = ""
        self.query_one("#job-metrics").border_subtitle = ""
        self.tail = TailState("following", "connecting")
        self._dirty = False
        self.sub_title = f"job {job.key}"
        self.query_one(LogView).reset()
        self.query_one(MetricsPanel).reset()
        self.query_one(MetricsPanel).set_job_status(job.status)
        self.query_one("#job-info-body", Static).update(job_view(job))
        self.query_one("#job-info").remove_class("-open")
        self._render_head()
        self.refresh_bindings()
        self.query_one("#log-lines").focus()

    def on_screen_suspend(self) -> None:
        if self._ticker is not None:
            self._ticker.pause()
        # Here, not in action_back: pane keys, the command bar and a deleted job pop it as well;
        # a dialog over it suspends it too but leaves it in the stack.
        if self not in self.app.screen_stack:
            self.app.post_message(self.Closed(self.job_id))

    def on_screen_resume(self) -> None:
        if self._ticker is not None:
            self._ticker.resume()

    def on_unmount(self) -> None:
        if self in self.app.screen_stack:  # the app is closing with the screen shown
            self.app.post_message(self.Closed(self.job_id))

    # -- fed by the app ---------------------------------------------------------------------------

    def add_lines(self, lines: list[str]) -> None:
        self.query_one(LogView).append_lines(lines)
        if self.log_metrics.add_lines(lines):
            self._dirty = True

    def add_prom_metrics(self, message: PromMetrics) -> None:
        """A beat of the nodes' Prometheus metrics of this job: charted as `NAME (prometheus)`;
        a node that did not answer is said once, under the charts."""
        if add_to_series(self.series, message.metrics, message.seconds):
            self._dirty = True
        if message.note != self.metrics_note:
            self.metrics_note = message.note
            self.query_one("#job-metrics").border_subtitle = (
                "node metrics unreachable: log only" if message.note else ""
            )
            if message.note:
                self.notify(message.note, severity="warning", timeout=8)

    def set_tail_state(self, state: TailState) -> None:
        self.tail = state
        if state.state == "ended" and self.log_metrics.flush():
            self._dirty = True  # a result table that was the log's last lines
        self._render_head()

    _why = None  # the job's "Why pending?" answer (cockpit/why/) in the last snapshot

    def show_snapshot(self, snap: Snapshot) -> None:
        why = snap.pending.why.get(f"job:{self.job_id}")
        for job in snap.jobs:
            if job.key == self.job_id and (job != self.job or why != self._why):
                self.job, self._why = job, why
                self.query_one("#job-info-body", Static).update(job_view(job, why))
                self.query_one(MetricsPanel).set_job_status(job.status)
        self._render_head()
        self.refresh_bindings()

    def redraw(self) -> None:
        """Header and charts; runs twice a second, and on demand."""
        self._render_head()  # the duration ticks
        if self._dirty:
            self._dirty = False
            self.query_one(MetricsPanel).show(self.series)

    def _render_head(self) -> None:
        job = self.job
        text = Text()
        text.append(f"{job.key}  ", style="bold")
        text.append_text(status_text(job.status))
        duration = human_duration(job.duration_s(clock.now() * 1000))
        text.append(f"  started {timestamp(job.start_time_ms)}  duration {duration}")
        text.append(f"\n{job_launch_line(job)}", style="dim")
        self.query_one(LogView).source_status = f"tail {self.tail.one_line()}"
        if job.message:  # a failed job: its exit code and the error its log ends with
            text.append(f"\n{failure_line(job)[:200]}", style=BAD if job.status == "FAILED" else "")
        why = self._why if self._why is not None and job.status == "PENDING" else None
        if why is not None:
            text.append(f"\nwhy: {why.short or why.reason} (i: reason and fix)", style=WARN)
        self._update_head(text)

    _head: tuple[Text, int] | None = None  # what the head shows, and its rows at that width

    def _update_head(self, text: Text) -> None:
        """The head redraws twice a second (the duration ticks) and on every snapshot: the same
        text is left alone, and a new one lays the screen out again only when its height is not
        the one it has (a Static's update always does: ~25-40 ms of the UI thread at 120x40 on
        this box, twice a second, which a key on this screen then waited for)."""
        head = self.query_one("#job-head", Static)
        width = head.content_region.width
        lines = text.plain.split("\n")
        # a line that wraps (a long message) may take more rows than its length says: laid out
        rows = len(lines) if width > 0 and all(cell_len(x) <= width for x in lines) else -1
        if self._head is not None and self._head[0] == text and self._head[1] == rows:
            return
        self._head = (text, rows)
        head.update(text, layout=rows < 0 or head.size.height != rows)

    # -- actions ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in JOB_ACTIONS:
            return not self.readonly and not job_action_refusal(action, self.job)
        return True

    def action_back(self) -> None:
        self.app.pop_screen()  # on_unmount tells the app

    def action_stop(self) -> None:
        self.post_message(JobAction("stop", self.job))

    def action_delete(self) -> None:
        self.post_message(JobAction("delete", self.job))

    def action_resubmit(self) -> None:
        self.post_message(JobAction("resubmit", self.job))

    def action_duplicate(self) -> None:
        self.post_message(JobAction("duplicate", self.job))

    def action_copy_id(self) -> None:
        self.post_message(JobAction("copy", self.job))

    def action_toggle_info(self) -> None:
        self.query_one("#job-info").toggle_class("-open")

    def action_next_metric(self) -> None:
        self.query_one(MetricsPanel).action_next_metric()
