"""ctrl+l: every call that changed the cluster, newest first, with its REST call and `ray` line.

The table lists when, what, on what and how it ended; the selected row's REST call (as `curl`)
and CLI line are shown in full below it. `c` copies the CLI line, `u` the curl line (through
the terminal's clipboard, OSC 52); Esc closes. The screen only renders the app's CommandLog.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from raycockpit.cockpit.command_log import Command, CommandLog
from raycockpit.screens.styles import BAD_STRONG, INFO_STRONG, OK


def home_relative(path: Path) -> str:
    """`~/.local/state/...` for a path under the home folder."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def title(log: CommandLog) -> str:
    """`Command log: 7 calls that changed a cluster (4 in earlier sessions; the last 500 are kept in
    FILE)`, or why the file is not kept."""
    count = len(log)
    text = f"Command log: {count} call{'s' if count != 1 else ''} that changed a cluster"
    earlier = f"{log.earlier} in earlier sessions; " if log.earlier else ""
    if log.problem:
        return f"{text} ({earlier}{log.problem})"
    where = f" in {home_relative(log.path)}" if log.path is not None else ""
    return f"{text} ({earlier}the last {log.limit} are kept{where})"


class CommandLogScreen(ModalScreen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Close", id="commands.close"),
        Binding("c", "copy('cli')", "Copy ray line", id="commands.copy_cli"),
        Binding("u", "copy('curl')", "Copy curl", id="commands.copy_curl"),
    ]

    DEFAULT_CSS = """
    CommandLogScreen { align: center middle; }
    CommandLogScreen > Vertical {
        width: 96%; height: 90%; border: round $primary; background: $panel; padding: 0 1;
    }
    CommandLogScreen #commands-title { text-style: bold; height: auto; }
    CommandLogScreen DataTable { height: 1fr; }
    CommandLogScreen #commands-detail { height: auto; max-height: 60%; margin-top: 1; }
    CommandLogScreen #commands-keys { height: 1; color: $text-muted; }
    """

    def __init__(self, log: CommandLog) -> None:
        super().__init__()
        self.commands = log
        self._shown: list[Command] = []
        self._version = -1

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="commands-title", markup=False)
            yield DataTable(cursor_type="row", zebra_stripes=True, id="commands-table")
            yield Static(id="commands-detail", markup=False)
            yield Static(
                "↑↓ select · c copy the ray line · u copy the curl line · esc close",
                id="commands-keys",
                markup=False,
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("time", "action", "target", "result")
        self._render_rows()
        table.focus()
        self.set_interval(1.0, self._render_rows)

    def _render_rows(self) -> None:
        if self.commands.version == self._version:
            return
        self._version = self.commands.version
        table = self.query_one(DataTable)
        row = table.cursor_row
        self._shown = list(reversed(self.commands.entries()))
        table.clear()
        for i, entry in enumerate(self._shown):
            result = Text(entry.result, style=OK if entry.ok else BAD_STRONG)
            cells = [entry.when, entry.action, entry.target]
            if entry.earlier:  # dimmed: not this session's
                cells = [Text(cell, style="dim") for cell in cells]
            table.add_row(*cells, result, key=str(i))
        self.query_one("#commands-title", Static).update(title(self.commands))
        count = len(self._shown)
        if self._shown:
            table.move_cursor(row=min(max(row, 0), count - 1))
        self._render_detail()

    @property
    def selected(self) -> Command | None:
        row = self.query_one(DataTable).cursor_row
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._render_detail()

    def _render_detail(self) -> None:
        entry = self.selected
        detail = Text()
        if entry is None:
            detail.append("Nothing has changed the cluster from here yet.", style="dim")
        else:
            detail.append(f"{entry.action} {entry.target}".strip(), style="bold")
            detail.append(f"  {entry.result}", style=OK if entry.ok else BAD_STRONG)
            detail.append(f"  {entry.when}" + (f" on {entry.address}" if entry.address else ""))
            detail.append("\n")
            if entry.rest:
                detail.append("REST  ", style=INFO_STRONG)
                detail.append(entry.rest + "\n")
                detail.append("curl  ", style=INFO_STRONG)
                detail.append(entry.curl + "\n")
            detail.append("ray   ", style=INFO_STRONG)
            detail.append((entry.cli or "(none in Ray's CLI)") + "\n")
            if entry.full_note:
                detail.append("note  ", style=INFO_STRONG)
                detail.append(entry.full_note, style="dim")
        self.query_one("#commands-detail", Static).update(detail)

    def action_copy(self, which: str) -> None:
        entry = self.selected
        text = "" if entry is None else (entry.cli if which == "cli" else entry.curl)
        if not text:
            self.app.notify(
                f"no {'ray' if which == 'cli' else 'curl'} line for this entry", severity="warning"
            )
            return
        self.app.copy_to_clipboard(text)
        self.app.notify(f"copied: {text[:80]}{'…' if len(text) > 80 else ''}", timeout=4)
