"""GPUs: one row per GPU across the cluster, with a utilisation bar and a short history."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from raycockpit.cockpit.format import amount, usage_text
from raycockpit.cockpit.models import Gpu, Node, Snapshot
from raycockpit.screens.base import Pane
from raycockpit.screens.styles import INFO
from raycockpit.screens.widgets.keyed_table import Column, KeyedTable
from raycockpit.screens.widgets.render import bar, sparkline

COLUMNS = [
    Column("node", "Node"),
    Column("index", "#"),
    Column("util", "Util", width=13),
    Column("history", "History", width=12),
    Column("memory", "Memory GiB"),
    Column("temp", "Temp"),
    Column("power", "Power"),
    Column("procs", "Procs"),
    Column("ray", "Ray GPUs"),
    Column("name", "Name"),
]

NO_GPUS = (
    "No GPUs reported by this cluster. Ray reports GPUs through each node's agent "
    "(NVIDIA via NVML, AMD via amdsmi); nodes without GPUs, or containers without driver access, "
    "report none."
)


def gpu_row(gpu: Gpu, node: Node, history: tuple[float, ...]) -> tuple[str, list, dict]:
    util = gpu.utilization
    util_cell = (
        Text("n/a", style="dim") if util is None else bar(util / 100, 8) + Text(f" {util:3.0f}%")
    )
    mem = (
        f"{gpu.memory_used_mb / 1024:.1f}/{gpu.memory_total_mb / 1024:.1f}"
        if gpu.memory_total_mb
        else "-"
    )
    reserved = "-"
    if node.gpu_logical is not None and node.gpu_logical.total:
        reserved = usage_text(node.gpu_logical, is_bytes=False, sep="/")
    cells = [
        node.name,
        str(gpu.index),
        util_cell,
        Text(sparkline(history, 12), style=INFO),
        mem,
        "-" if gpu.temperature_c is None else f"{gpu.temperature_c:.0f}°C",
        "-" if gpu.power_w is None else f"{gpu.power_w:.0f} W",
        str(gpu.processes),
        reserved,
        gpu.name,
    ]
    sort = {
        "index": gpu.index,
        "util": -1 if util is None else util,
        "memory": gpu.memory_used_mb,
        "temp": gpu.temperature_c or -1,
        "power": gpu.power_w or -1,
        "procs": gpu.processes,
    }
    return gpu.key, cells, sort


GpuRecord = tuple[Gpu, Node, dict]  # a GPU, its node, the snapshot's history


def gpu_record_row(record: GpuRecord) -> tuple[str, list, dict]:
    gpu, node, history = record
    return gpu_row(gpu, node, history.get(f"gpu:{gpu.key}", ()))


def gpu_record_key(record: GpuRecord) -> str:
    return record[0].key


class GpusPane(Pane):
    TITLE = "GPUs"
    SECTIONS = ("nodes",)
    TICKS = True  # the history column

    DEFAULT_CSS = """
    GpusPane #gpus-empty { padding: 1 2; color: $text-muted; display: none; }
    GpusPane #gpus-empty.-visible { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield self.compose_stale()
        yield Static(NO_GPUS, id="gpus-empty", markup=False)
        # the nodes' order (head first), then each node's GPUs by index; s sorts by a column
        yield KeyedTable(COLUMNS, sort_column=None, id="gpus-table")

    def render_snapshot(self, snap: Snapshot) -> None:
        history = snap.history
        rows = [(gpu, node, history) for node in snap.nodes for gpu in node.gpus]
        empty = self.query_one("#gpus-empty", Static)
        logical = sum(n.gpu_logical.total for n in snap.alive_nodes if n.gpu_logical)
        if not rows and logical:
            empty.update(
                NO_GPUS + f"\nRay itself has {amount(logical)} logical GPU(s) in its resources."
            )
        empty.set_class(not rows, "-visible")
        table = self.query_one("#gpus-table", KeyedTable)
        table.display = bool(rows)
        table.set_records(rows, row=gpu_record_row, key=gpu_record_key)
