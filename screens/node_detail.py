"""One node in full: identity, state, usage bars, resources, GPUs, labels."""

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
from raycockpit.cockpit.models import Node
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
        info.add_row("State message", Text(node.state_message, style="red"))
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


class NodeDetailScreen(Screen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back", id="detail.back")]

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node

    def compose(self) -> ComposeResult:
        yield StatusLine()
        with VerticalScroll():
            yield Static(node_view(self.node), id="node-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"node {self.node.name}"
