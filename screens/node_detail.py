"""One node in full: identity, state, usage bars, resources, GPUs, labels, and what runs there (its
tasks and actors by name and state, listed by a worker from Ray's state API while it is open:
Enter on a function opens its tasks filtered to this node, on a class the Actors pane filtered
to it); `l` lists its log files (screens/node_logs.py)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from raycockpit.cockpit.format import amount, human_bytes, is_bytes, timestamp, usage_text
from raycockpit.cockpit.models import Node, Snapshot
from raycockpit.cockpit.node_work import Listing, NodeWork
from raycockpit.screens.messages import NodeLogsWanted
from raycockpit.screens.styles import BAD, WARN
from raycockpit.screens.widgets.key_footer import KeyFooter
from raycockpit.screens.widgets.keyed_table import Column, KeyedTable
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


def listing_head(title: str, listing: Listing | None, what: str, error: str = "") -> Text:
    """A listing's line above its table: how many, whether Ray listed or kept them all."""
    head = Text(title, style="bold")
    if listing is None:
        head.append("  listing them (Ray state API)…" if not error else "", style="dim")
    elif listing.matched > listing.listed:
        head.append(f"  {listing.listed:,} listed of {listing.matched:,}", style=WARN)
    else:
        head.append(f"  {listing.matched:,}", style="dim")
    if listing is not None and listing.dropped:
        head.append(f"  (Ray dropped {listing.dropped:,} before listing)", style=WARN)
    if listing is not None and not listing.groups:
        head.append(f"  no {what} on this node", style="dim")
    if error:
        head.append(f"  cannot list them: {error}", style=BAD)
    return head


WORK_TITLE = Text.assemble(
    ("\nWhat runs here", "bold underline"),
    ("  (Tab to a table, Enter: a function's tasks on this node, a class's actors)", "dim"),
)
WORK_COLUMNS = [
    Column("name", "Name", width=40),
    Column("total", "Total", sort_key=lambda cell: -int(str(cell).replace(",", "") or 0)),
    Column("states", "By state", width=46),
]


def work_rows(listing: Listing | None) -> list:
    """(key, cells, None) per function or class: its name, how many, its states counted."""
    rows = []
    for group in listing.groups if listing is not None else ():
        states = Text()
        for i, (state, n) in enumerate(group.states):
            if i:
                states.append("  ")
            states.append_text(status_text(state)).append(f" {n:,}")
        rows.append((group.name, [group.name, f"{group.total:,}", states], None))
    return rows


class NodeDetailScreen(Screen):
    KEYS_TITLE = "Node screen"  # its group on the ? screen
    DEFAULT_CSS = """
    NodeDetailScreen KeyedTable { height: auto; max-height: 14; }
    """
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="detail.back"),
        Binding("l", "logs", "Logs", id="detail.logs"),
    ]

    @dataclass
    class OpenTasks(Message):
        """Enter on a task function: its tasks' screen, filtered to this node."""

        name: str
        node_name: str

    @dataclass
    class OpenActors(Message):
        """Enter on an actor class: the Actors pane, filtered to that class."""

        class_name: str

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node
        self.work: NodeWork | None = None
        self.work_error = ""

    def compose(self) -> ComposeResult:
        yield StatusLine()
        with VerticalScroll():
            yield Static(node_view(self.node), id="node-detail", markup=False)
            yield Static(WORK_TITLE, id="node-work-title", markup=False)
            yield Static(listing_head("Tasks", None, "tasks"), id="node-tasks-head", markup=False)
            yield KeyedTable(WORK_COLUMNS, sort_column=None, id="node-tasks")
            yield Static(
                listing_head("Actors", None, "actors"), id="node-actors-head", markup=False
            )
            yield KeyedTable(WORK_COLUMNS, sort_column=None, id="node-actors")
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
        work = self.work
        for what, listing in (
            ("tasks", work.tasks if work else None),
            ("actors", work.actors if work else None),
        ):
            head = listing_head(what.capitalize(), listing, what, error if what == "tasks" else "")
            self.query_one(f"#node-{what}-head", Static).update(head)
            self.query_one(f"#node-{what}", KeyedTable).set_rows(work_rows(listing))

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        """Enter on a function: its tasks on this node; on a class: its actors."""
        event.stop()
        if event.table.id == "node-tasks":
            self.post_message(self.OpenTasks(event.key, self.node.name))
        else:
            self.post_message(self.OpenActors(event.key))

    def action_logs(self) -> None:
        """The node's log files (screens/node_logs.py), listed by the app."""
        self.post_message(NodeLogsWanted(self.node))

    def on_mount(self) -> None:
        self.sub_title = f"node {self.node.name}"
