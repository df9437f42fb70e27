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

An Escape and the key typed after it can also come in one read: over a slow SSH link keystrokes
bunch up, and while the app is busy its input thread reads late. Textual then takes ESC and the
key as one: `ESC 5` became the key `∞`, `ESC 7` `¶`, `ESC /` a bare `/`, `ESC q` alt+q, so the
Escape was lost and the key with it or changed (leaving a job screen with Esc then 5 did nothing,
and in a form the `∞` was typed into the field). The cockpit binds no alt key, so an ESC followed
in the same read by a key of the cockpit (a digit, a lower-case letter, `/`, `:`, `?`) is taken
as the two keys, except inside a bracketed paste; escape sequences (`ESC [`, `ESC O`, `ESC ]`,
`ESC \\`) and a lone ESC at the end of a read go to Textual's parser as before.

`run_input_thread` below is Textual 8.2.8's (pinned in pyproject.toml) with those changes.
"""

from __future__ import annotations

import os
import selectors
import signal
import sys
from codecs import getincrementaldecoder

from textual import constants
from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.events import Key

ESCDELAY_MS = 50
IDLE_TICK_S = 0.1  # Textual's own select() timeout while no Escape is pending


def use_escape_delay(environ=os.environ) -> float:
    """Set Textual's escape delay to ours unless the user set ESCDELAY; return it in seconds."""
    if "ESCDELAY" not in environ:
        constants.ESCAPE_DELAY = ESCDELAY_MS / 1000.0  # read by the parser at each lone ESC
    return constants.ESCAPE_DELAY


ESC = "\x1b"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
KEYS_AFTER_ESCAPE = frozenset("0123456789abcdefghijklmnopqrstuvwxyz/:?")


class EscapeSplitter:
    """Cuts a read where an ESC is followed by a cockpit key: those ESCs are Escape keys."""

    def __init__(self) -> None:
        self.in_paste = False  # between a bracketed paste's start and end, across reads

    def split(self, data: str) -> list[tuple[str, bool]]:
        """[(text for the parser, False) | (ESC, True) for an Escape key], in order."""
        pieces: list[tuple[str, bool]] = []
        start = 0
        i = data.find(ESC)
        while i != -1:
            if data.startswith(PASTE_START, i):
                self.in_paste = True
            elif data.startswith(PASTE_END, i):
                self.in_paste = False
            elif not self.in_paste and data[i + 1 : i + 2] in KEYS_AFTER_ESCAPE:
                if i > start:
                    pieces.append((data[start:i], False))
                pieces.append((ESC, True))
                start = i + 1
            i = data.find(ESC, i + 1)
        if start < len(data):
            pieces.append((data[start:], False))
        return pieces


def select_timeout(parser: XTermParser, now: float | None = None) -> float:
    """How long the input thread may wait for input: until a held ESC (or the rest of a partial
    sequence) is due to be let go, else Textual's idle tick."""
    due = parser._timeout_time  # set by the parser while it waits with a timeout
    if due is None:
        return IDLE_TICK_S
    return min(IDLE_TICK_S, max(0.0, due - (get_time() if now is None else now)))


class PromptEscapeDriver(LinuxDriver):
    """LinuxDriver whose input thread wakes when a held Escape's delay is over, and whose ctrl+z
    says where the cockpit went and stops its whole process group."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        use_escape_delay()
        self.suspend_note = ""  # printed once the screen is left on the next SIGTSTP (ctrl+z)

    def _sigtstp_application(self, *_) -> None:
        """Textual's SIGTSTP handler (leave the screen; SIGCONT brings it back, once), plus the
        note, and the SIGSTOP goes to the process group, as the terminal's ctrl+z would: a
        wrapper the shell waits for (`./dev run`) stops too, so the shell sees the job stop.
        (Leaving and coming back by App.suspend() instead resumed twice: Textual's SIGCONT
        handler ran after the with-block had restored its auto-restart, and two input threads
        then split the keystrokes, a key now and then lost.)"""
        if self._auto_restart:
            self.suspend_application_mode()
            self._must_signal_resume = True
        note, self.suspend_note = self.suspend_note, ""
        if note:
            try:
                sys.__stderr__.write(note + "\n")
                sys.__stderr__.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os.killpg(os.getpgrp(), signal.SIGSTOP)

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
        split = EscapeSplitter().split

        def process(events: list, final: bool = False) -> None:
            for last, (_key, mask) in loop_last(events):
                if mask & event_read:
                    data = decode(read(fileno, 1024 * 4), final=final and last)
                    if not data:
                        break  # stdin is a pipe that closed
                    if arrived is not None:
                        arrived()
                    for text, escape_key in split(data):
                        if escape_key and parser._timeout_time is None:  # not inside a sequence
                            self.process_message(Key("escape", ESC))
                            continue
                        for event in feed(text):
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
