"""Keys act in the order they were typed, and on the widget that has the focus by then.

Textual 8.2.8 hands each key to the focused widget as soon as it comes. A key the widget does
not act on itself (every key of a table, and all but the printable ones of a text field) then
bubbles back up to the App, one message queue at a time, and only there does its binding run
(Textual issue #6605). When several keys arrive in one read, as they do over a slow SSH link or
from a fast typist, the keys behind such a key are handed out before it has acted: in a text
field `b a ⌫ c` gave `ba` and `200`, End, three backspaces, `120` left it empty; a digit typed
after Tab landed in the field Tab was leaving; `/core` typed on the Jobs pane went to the table,
not the filter bar `/` opens, and the filter read `re` or nothing.

`KeysInOrderApp` keeps one such key in flight at a time: the keys (and pastes) that come after
it wait at the App until it is back and its binding has run, then go on, to whichever widget has
the focus by then. The binding is resolved exactly as Textual's App would (`_check_bindings`,
then `key_` methods); only the wait is added, a few milliseconds, and only when keys come faster
than that; at most `HOLD_LIMIT_S` when a key never comes back (its widget was removed on the
way). A key the focused widget acts on itself (a text field's printable keys, as its
`check_consume_key` or `handles_key` says) does not bubble and holds nothing.

A binding often acts a message or two later: Enter on the Launch pane's list posts
`OptionSelected`, the pane answers with `OpenForm`, the App's handler pushes the form, and the
form gives its first field the focus once it is mounted. `Enter End ⌫⌫⌫ 9` in one read left the
list with `End ⌫⌫⌫ 9` and the form's num tasks as it was. So the held keys go on only once the
widgets the key went through (the one it was sent to and those above it) have handled every
message queued for them, what they passed up has had its turn at the App, and a screen pushed
meanwhile is mounted with its focus set: at most `SETTLE_LIMIT_S` after the key came back.
"""

from __future__ import annotations

from collections import deque
from functools import partial

from textual import events
from textual._dispatch_key import dispatch_key
from textual.app import App
from textual.dom import DOMNode

from raycockpit.screens.widgets.ordered_input import KeysInOrder

HOLD_LIMIT_S = 0.5  # a key that never bubbles back stops holding the next ones after this
SETTLE_LIMIT_S = 1.0  # nor do the messages its binding set off, past this after it came back
SPINS_BEFORE_TIMER = 20  # turns of the App's queue spent waiting before waiting by a timer
SETTLE_POLL_S = 0.005


def busy(node: DOMNode) -> bool:
    """Whether a widget (or screen) has messages queued or one being handled (a widget that is
    being removed is done: what is left in its queue will not be handled)."""
    if node._closing or node._closed:
        return False
    queue = node._message_queue
    return bool(getattr(queue, "_unfinished_tasks", queue.qsize()))  # put, not yet task_done


class KeysInOrderApp(App):
    """The App whose keys after a bubbling key wait for it (CockpitApp's base)."""

    _in_flight: events.Key | None = None
    _held: deque | None = None
    _hold_timer = None
    _path: tuple[DOMNode, ...] = ()  # the widget the key in flight was sent to, and those above
    _pushed: tuple = ()  # screens pushed since it went in flight

    async def on_event(self, event: events.Event) -> None:
        typed = isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded
        if typed and self._in_flight is not None:
            if self._held is None:
                self._held = deque()
            self._held.append(event)  # after the key in flight, in the order they came
            return
        await super().on_event(event)
        if typed and isinstance(event, events.Key) and event.is_forwarded:
            if not self._acted_on_where_sent(event):
                self._in_flight = event  # it will bubble back to _on_key below
                sent_to = self.focused or self.screen
                self._path = tuple(n for n in sent_to.ancestors_with_self if n is not self)
                self._hold_timer = self.set_timer(HOLD_LIMIT_S, self._let_go)

    def _acted_on_where_sent(self, event: events.Key) -> bool:
        """Whether the focused widget acts on this key itself (it does not bubble back)."""
        focused = self.focused
        if isinstance(focused, KeysInOrder):
            return focused.handles_key(event)
        return focused is not None and focused.check_consume_key(event.key, event.character)

    async def _on_key(self, event: events.Key) -> None:
        """The key in flight is back: run it as Textual's App._on_key would, then the rest."""
        if event is not self._in_flight:
            return  # App._on_key (next in the MRO) runs it
        event.prevent_default()  # App._on_key must not run it a second time
        if not await self._check_bindings(event.key):
            await dispatch_key(self, event)
        if self._hold_timer is not None:
            self._hold_timer.stop()
        self._hold_timer = self.set_timer(SETTLE_LIMIT_S, self._let_go)
        # after what the binding queued here: Widget.focus() moves the focus by call_later
        self.call_later(self._settle, event)

    def push_screen(self, screen, *args, **kwargs):
        if self._in_flight is not None and not isinstance(screen, str):
            self._pushed += (screen,)  # the keys behind wait until it is mounted
        return super().push_screen(screen, *args, **kwargs)

    async def _settle(self, event: events.Key, spins: int = 0, quiet_before: bool = False) -> None:
        """Let the held keys go once what the key in flight set off has been handled.

        Each look comes by the App's queue, behind whatever the widgets on the key's path have
        passed up to the App so far; two quiet looks in a row (the second behind the focus a
        pushed screen's on_mount queued) end the wait."""
        if self._in_flight is not event:
            return  # let go already (the limit)
        quiet = not any(busy(node) for node in (*self._path, *self._pushed)) and all(
            screen.is_mounted or screen not in self.screen_stack  # mounted, or gone already
            for screen in self._pushed
        )
        if quiet and quiet_before:
            await self._let_go()
        elif quiet or spins < SPINS_BEFORE_TIMER:
            self.call_later(self._settle, event, spins + 1, quiet)
        else:
            self.set_timer(SETTLE_POLL_S, partial(self.call_later, self._settle, event, spins + 1))

    async def _let_go(self) -> None:
        """Nothing in flight any more: hand on the held keys until one is in flight again."""
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        self._in_flight = None
        self._path = self._pushed = ()
        while self._held and self._in_flight is None:
            await self.on_event(self._held.popleft())
