"""The terminal driver's input thread (screens/driver.py) on a real pseudo-terminal: what it
decodes, and when it lets a held Escape go (the rule, not a stopwatch)."""

from __future__ import annotations

import asyncio
import os
import pty
import queue
import sys
import threading
import time
import tty

import pytest
from textual import constants, events
from textual._xterm_parser import XTermParser

from raycockpit.screens import driver as driver_module
from raycockpit.screens.driver import IDLE_TICK_S, PromptEscapeDriver, select_timeout


class _App:
    """What the driver reads of its app: it records the input thread's early calls."""

    def __init__(self, received: queue.Queue) -> None:
        self._driver = None
        self.received = received

    def input_arriving(self) -> None:
        self.received.put("arriving")


class _Driver(PromptEscapeDriver):
    def __init__(self, fd: int, received: queue.Queue) -> None:
        super().__init__(_App(received), debug=False, size=(80, 24))
        self.fileno = fd
        self.received = received

    def process_message(self, message) -> None:
        self.received.put(message)


@pytest.fixture
def keys_from_a_pty(monkeypatch):
    """(write bytes to the terminal, next decoded key): the driver's own input thread reads the
    pty's other end."""
    monkeypatch.delenv("ESCDELAY", raising=False)
    monkeypatch.setattr(constants, "ESCAPE_DELAY", constants.ESCAPE_DELAY)  # restored after
    master, slave = pty.openpty()
    tty.setraw(slave)
    received: queue.Queue = queue.Queue()
    monkeypatch.setattr(sys, "__stdin__", sys.__stderr__)  # LinuxDriver reads its fileno

    async def make() -> _Driver:  # a Driver is made inside a running loop
        return _Driver(slave, received)

    loop = asyncio.new_event_loop()
    try:
        drv = loop.run_until_complete(make())
    finally:
        loop.close()
    thread = threading.Thread(target=drv.run_input_thread, daemon=True)
    thread.start()

    def next_key(timeout: float = 5.0) -> str:
        while True:
            message = received.get(timeout=timeout)
            if isinstance(message, events.Key):
                return message.key

    yield (lambda data: os.write(master, data)), next_key, drv
    drv.exit_event.set()
    thread.join(timeout=5)
    os.close(master)
    os.close(slave)
    assert not thread.is_alive()


def test_a_lone_escape_an_arrow_and_a_letter_are_told_apart(keys_from_a_pty):
    write, next_key, _ = keys_from_a_pty
    write(b"\x1b")
    assert next_key() == "escape"
    write(b"\x1b[B")  # down arrow: one write, as a terminal (and sshd) sends it
    assert next_key() == "down"
    write(b"j")
    assert next_key() == "j"
    write(b"\x1b")
    write(b"\x1b[A")
    assert [next_key(), next_key()] == ["escape", "up"]


def test_a_sequence_split_inside_the_delay_is_still_one_key(keys_from_a_pty):
    write, next_key, _ = keys_from_a_pty
    assert constants.ESCAPE_DELAY == driver_module.ESCDELAY_MS / 1000
    write(b"\x1b[")
    time.sleep(0.005)  # well inside the 50 ms delay
    write(b"C")
    assert next_key() == "right"


def test_escdelay_set_by_the_user_wins(monkeypatch):
    monkeypatch.setattr(constants, "ESCAPE_DELAY", 0.3)
    monkeypatch.setenv("ESCDELAY", "300")
    assert driver_module.use_escape_delay() == 0.3
    monkeypatch.delenv("ESCDELAY")
    assert driver_module.use_escape_delay() == driver_module.ESCDELAY_MS / 1000


def test_the_input_thread_waits_only_until_a_held_escape_is_due():
    parser = XTermParser()
    assert select_timeout(parser) == IDLE_TICK_S  # nothing held: Textual's own tick
    list(parser.feed("\x1b"))  # a lone ESC: held for the escape delay
    due = parser._timeout_time
    assert due is not None
    assert select_timeout(parser, now=due - 0.03) == pytest.approx(0.03)
    assert select_timeout(parser, now=due + 1) == 0.0
    assert select_timeout(parser, now=due - 5) == IDLE_TICK_S  # never longer than the tick


def test_the_app_hears_of_a_key_before_the_escape_hold_is_over(keys_from_a_pty):
    write, _, drv = keys_from_a_pty
    write(b"\x1b")
    first = drv.received.get(timeout=5)
    second = drv.received.get(timeout=5)
    assert first == "arriving"  # in the input thread, as the byte came: the poller steps aside
    assert isinstance(second, events.Key) and second.key == "escape"


def test_an_escape_and_a_key_in_one_read_are_two_keys(keys_from_a_pty):
    """A slow link or a busy app gives ESC and the next key in one read: Textual made `ESC 5`
    the key `∞` and `ESC /` a bare `/` (the Escape lost); the cockpit binds no alt key."""
    write, next_key, _ = keys_from_a_pty
    for data, keys in (
        (b"\x1b5", ["escape", "5"]),
        (b"\x1b/", ["escape", "slash"]),
        (b"\x1bq", ["escape", "q"]),
        (b"j\x1b7k", ["j", "escape", "7", "k"]),
        (b"\x1bOP", ["f1"]),  # a sequence stays one key
        (b"\x1b[A\x1b2", ["up", "escape", "2"]),
    ):
        write(data)
        assert [next_key() for _ in keys] == keys, data


def test_a_paste_goes_to_the_parser_as_it_came(keys_from_a_pty):
    """An ESC inside a bracketed paste is not cut out (Textual's parser decides, as before)."""
    write, _, drv = keys_from_a_pty
    data = "\x1b[200~a\x1b5b\x1b[201~"
    want = [type(e).__name__ for e in XTermParser().feed(data)]
    write(data.encode())
    got: list[str] = []
    while len(got) < len(want):
        message = drv.received.get(timeout=5)
        if isinstance(message, (events.Key, events.Paste)):
            got.append(type(message).__name__)
    assert got == want


def test_the_splitter_keeps_sequences_and_knows_a_paste_across_reads():
    split = driver_module.EscapeSplitter().split
    assert split("\x1b5") == [("\x1b", True), ("5", False)]
    assert split("\x1b[1;5A\x1b]11;rgb:0/0/0\x1b\\") == [
        ("\x1b[1;5A\x1b]11;rgb:0/0/0\x1b\\", False)
    ]
    assert split("\x1b") == [("\x1b", False)]  # a lone ESC: the parser's delay decides
    assert split("\x1b[200~x\x1b5") == [("\x1b[200~x\x1b5", False)]
    assert split("\x1b7\x1b[201~\x1b7") == [("\x1b7\x1b[201~", False), ("\x1b", True), ("7", False)]


def test_the_cockpit_app_picks_this_driver_on_a_linux_terminal(monkeypatch):
    """The override lives in a mixin (screens/terminal.py): placed after App in the bases, App's
    own get_driver_class would come first and the cockpit would run on Textual's driver."""
    from textual.drivers.linux_driver import LinuxDriver

    from raycockpit.cockpit.config import Settings
    from raycockpit.screens.app import make_app
    from raycockpit.screens.driver import PromptEscapeDriver

    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.setattr("textual.app.WINDOWS", False, raising=False)
    app = make_app(Settings())
    chosen = app.get_driver_class()
    if not issubclass(chosen, LinuxDriver):
        pytest.skip(f"Textual picks {chosen.__name__} here")
    assert chosen is PromptEscapeDriver
