"""Shown while the embedded local Ray head starts: what is happening, never a frozen screen."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import LoadingIndicator, Log, Static

from raycockpit.screens.styles import BAD_STRONG


class StartupScreen(Screen):
    BINDINGS = [Binding("q,ctrl+c", "app.quit", "Quit", id="startup.quit")]

    DEFAULT_CSS = """
    StartupScreen Vertical { align: center middle; }
    StartupScreen #startup-title { width: 80; text-align: center; padding: 1; }
    StartupScreen LoadingIndicator { height: 1; }
    StartupScreen #startup-tick { width: 80; text-align: center; height: 1; }
    StartupScreen Log { width: 90; height: 12; border: round $primary 50%; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text("Starting an embedded local Ray head (loopback only)…", style="bold"),
                id="startup-title",
                markup=False,
            )
            yield LoadingIndicator()
            yield Static(id="startup-tick", markup=False)
            with Center():
                yield Log(id="startup-log")

    def progress(self, text: str) -> None:
        """Distinct steps go to the log; the repeating 'waiting... N s' ticks in one line."""
        if text.startswith("waiting"):
            self.query_one("#startup-tick", Static).update(Text(text, style="dim"))
        else:
            self.query_one("#startup-log", Log).write_line(text)

    def failed(self, error: str) -> None:
        self.query_one(LoadingIndicator).display = False
        self.query_one("#startup-title", Static).update(
            Text(f"Could not start a local Ray head.\n{error}\nPress q to quit.", style=BAD_STRONG)
        )
