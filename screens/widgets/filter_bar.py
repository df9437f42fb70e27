"""A one-line filter input that opens with `/`, filters as you type, and closes with
Enter/Escape."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from raycockpit.screens.widgets.ordered_input import OrderedInput


class FilterBar(OrderedInput):
    BINDINGS = [Binding("escape", "clear_close", "Clear filter", id="filter.clear")]

    DEFAULT_CSS = """
    FilterBar { display: none; height: 3; }
    FilterBar.-open { display: block; }
    """

    class FilterChanged(Message):
        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

    class FilterDone(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            placeholder="filter: type to match any column; Enter keeps it, Esc clears", id=id
        )

    can_focus = False  # only while open: a hidden input must never take the keys

    def open(self) -> None:
        self.can_focus = True
        self.add_class("-open")
        self.focus()

    def keep(self, value: str) -> None:
        """Show `value` as a kept filter (as if typed and Enter'd), the focus left where it is."""
        self.value = value  # posts FilterChanged
        self.set_class(bool(value), "-open")

    def _close(self) -> None:
        self.remove_class("-open")
        self.can_focus = False

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.FilterChanged(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self._close()
        self.post_message(self.FilterDone())

    def action_clear_close(self) -> None:
        self.value = ""
        self._close()
        self.post_message(self.FilterChanged(""))
        self.post_message(self.FilterDone())
