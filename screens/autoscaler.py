"""Autoscaler: active, idle, pending and failed nodes by type, pending demands, total usage;
the raw `ray status` text one key (t) away; below, the autoscaler's decisions as a feed (newest
first: time, kind, text), kept by the poller across refreshes and panes."""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import usage_text
from raycockpit.cockpit.models import AutoscalerStatus, FeedEvent, Snapshot
from raycockpit.screens.base import Pane
from raycockpit.screens.styles import BAD_STRONG, OK, WARN
from raycockpit.screens.widgets.keyed_table import Column, KeyedTable
from raycockpit.screens.widgets.render import bar

FEED_COLUMNS = [Column("time", "Time"), Column("kind", "Kind"), Column("text", "What")]
# the kinds that say something went wrong, and those that add capacity
_BAD = {"node failed", "demand infeasible", "autoscaler error"}
_UP = {"node launched", "node up", "demand met", "node kept"}


def feed_time(at: float, now: float | None = None) -> str:
    """An event's time: HH:MM:SS today, with the date before."""
    now = clock.now() if now is None else now
    try:
        day, then = time.localtime(now)[:3], time.localtime(at)
    except (OverflowError, OSError, ValueError):
        return "?"
    return time.strftime("%H:%M:%S" if then[:3] == day else "%Y-%m-%d %H:%M:%S", then)


def feed_row(event: FeedEvent) -> tuple[str, list, dict]:
    style = BAD_STRONG if event.kind in _BAD else OK if event.kind in _UP else ""
    text = event.text + (f" (x{event.count})" if event.count > 1 else "")
    return (
        event.key,
        [feed_time(event.at), Text(event.kind, style=style), text],
        {"time": event.at},
    )


def feed_key(event: FeedEvent) -> str:
    return event.key


def autoscaler_view(a: AutoscalerStatus) -> Group:
    if not a.available:
        return Group(
            Text(
                "The autoscaler has not reported yet "
                "(it does a few seconds after the head starts).",
                style="dim",
            )
        )
    nodes = Table(title="Nodes", title_justify="left", expand=False, box=None, padding=(0, 2))
    nodes.add_column("State")
    nodes.add_column("Node type")
    nodes.add_column("Count / status", justify="right")
    for node_type, count in a.active:
        nodes.add_row(Text("active", style=OK), node_type, str(count))
    for node_type, count in a.idle:
        nodes.add_row(Text("idle", style="dim"), node_type, str(count))
    for pending in a.pending:
        label = pending.node_type + (f" ({pending.what})" if pending.what else "")
        nodes.add_row(Text("pending", style=WARN), label, pending.status)
    for failure in a.failures:
        nodes.add_row(Text("failed", style=BAD_STRONG), failure, "")
    if not (a.active or a.idle or a.pending or a.failures):
        nodes.add_row(Text("-", style="dim"), "no nodes", "")

    usage = Table(title="Total usage", title_justify="left", box=None, padding=(0, 2))
    usage.add_column("Resource")
    usage.add_column("", width=22)
    usage.add_column("Used / total")
    for u in a.usage:
        usage.add_row(u.name, bar(u.fraction, 20), usage_text(u))

    demands = Text("Pending demands\n", style="bold")
    if a.demands:
        for line in a.demands:
            demands.append(f"  {line}\n", style=WARN)
    else:
        demands.append("  none\n", style="dim")
    if a.requested:
        demands.append("From request_resources\n", style="bold")
        for line in a.requested:
            demands.append(f"  {line}\n")
    parts = [nodes, Text(""), usage, Text(""), demands]
    if a.error:
        parts.append(Text(f"Autoscaler error: {a.error}", style=BAD_STRONG))
    if a.timestamp:
        parts.append(Text(f"reported {a.timestamp}", style="dim"))
    return Group(*parts)


class AutoscalerPane(Pane):
    TITLE = "Autoscaler"
    SECTIONS = ("autoscaler", "autoscaler_feed")
    POLLS = ("autoscaler",)  # the feed comes with it (poller.py)

    DEFAULT_CSS = """
    AutoscalerPane > #autoscaler-scroll { height: 1fr; }
    AutoscalerPane > #autoscaler-feed-title { height: 1; padding: 0 1; text-style: bold; }
    AutoscalerPane > #autoscaler-feed { height: auto; max-height: 50%; min-height: 2; }
    """

    BINDINGS = [Binding("t", "toggle_raw", "Raw text", id="autoscaler.raw")]

    def compose(self) -> ComposeResult:
        yield self.compose_stale()
        with VerticalScroll(id="autoscaler-scroll"):
            yield Static(id="autoscaler-view", markup=False)
            yield Static(id="autoscaler-raw", markup=False)
        yield Static("Decisions, newest first", id="autoscaler-feed-title", markup=False)
        yield KeyedTable(FEED_COLUMNS, sort_column=None, id="autoscaler-feed")

    def on_mount(self) -> None:
        self.query_one("#autoscaler-raw").display = False

    def render_snapshot(self, snap: Snapshot) -> None:
        self.query_one("#autoscaler-view", Static).update(autoscaler_view(snap.autoscaler))
        self.query_one("#autoscaler-raw", Static).update(
            Text(snap.autoscaler.raw_text or "(no text yet)")
        )
        feed = snap.autoscaler_feed
        self.query_one("#autoscaler-feed-title", Static).update(
            f"Decisions, newest first ({len(feed)})"
            if feed
            else "Decisions: none yet (launches, removals, demands, constraints appear here)"
        )
        self.query_one("#autoscaler-feed", KeyedTable).set_records(feed, row=feed_row, key=feed_key)

    def action_toggle_raw(self) -> None:
        view, raw = self.query_one("#autoscaler-view"), self.query_one("#autoscaler-raw")
        raw.display, view.display = not raw.display, raw.display
