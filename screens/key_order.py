"""Keys act in the order they were typed, also when a text field has the focus.

Textual 8.2.8 hands a key to the focused widget; a text field (Input, TextArea) inserts a
printable key at once, but a key it does not insert (backspace, arrows, home/end, tab, escape,
ctrl+r) acts only once its event has bubbled back up to the App, one message queue at a time
(Textual issue #6605). When several keys arrive in one read, as they do over a slow SSH link or
from a fast typist, the keys behind such a key overtake it: `b a ⌫ c` gave `ba`, `200`, End,
three backspaces, `120` left a form field empty, and a digit typed after Tab landed in the field
Tab was leaving.

`KeysInOrderApp` keeps one key in flight at a time while a text field has the focus: when it
hands the field a key the field will not handle itself (it bubbles), the keys (and pastes) that
come after it wait at the App until that key is back and its binding has run, then go on, to
whichever widget has the focus by then. The binding is resolved exactly as Textual's App would
(`_check_bindings`, then `key_` methods); only the wait is added, a few milliseconds, and at most
`HOLD_LIMIT_S` when a key never comes back (its widget was removed on the way). Keys to tables,
lists and buttons all go the bubbling way already and are not held.
"""

from __future__ import annotations

from collections import deque

from textual import events
from textual._dispatch_key import dispatch_key
from textual.app import App

from raycockpit.screens.widgets.ordered_input import KeysInOrder

HOLD_LIMIT_S = 0.5  # a key that never bubbles back stops holding the next ones after this


class KeysInOrderApp(App):
    """The App whose keys after a bubbling key wait for it (CockpitApp's base)."""

    _in_flight: events.Key | None = None
    _held: deque | None = None
    _hold_timer = None

    async def on_event(self, event: events.Event) -> None:
        typed = isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded
        if typed and self._in_flight is not None:
            if self._held is None:
                self._held = deque()
            self._held.append(event)  # after the key in flight, in the order they came
            return
        await super().on_event(event)
        if typed and isinstance(event, events.Key) and event.is_forwarded:
            focused = self.focused
            if isinstance(focused, KeysInOrder) and not focused.handles_key(event):
                self._in_flight = event  # it will bubble back to _on_key below
                self._hold_timer = self.set_timer(HOLD_LIMIT_S, self._let_go)

    async def _on_key(self, event: events.Key) -> None:
        """The key in flight is back: run it as Textual's App._on_key would, then the rest."""
        if event is not self._in_flight:
            return  # App._on_key (next in the MRO) runs it
        event.prevent_default()  # App._on_key must not run it a second time
        if not await self._check_bindings(event.key):
            await dispatch_key(self, event)
        await self._let_go()

    async def _let_go(self) -> None:
        """Nothing in flight any more: hand on the held keys until one is in flight again."""
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        self._in_flight = None
        while self._held and self._in_flight is None:
            await self.on_event(self._held.popleft())
