"""One node in full: identity, state, usage bars, resources, GPUs, labels, and what runs there (its
tasks and actors by name and state, listed by a worker from Ray's state API while it is open);
`l` lists its log files (screens/node_logs.py)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from raycockpit.cockpit.format import amount, human_bytes, is_bytes, timestamp, usage_text
from raycockpit.cockpit.models import Node, Snapshot
from raycockpit.cockpit.node_work import Listing, NodeWork
from raycockpit.screens.messages import NodeLogsWanted
from raycockpit.screens.styles import BAD, WARN
from raycockpit.screens.widgets.key_footer import KeyFooter
from raycockpit.screens.widgets.render import bar, status_text
from raycockpit.screens.widgets.status_line import StatusLine


def node_view(node: Node) -> Group:
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_row("Node id", node.node_id)
    info.add_row("Host / IP", f"{node.hostname or '-'} / {node.ip}")
    info.add_row("Role", "head" if node.is_head else (node.node_type or "worker"))
    state = status_text(node.state)
    if node.activity:
        state.append("  ").append_text(status_text(node.activity))
    info.add_row("State", state)
    if node.state_message:
        info.add_row("State message", Text(node.state_message, style=BAD))
    info.add_row("Started", timestamp(node.start_time_ms))
    if node.load_avg:
        info.add_row("Load average", "  ".join(f"{x:.2f}" for x in node.load_avg))

    usage = Table.grid(padding=(0, 2))
    usage.add_column(style="bold")
    usage.add_column(width=24)
    usage.add_column()
    if node.cpu_percent is not None:
        usage.add_row(
            "CPU (physical)",
            bar(node.cpu_percent / 100, 24),
            f"{node.cpu_percent:.1f}% of {node.cpus_physical or '?'} cores",
        )
    for label, u, in_bytes in (
        ("CPU (Ray)", node.cpu_logical, False),
        ("GPU (Ray)", node.gpu_logical, False),
        ("Memory", node.memory, True),
        ("Object store", node.object_store, True),
        ("Disk /", node.disk, True),
    ):
        if u is not None and u.total:
            usage.add_row(label, bar(u.fraction, 24), usage_text(u, is_bytes=in_bytes))

    resources = Table(title="Ray resources", title_justify="left", box=None, padding=(0, 2))
    resources.add_column("Resource")
    resources.add_column("Total", justify="right")
    for name, value in sorted(node.resources_total.items()):
        shown = human_bytes(value) if is_bytes(name) else amount(value)
        resources.add_row(name, shown)

    parts: list = [info, Text(""), usage, Text(""), resources]
    if node.gpus:
        gpus = Table(title="GPUs", title_justify="left", box=None, padding=(0, 2))
        for col in ("#", "Name", "Util", "Memory MiB", "Temp", "Power", "Procs"):
            gpus.add_column(col)
        for g in node.gpus:
            gpus.add_row(
                str(g.index),
                g.name,
                "n/a" if g.utilization is None else f"{g.utilization:.0f}%",
                f"{g.memory_used_mb:,.0f}/{g.memory_total_mb:,.0f}",
                "-" if g.temperature_c is None else f"{g.temperature_c:.0f}°C",
                "-" if g.power_w is None else f"{g.power_w:.0f} W",
                str(g.processes),
            )
        parts += [Text(""), gpus]
    if node.labels:
        parts += [Text(""), Text("Labels", style="bold")]
        parts += [Text(f"  {k} = {v}") for k, v in sorted(node.labels.items())]
    return Group(*parts)


def _listing(title: str, listing: Listing, what: str) -> list:
    head = Text(title, style="bold")
    if listing.matched > listing.listed:
        head.append(f"  {listing.listed:,} listed of {listing.matched:,}", style=WARN)
    else:
        head.append(f"  {listing.matched:,}", style="dim")
    if listing.dropped:
        head.append(f"  (Ray dropped {listing.dropped:,} before listing)", style=WARN)
    if not listing.groups:
        return [head, Text(f"  no {what} on this node", style="dim")]
    table = Table(box=None, padding=(0, 2), show_header=False)
    table.add_column(no_wrap=True, overflow="ellipsis", max_width=48)
    table.add_column(justify="right")
    table.add_column()
    for group in listing.groups:
        states = Text()
        for i, (state, n) in enumerate(group.states):
            if i:
                states.append("  ")
            states.append_text(status_text(state)).append(f" {n:,}")
        table.add_row("  " + group.name, f"{group.total:,}", states)
    return [head, table]


def work_view(work: NodeWork | None, error: str = "") -> Group:
    """The node's tasks (by function) and actors (by class), counted by state."""
    parts: list = [Text("What runs here", style="bold underline")]
    if work is None and not error:
        parts.append(Text("  listing tasks and actors (Ray state API)…", style="dim"))
    if work is not None:
        parts += _listing("Tasks", work.tasks, "tasks")
        parts += _listing("Actors", work.actors, "actors")
    if error:
        parts.append(Text(f"  cannot list them: {error}", style=BAD))
    return Group(*parts)


class NodeDetailScreen(Screen):
    KEYS_TITLE = "Node screen"  # its group on the ? screen
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="detail.back"),
        Binding("l", "logs", "Logs", id="detail.logs"),
    ]

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node
        self.work: NodeWork | None = None
        self.work_error = ""

    def compose(self) -> ComposeResult:
        yield StatusLine()
        with VerticalScroll():
            yield Static(node_view(self.node), id="node-detail", markup=False)
            yield Static("", markup=False)
            yield Static(work_view(None), id="node-work", markup=False)
        yield KeyFooter()

    def show_snapshot(self, snap: Snapshot) -> None:
        """The node as the newest snapshot has it (a node gone from the list keeps its last)."""
        for node in snap.nodes:
            if node.node_id == self.node.node_id:
                if node != self.node:
                    self.node = node
                    self.query_one("#node-detail", Static).update(node_view(node))
                return

    def show_work(self, work: NodeWork | None, error: str = "") -> None:
        if work is not None:
            self.work = work
        self.work_error = error
        self.query_one("#node-work", Static).update(work_view(self.work, error))

    def action_logs(self) -> None:
        """The node's log files (screens/node_logs.py), listed by the app."""
        self.post_message(NodeLogsWanted(self.node))

    def on_mount(self) -> None:
        self.sub_title = f"node {self.node.name}"
