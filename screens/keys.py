"""`?`: every key of the app and of the current pane, in one list."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from raycockpit.screens.styles import INFO_STRONG


class KeysScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close", id="keys.close")]

    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    KeysScreen VerticalScroll {
        width: 72; height: 80%; border: round $primary; background: $panel; padding: 0 1;
    }
    """

    def __init__(self, groups: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 2), show_header=False)
        table.add_column(style=INFO_STRONG, width=16)
        table.add_column()
        for title, keys in self.groups:
            table.add_row(f"[bold]{title}[/]", "")
            for key, description in keys:
                table.add_row(key, description)
            table.add_row("", "")
        with VerticalScroll():
            yield Static(table, markup=False)
