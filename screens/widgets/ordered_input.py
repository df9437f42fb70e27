"""Text fields that say exactly which keys they act on themselves (with screens/key_order.py).

A text field inserts a printable key itself, at once; every other key (backspace, arrows, Tab,
Escape, ...) bubbles up to the App and acts there, later (Textual #6605). The App
(`KeysInOrderApp`) holds the keys that come after a bubbling key until it has acted; to know
which keys bubble it asks the focused widget: these fields by `handles_key` (TextArea also
inserts Enter itself, which its `check_consume_key` does not say). Every text field of the
cockpit is an `OrderedInput` or `OrderedTextArea` (tests/unit/test_screens_walls.py).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input, TextArea


class KeysInOrder:
    """A text field that says which keys it handles itself (the others bubble to the App)."""

    def handles_key(self, event: events.Key) -> bool:
        return event.is_printable


class OrderedInput(KeysInOrder, Input):
    """Input whose editing keys keep their place among the keys typed around them."""


class OrderedTextArea(KeysInOrder, TextArea):
    """TextArea whose editing keys keep their place among the keys typed around them."""

    def handles_key(self, event: events.Key) -> bool:
        if self.read_only:
            return False
        # TextArea._on_key inserts these itself (Enter, and Tab when it indents)
        extra = ("enter", "tab") if self.tab_behavior == "indent" else ("enter",)
        return event.is_printable or event.key in extra
