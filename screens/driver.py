"""The terminal driver: Textual's Linux driver, with a lone Escape let go on time.

A terminal sends Escape as the byte ESC, which is also how every escape sequence (arrows, F-keys)
begins, so Textual holds a lone ESC for ESCDELAY before it calls it the Escape key. Its Linux
driver checks that delay only when its input thread's `select()` times out, every 100 ms: a lone
Escape took 100-200 ms to act, the slowest key of the cockpit (benchmarks/scale.py measured it).
This driver's input thread waits only until the pending delay is over, and the cockpit's delay is
50 ms (neovim's `ttimeoutlen`) unless `ESCDELAY` (milliseconds, Textual's own variable) is set: a
sequence's bytes come in one write from the terminal, and in one SSH packet over a slow link, so
50 ms still tells them apart.

The input thread also tells the app, by its `input_arriving()` (called in that thread), that a key
is coming as soon as its bytes are read: the cockpit's poller then steps aside from decoding a big
answer during the Escape hold and the key's way through the event loop, not only once the key
event reaches the app.

`run_input_thread` below is Textual 8.2.8's (pinned in pyproject.toml) with those two changes.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder

from textual import constants
from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

ESCDELAY_MS = 50
IDLE_TICK_S = 0.1  # Textual's own select() timeout while no Escape is pending


def use_escape_delay(environ=os.environ) -> float:
    """Set Textual's escape delay to ours unless the user set ESCDELAY; return it in seconds."""
    if "ESCDELAY" not in environ:
        constants.ESCAPE_DELAY = ESCDELAY_MS / 1000.0  # read by the parser at each lone ESC
    return constants.ESCAPE_DELAY


def select_timeout(parser: XTermParser, now: float | None = None) -> float:
    """How long the input thread may wait for input: until a held ESC (or the rest of a partial
    sequence) is due to be let go, else Textual's idle tick."""
    due = parser._timeout_time  # set by the parser while it waits with a timeout
    if due is None:
        return IDLE_TICK_S
    return min(IDLE_TICK_S, max(0.0, due - (get_time() if now is None else now)))


class PromptEscapeDriver(LinuxDriver):
    """LinuxDriver whose input thread wakes when a held Escape's delay is over."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        use_escape_delay()

    def run_input_thread(self) -> None:
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        event_read = selectors.EVENT_READ
        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick
        decode = getincrementaldecoder("utf-8")().decode
        read = os.read
        # the app's hook, called in this thread as soon as bytes come (before an Escape's hold)
        arrived = getattr(self._app, "input_arriving", None)

        def process(events: list, final: bool = False) -> None:
            for last, (_key, mask) in loop_last(events):
                if mask & event_read:
                    data = decode(read(fileno, 1024 * 4), final=final and last)
                    if not data:
                        break  # stdin is a pipe that closed
                    if arrived is not None:
                        arrived()
                    for event in feed(data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(select_timeout(parser)))
            selector.unregister(self.fileno)
            process(selector.select(IDLE_TICK_S), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass
