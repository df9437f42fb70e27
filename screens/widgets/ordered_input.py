"""Text inputs whose editing keys act in the order they were typed.

Textual 8.2.8's Input and TextArea insert a printable key as soon as it reaches them, but an
editing key they bind (backspace, delete, arrows, home/end, ctrl+u, ...) acts only once its Key
event has bubbled up to the App, one message queue at a time (Textual issue #6605). When several
keys arrive in one read, as they do over a slow SSH link or when typing fast, the character after
a backspace is inserted first and the backspace then deletes it: typing `1`, backspace, `4` in a
form field left it empty, and a selected value was replaced in the wrong order.

`KeysInOrder` runs the focused widget's own (non-priority) binding for a key inline, in its key
handler, exactly as the App would have resolved it later (the same binding chain, keymap
included): the widget is the first namespace of that chain, and priority bindings were already
checked before the key reached it. Keys it does not bind bubble as before. Every text input of
the cockpit is an `OrderedInput` or `OrderedTextArea` (tests/unit/test_screens_walls.py).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input, TextArea


class KeysInOrder:
    """Mixin for a text widget: its own bound keys act when they come, not after a bubble.

    Textual calls the `_on_key` of every class in the widget's MRO, most derived first, until
    one prevents the default: this one runs first and, when it ran a binding, stops the rest
    (Input's own handler would otherwise see the key too)."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await self._run_own_binding(event.key):
            event.stop()  # handled: no bubble to the App, which would run the binding again
            event.prevent_default()

    async def _run_own_binding(self, key: str) -> bool:
        """Run this widget's binding for `key` when it is the focused widget and binds the key;
        whether a binding ran."""
        chain = self.screen._modal_binding_chain  # Textual's own: keymap applied
        if not chain or chain[0][0] is not self:
            return False  # not focused (the key was sent here some other way): Textual's path
        for binding in chain[0][1].key_to_bindings.get(key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                return True
        return False


class OrderedInput(KeysInOrder, Input):
    """Input whose backspace, arrows and other editing keys keep their place among typed keys."""


class OrderedTextArea(KeysInOrder, TextArea):
    """TextArea whose editing keys keep their place among typed keys."""
