"""Small modal dialogs: confirm an action that names its target, ask for a replica count, and
show a launch preview."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from raycockpit.screens.styles import INFO_STRONG
from raycockpit.screens.widgets.ordered_input import OrderedInput

MAX_SCALE = 1024


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no about one named thing; Cancel has the focus, so Enter alone never deletes."""

    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel", id="confirm.no"),
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 70; height: auto; max-height: 90%; border: round $error;
                               background: $panel; padding: 0 1; }
    ConfirmScreen #confirm-question { text-style: bold; margin-bottom: 1; }
    ConfirmScreen Horizontal { height: auto; margin-top: 1; }
    ConfirmScreen Button { margin-right: 2; }
    """

    def __init__(self, question: str, detail: str, yes: str) -> None:
        super().__init__()
        self.question, self.detail, self.yes = question, detail, yes

    def compose(self) -> ComposeResult:
        with Vertical():
            # markup=False: an entrypoint or a name may hold [...] (`echo [/]` raised)
            yield Static(self.question, id="confirm-question", markup=False)
            yield Static(self.detail, id="confirm-detail", markup=False)
            with Horizontal():
                yield Button("Cancel (n)", id="confirm-cancel", compact=True)
                yield Button(f"{self.yes} (y)", id="confirm-yes", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ScaleScreen(ModalScreen[int | None]):
    """How many replicas: a whole number 0..MAX_SCALE; Enter sends, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="scale.cancel")]
    DEFAULT_CSS = """
    ScaleScreen { align: center middle; }
    ScaleScreen > Vertical { width: 60; height: auto; border: round $primary; background: $panel;
                             padding: 0 1; }
    ScaleScreen #scale-error { color: $error; height: auto; }
    """

    def __init__(self, app_name: str, deployment: str, current: int | None) -> None:
        super().__init__()
        self.app_name, self.deployment, self.current = app_name, deployment, current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    ("Scale ", "bold"),
                    (f"{self.app_name} / {self.deployment}", INFO_STRONG),
                    f"  (now {self.current if self.current is not None else '?'} replicas)",
                ),
                markup=False,
            )
            yield Static(f"Replicas (0..{MAX_SCALE}), Enter to send, Esc to cancel:", markup=False)
            yield OrderedInput(str(self.current or 1), id="scale-input", compact=True)
            yield Static("", id="scale-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value.isdigit() or not 0 <= int(value) <= MAX_SCALE:
            self.query_one("#scale-error", Static).update(
                Text(f"type a whole number from 0 to {MAX_SCALE}, not {value!r}")
            )
            return
        self.dismiss(int(value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class PreviewScreen(ModalScreen[None]):
    """Exactly what will be sent: the POST body, and the same launch as a `ray job submit` line."""

    BINDINGS = [Binding("escape,q,ctrl+o", "app.pop_screen", "Close", id="preview.close")]
    DEFAULT_CSS = """
    PreviewScreen { align: center middle; }
    PreviewScreen > VerticalScroll {
        width: 90%; height: 85%; border: round $primary; background: $panel; padding: 0 1;
    }
    """

    def __init__(self, body_json: str, command: str, note: str = "") -> None:
        super().__init__()
        self.body_json = body_json
        self.command = command
        self.note = note

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("POST /api/jobs/", style="bold"), markup=False)
            yield Static(
                Syntax(self.body_json, "json", word_wrap=True, theme="ansi_dark"),
                id="preview-body",
                markup=False,
            )
            yield Static(Text("\nThe same launch with the Ray CLI", style="bold"), markup=False)
            yield Static(Text(self.command), id="preview-command", markup=False)
            if self.note:
                yield Static(Text("\n" + self.note, style="dim"), markup=False)


class PromptScreen(ModalScreen[str | None]):
    """One line of text asked for (e.g. the command `ray exec` runs); Enter gives it, Esc
    cancels. An empty answer counts as cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 80; height: auto; border: round $primary;
                              background: $panel; padding: 0 1; }
    PromptScreen #prompt-question { text-style: bold; margin-bottom: 1; }
    """

    def __init__(self, question: str, placeholder: str = "") -> None:
        super().__init__()
        self.question, self.placeholder = question, placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="prompt-question", markup=False)
            yield OrderedInput(placeholder=self.placeholder, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
