"""Fleet: one line per context (the clusters named in the settings, and the one shown now):
reachable or why not, Ray version, nodes, CPUs and GPUs in use, jobs running and failed in the
last hour, Serve apps that are not healthy. Enter opens the selected cluster in this cockpit.

The app feeds it rows (cockpit/fleet.py) from its background FleetWatcher and, for the current
cluster, from its own snapshots; the pane only renders them.
"""

from __future__ import annotations

from rich.text import Text
from textual.message import Message

from raycockpit.cockpit.fleet import FleetRow
from raycockpit.cockpit.format import human_duration
from raycockpit.cockpit.models import Snapshot
from raycockpit.screens.base import TablePane
from raycockpit.screens.styles import BAD, OK, WARN
from raycockpit.screens.widgets.keyed_table import Column
from raycockpit.screens.widgets.render import bar

COLUMNS = [
    Column("name", "Context"),
    Column("state", "State"),
    Column("ray", "Ray"),
    Column("nodes", "Nodes"),
    Column("cpu", "CPUs used", width=18),
    Column("gpu", "GPUs used", width=18),
    Column("jobs", "Running"),
    Column("failed", "Failed 1h"),
    Column("serve", "Serve"),
    Column("where", "Where"),
    Column("why", "Why not / stale"),
]


def _usage(used: float, total: float) -> Text:
    if total <= 0:
        return Text("-")
    return bar(used / total, 6) + Text(f" {used:g}/{total:g}")


def fleet_cells(row: FleetRow, now: float) -> tuple[str, list, dict]:
    name = Text(("▶ " if row.current else "  ") + row.name, style="bold" if row.current else "")
    if row.reachable:
        state = Text("● up", style=WARN if row.error else OK)
    elif row.checked_at:
        state = Text("✗ down", style=BAD)
    else:
        state = Text("… asking", style="dim")
    why = Text(row.error, style=WARN if row.reachable else BAD)
    nodes = f"{row.nodes_alive}" + (f" +{row.nodes_dead} dead" if row.nodes_dead else "")
    serve = (
        Text(", ".join(row.serve_unhealthy) + " unhealthy", style=BAD)
        if row.serve_unhealthy
        else Text("ok" if row.reachable else "-", style="dim")
    )
    failed = Text(str(row.jobs_failed_1h), style=BAD if row.jobs_failed_1h else "")
    cells = [
        name,
        state,
        row.ray_version or "-",
        nodes if row.reachable else "-",
        _usage(row.cpu_used, row.cpu_total) if row.reachable else "-",
        _usage(row.gpu_used, row.gpu_total) if row.reachable else "-",
        str(row.jobs_running) if row.reachable else "-",
        failed if row.reachable else "-",
        serve,
        row.where + (f"  ({human_duration(now - row.checked_at)} ago)" if row.checked_at else ""),
        why,
    ]
    sort = {
        "state": 0 if row.reachable else 1,
        "cpu": row.cpu_used,
        "gpu": row.gpu_used,
        "jobs": row.jobs_running,
        "failed": row.jobs_failed_1h,
    }
    return row.name, cells, sort


class FleetPane(TablePane):
    TITLE = "Fleet"
    SECTIONS = ()
    POLLS = ("nodes", "jobs", "serve")  # the current cluster's own row
    TICKS = True
    COLUMNS = COLUMNS
    SORT_COLUMN = None  # the settings' order, the current cluster first

    class OpenContext(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: dict[str, FleetRow] = {}

    def set_rows(self, rows: dict[str, FleetRow]) -> None:
        self.rows = rows
        if self.snapshot is not None:
            self.render_snapshot(self.snapshot)

    def render_snapshot(self, snap: Snapshot) -> None:
        now = snap.fetched_at
        ordered = sorted(self.rows.values(), key=lambda r: not r.current)
        self.table.set_rows([fleet_cells(row, now) for row in ordered])

    def open_row(self, key: str) -> None:
        self.post_message(self.OpenContext(key))
