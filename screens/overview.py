"""Overview: cluster totals as bars, nodes by state, jobs by status, autoscaler and Serve health."""

from __future__ import annotations

from collections import Counter

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import human_duration, is_bytes, usage_text
from raycockpit.cockpit.job_message import failure_line
from raycockpit.cockpit.launch import CUSTOM, META_SPEC
from raycockpit.cockpit.models import Job, Snapshot
from raycockpit.screens.base import Pane
from raycockpit.screens.styles import BAD, BAD_STRONG, INFO, OK, WARN
from raycockpit.screens.widgets.render import bar, sparkline, status_text

TOTALS = (
    ("CPU", "CPU"),
    ("GPU", "GPU"),
    ("memory", "Memory"),
    ("object_store_memory", "Object store"),
)


class OverviewPane(Pane):
    TITLE = "Overview"
    SECTIONS = ("nodes", "autoscaler", "jobs", "serve")
    TICKS = True  # the CPU history and the jobs' ages
    # the totals come from the autoscaler's report; the node counts can be 10 s old (at 1,000
    # nodes the node summary is 18 MB)
    POLLS = ("autoscaler", "jobs", "serve")

    DEFAULT_CSS = """
    OverviewPane .row { height: auto; }
    OverviewPane .card { border: round $primary 60%; height: auto; padding: 0 1; width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield self.compose_stale()
        with VerticalScroll():
            yield Static(id="ov-totals", classes="card", markup=False)
            with Horizontal(classes="row"):
                yield Static(id="ov-nodes", classes="card", markup=False)
                yield Static(id="ov-jobs", classes="card", markup=False)
            with Horizontal(classes="row"):
                yield Static(id="ov-autoscaler", classes="card", markup=False)
                yield Static(id="ov-serve", classes="card", markup=False)

    def on_mount(self) -> None:
        for card_id, title in (
            ("ov-totals", "Cluster"),
            ("ov-nodes", "Nodes"),
            ("ov-jobs", "Jobs"),
            ("ov-autoscaler", "Autoscaler"),
            ("ov-serve", "Serve"),
        ):
            self.query_one(f"#{card_id}").border_title = title

    def render_snapshot(self, snap: Snapshot) -> None:
        self.query_one("#ov-totals", Static).update(totals_table(snap))
        self.query_one("#ov-nodes", Static).update(nodes_card(snap))
        self.query_one("#ov-jobs", Static).update(jobs_card(snap))
        self.query_one("#ov-autoscaler", Static).update(autoscaler_card(snap))
        self.query_one("#ov-serve", Static).update(serve_card(snap))


def totals_table(snap: Snapshot) -> Table:
    totals = snap.totals()
    table = Table.grid(padding=(0, 1))
    table.add_column(width=13)
    table.add_column(width=24)
    table.add_column()
    for key, label in TOTALS:
        usage = totals.get(key)
        if usage is None or usage.total <= 0:
            table.add_row(label, Text("none in this cluster", style="dim"), "")
            continue
        pct = f"{100 * usage.fraction:4.0f}%  {usage_text(usage, is_bytes=is_bytes(key))}"
        table.add_row(label, bar(usage.fraction, 24), pct)
    history = snap.history.get("cluster:CPU", ())
    if history:
        table.add_row("CPU history", Text(sparkline(history, 24), style=INFO), "")
    return table


def _counts(counter: Counter, empty: str) -> Text:
    if not counter:
        return Text(empty, style="dim")
    text = Text()
    for i, (state, count) in enumerate(sorted(counter.items())):
        if i:
            text.append("  ")
        text.append_text(status_text(state))
        text.append(f" {count}")
    return text


def nodes_card(snap: Snapshot) -> Group:
    states = Counter(n.state for n in snap.nodes)
    activity = Counter(n.activity for n in snap.alive_nodes if n.activity)
    return Group(
        _counts(states, "no nodes reported yet"),
        _counts(activity, ""),
        Text(f"{len(snap.gpus)} GPU(s) reported", style="dim"),
    )


RECENT_JOBS = 4  # lines of jobs under the counts: the live ones first, then the latest ended


def jobs_card(snap: Snapshot) -> Group:
    """The counts by status, then the live jobs (and why one is pending) and the latest ended
    ones (and what a failed one ended with)."""
    statuses = Counter(j.status for j in snap.jobs)
    lines = [_counts(statuses, "no jobs yet")]
    live = [j for j in snap.jobs if not j.terminal][:RECENT_JOBS]
    ended = [j for j in snap.jobs if j.terminal][: RECENT_JOBS - len(live)]
    now_ms = clock.now() * 1000
    for job in (*live, *ended):
        line = Text(no_wrap=True, overflow="ellipsis")
        status = status_text(job.status)
        status.pad_right(max(0, 9 - len(job.status)))
        line.append_text(status)
        if job.terminal and job.end_time_ms:
            age = f"{human_duration((now_ms - job.end_time_ms) / 1000)} ago"
        else:
            age = human_duration(job.duration_s(now_ms)) if job.start_time_ms else ""
        line.append(f" {age:<10}")
        why = snap.pending.why.get(f"job:{job.key}") if job.status == "PENDING" else None
        said = job.status == "FAILED" or why is not None  # then the label makes room for it
        line.append(f" {job_label(job, 14 if said else 40)}", style="bold")
        if job.status == "FAILED":
            line.append(f"  {failure_line(job)}", style=BAD)
        elif why is not None:
            line.append(f"  {why.short or why.reason}", style=WARN)
        lines.append(line)
    return Group(*lines)


def job_label(job: Job, width: int = 28) -> str:
    """A job in a few words: the workload the cockpit launched it from, else its entrypoint."""
    spec = job.metadata.get(META_SPEC)
    label = spec if spec and spec != CUSTOM else job.entrypoint
    return label if len(label) <= width else label[: width - 1] + "…"


def autoscaler_card(snap: Snapshot) -> Group:
    a = snap.autoscaler
    if not a.available:
        return Group(Text("waiting for the autoscaler's first report", style="dim"))
    text = Text()
    text.append(f"active {a.active_count}", style=OK)
    text.append(f"  idle {a.idle_count}", style="dim")
    text.append(f"  pending {a.pending_count}", style=WARN if a.pending_count else "")
    text.append(f"  failed {len(a.failures)}", style=BAD_STRONG if a.failures else "")
    lines = [text]
    if a.demands:
        lines.append(
            Text(
                f"{len(a.demands)} pending demand(s): {a.demands[0]}",
                style=WARN,
                overflow="ellipsis",
                no_wrap=True,
            )
        )
    return Group(*lines)


def serve_card(snap: Snapshot) -> Group:
    serve = snap.serve
    if not serve.running:
        return Group(Text("Serve is not running", style="dim"))
    statuses = Counter(app.status for app in serve.apps)
    lines = [_counts(statuses, "no applications")]
    for app in serve.apps[:3]:
        line = Text(f"{app.name} {app.route_prefix} ")
        line.append_text(status_text(app.status))
        lines.append(line)
    return Group(*lines)
