"""Nodes: one row per node, sortable (s / S or click a header), filterable (/), Enter for detail."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message

from raycockpit.cockpit.format import usage_text
from raycockpit.cockpit.models import Node, Snapshot
from raycockpit.screens.base import TablePane
from raycockpit.screens.widgets.keyed_table import Column
from raycockpit.screens.widgets.render import bar, status_text

COLUMNS = [
    Column("host", "Host"),
    Column("ip", "IP"),
    Column("head", "Head"),
    Column("state", "State"),
    Column("cpu", "CPU %", width=16),
    Column("logical", "CPUs used"),
    Column("memory", "Memory"),
    Column("store", "Object store"),
    Column("gpus", "GPUs"),
    Column("disk", "Disk"),
]


def node_row(node: Node) -> tuple[str, list, dict]:
    cpu = node.cpu_percent
    cpu_cell = Text("-") if cpu is None else bar(cpu / 100, 8) + Text(f" {cpu:5.1f}")
    state = node.state if node.state != "ALIVE" or not node.activity else f"{node.activity}"
    logical = node.cpu_logical
    gpus = ""
    if node.gpu_logical and node.gpu_logical.total:
        gpus = usage_text(node.gpu_logical, is_bytes=False, sep="/")
    elif node.gpus:
        gpus = str(len(node.gpus))
    cells = [
        Text(node.hostname or "-"),
        node.ip,
        "●" if node.is_head else "",
        status_text(state if node.state == "ALIVE" else node.state),
        cpu_cell,
        usage_text(logical, is_bytes=False, sep="/"),
        usage_text(node.memory, is_bytes=True, sep="/"),
        usage_text(node.object_store, is_bytes=True, sep="/"),
        gpus or "-",
        "-" if node.disk is None else f"{100 * node.disk.fraction:.0f}%",
    ]
    sort = {
        "cpu": cpu if cpu is not None else -1,
        "logical": logical.fraction if logical else -1,
        "memory": node.memory.fraction if node.memory else -1,
        "store": node.object_store.used if node.object_store else -1,
        "gpus": node.gpu_logical.total if node.gpu_logical else len(node.gpus),
        "disk": node.disk.fraction if node.disk else -1,
        "head": 0 if node.is_head else 1,
    }
    return node.node_id, cells, sort


def node_key(node: Node) -> str:
    return node.node_id


class NodesPane(TablePane):
    TITLE = "Nodes"
    SECTIONS = ("nodes",)
    COLUMNS = COLUMNS
    SORT_COLUMN = None  # head first, then alive nodes, then by name (the poller's order)

    class OpenNode(Message):
        def __init__(self, node: Node) -> None:
            super().__init__()
            self.node = node

    def render_snapshot(self, snap: Snapshot) -> None:
        self.table.set_records(snap.nodes, row=node_row, key=node_key)

    def open_row(self, key: str) -> None:
        for node in self.snapshot.nodes:
            if node.node_id == key:
                self.post_message(self.OpenNode(node))
