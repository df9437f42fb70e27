"""Small modal dialogs: confirm an action that names its target, and show a launch preview."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    """`y` confirms, `n`/Escape cancels. Dismisses with True or False."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 70; height: auto; border: thick $warning; background: $panel; padding: 1 2; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question, style="bold"))
            yield Static(Text("\ny = yes    n / Esc = no", style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PreviewScreen(ModalScreen[None]):
    """Exactly what will be sent: the POST body, and the same launch as a `ray job submit` line."""

    BINDINGS = [Binding("escape,q,ctrl+o", "app.pop_screen", "Close", id="preview.close")]
    DEFAULT_CSS = """
    PreviewScreen { align: center middle; }
    PreviewScreen > VerticalScroll { width: 90%; height: 85%; border: round $primary; background: $panel; padding: 0 1; }
    """

    def __init__(self, body_json: str, command: str, note: str = "") -> None:
        super().__init__()
        self.body_json = body_json
        self.command = command
        self.note = note

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("POST /api/jobs/", style="bold"))
            yield Static(Syntax(self.body_json, "json", word_wrap=True, theme="ansi_dark"), id="preview-body")
            yield Static(Text("\nThe same launch with the Ray CLI", style="bold"))
            yield Static(Text(self.command), id="preview-command")
            if self.note:
                yield Static(Text("\n" + self.note, style="dim"))
