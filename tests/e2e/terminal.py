"""A real program in a real pseudo-terminal, driven like a person would: a tmux wrapper.

Each Terminal starts its own tmux server (its own socket file in a temp dir, no config file) with
one window running the command at a given size, and keeps the pane after the program exits
(`remain-on-exit on`) so the last screen and the exit status can still be read. The program gets
exactly the environment the test gives it (plus TERM), run through `env -i`: tmux's server
environment (the test runner's, and tmux's own TMUX / TMUX_PANE) never leaks in. `close()` stops
the tmux server and everything still running under it by pid, never by name.

    with Terminal([raycockpit, "--address", url], env={"HOME": home}) as term:
        term.wait_for("Nodes", 30, "the nav line")
        term.send("q")
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from raycockpit.cockpit.local import still_running
from tests.e2e.procs import Tree, descendants, stop_tree, wait_gone

__all__ = ["BASE_ENV", "Terminal", "descendants", "find_tmux", "wait_gone"]

# what a login session typically has; the test adds HOME, the program's own variables, TERM
BASE_ENV = {
    "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
}


def find_tmux() -> str | None:
    return shutil.which("tmux")


class Terminal:
    """`command` (an argv list, or a shell command line run by /bin/sh) in a tmux pane of `size`
    (columns, lines). `env` is the program's whole environment besides TERM (default: BASE_ENV)."""

    def __init__(
        self,
        command: list[str] | str,
        *,
        size: tuple[int, int] = (100, 30),
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike | None = None,
        term: str = "xterm-256color",
    ) -> None:
        tmux = find_tmux()
        if tmux is None:
            raise RuntimeError("no tmux here (apt-get install tmux)")
        self.tmux = tmux
        self.dir = Path(tempfile.mkdtemp(prefix="rc-term-"))
        self.socket = self.dir / "tmux.sock"
        self.command = command
        self.env = {**(BASE_ENV if env is None else env), "TERM": term}
        self.cwd = str(cwd) if cwd is not None else os.getcwd()
        self.server_pid: int | None = None
        self._seen: Tree = {}  # every process ever found under the server: close() stops them all
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        width, height = size
        inner = ["env", "-i", *[f"{k}={v}" for k, v in self.env.items()], *argv]
        # the server is started with remain-on-exit already on (set before the pane's program runs,
        # so even a program that exits at once leaves its screen and status behind)
        try:
            self._tmux(
                "start-server",
                ";",
                "set-option",
                "-g",
                "remain-on-exit",
                "on",
                ";",
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                str(width),
                "-y",
                str(height),
                "-c",
                self.cwd,
                *inner,
            )
            self.server_pid = int(self._format("#{pid}"))
        except BaseException:
            self.close()
            raise
        self.processes()

    # -- tmux ---------------------------------------------------------------------------------

    def _tmux(self, *args: str, check: bool = True) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        done = subprocess.run(
            [self.tmux, "-S", str(self.socket), "-f", "/dev/null", *args],
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def _format(self, fmt: str) -> str:
        return self._tmux("display-message", "-p", "-t", "t", fmt).strip()

    # -- input --------------------------------------------------------------------------------

    def send(self, *keys: str) -> None:
        """tmux key names: 'Enter', 'Escape', 'F2', 'C-r', 'End', 'q', 'BTab'..."""
        self._tmux("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        """Literal text, each character as typed (no key-name lookup)."""
        self._tmux("send-keys", "-t", "t", "-l", text)

    # -- output -------------------------------------------------------------------------------

    def screen(self, escapes: bool = False) -> str:
        """The visible screen as text; with `escapes`, with the SGR sequences of its attributes
        and colours (tmux `capture-pane -e`). After the program exited, its last screen: tmux
        writes "Pane is dead" on a new bottom line, scrolling the screen up by one, so the
        first line is read back from the history and the message is left out."""
        extra = ["-e"] if escapes else []
        dead = self.pane_dead()
        if not dead:
            text = self._tmux("capture-pane", "-p", "-t", "t", *extra)
            if not self.pane_dead():
                return text
        height = int(self._format("#{pane_height}"))
        return self._tmux(
            "capture-pane", "-p", "-t", "t", "-S", "-1", "-E", str(height - 2), *extra
        )

    def lines(self) -> list[str]:
        """The visible screen, one string per line (all `size` lines, trailing spaces kept off)."""
        return self.screen().split("\n")[: self.size()[1]]

    def size(self) -> tuple[int, int]:
        width, height = self._format("#{pane_width} #{pane_height}").split()
        return int(width), int(height)

    def wait_for(
        self,
        expected: str | re.Pattern | Callable[[str], object],
        timeout: float = 30.0,
        what: str | None = None,
        interval: float = 0.1,
    ) -> str:
        """Poll the screen until it contains `expected` (text, a regex) or `expected(screen)` is
        true; returns that screen. On timeout raises AssertionError with the last screen."""
        if isinstance(expected, str):
            check = lambda s: expected in s
        elif isinstance(expected, re.Pattern):
            check = expected.search
        else:
            check = expected
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                status = f" (program exited with {self.exit_status()})" if self.pane_dead() else ""
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting for {what or expected!r}{status}; "
                    f"the screen:\n{screen}"
                )
            time.sleep(interval)

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait until the program has exited; its exit status."""
        deadline = time.monotonic() + timeout
        while not self.pane_dead():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the program still runs after {timeout:.0f} s; the screen:\n{self.screen()}"
                )
            time.sleep(0.1)
        return self.exit_status()

    # -- state --------------------------------------------------------------------------------

    def pane_pid(self) -> int:
        """The pid of the pane's program (`env -i` execs it, so it is the program itself)."""
        return int(self._format("#{pane_pid}"))

    def _dead(self) -> tuple[bool, int | None, int | None]:
        """(exited, exit status, signal). tmux closes the pane's pty at EOF before it reaps the
        program: the pane counts as dead here only once the status is known too (then, and only
        then, tmux has also drawn its "Pane is dead" line). tmux 3.3a sometimes misses the
        SIGCHLD of a program that exits right after it started (the program stays a zombie, the
        status never comes): an extra SIGCHLD to our own tmux server makes it reap."""
        fmt = "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}"
        dead, status, sig = self._format(fmt).split("|")
        if dead == "1" and not (status or sig) and self.server_pid is not None:
            os.kill(self.server_pid, signal.SIGCHLD)
            time.sleep(0.05)
            dead, status, sig = self._format(fmt).split("|")
        if dead != "1" or not (status or sig):
            return False, None, None
        return True, int(status) if status else None, int(sig) if sig else None

    def pane_dead(self) -> bool:
        """Whether the program has exited (and been reaped)."""
        return self._dead()[0]

    def exit_status(self) -> int | None:
        """The program's exit status once it has exited (None while it runs, or if a signal
        killed it: see `exit_signal()`)."""
        return self._dead()[1]

    def exit_signal(self) -> int | None:
        """The signal that killed the program, if one did."""
        return self._dead()[2]

    def alternate_on(self) -> bool:
        """Whether the program's screen is the alternate one (a full-screen app that exited and
        restored the terminal has switched it off)."""
        return self._format("#{alternate_on}") == "1"

    def resize(self, width: int, height: int) -> None:
        """Resize the window (the program gets SIGWINCH and the new size)."""
        self._tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def hang_up(self) -> None:
        """Close the terminal the way a dropped SSH link or a closed window does: tmux kills the
        pane and closes its pty, so the kernel hangs up the session (SIGHUP to the shell leading
        it, then reads and writes of the pty fail). What ran under it is remembered first, for
        `close()` to stop whatever survives; the server exits with its last pane."""
        self.processes()
        self._tmux("kill-pane", "-t", "t")

    def processes(self) -> Tree:
        """pid -> start time of the tmux server and everything running under it now (the pane's
        program, its children). What a call finds is remembered: `close()` stops it even if it
        has left the tree since (an orphan re-parented to init)."""
        found = descendants(self.server_pid) if self.server_pid else {}
        self._seen.update(found)
        return found

    # -- lifetime -----------------------------------------------------------------------------

    def close(self) -> Tree:
        """Stop the tmux server started for this terminal, everything under it and everything
        `processes()` ever found there, by pid (frozen first, so nothing forks meanwhile);
        returns what would not stop (normally nothing). Safe to call twice."""
        left: Tree = {}
        if self.server_pid is not None:
            stop_tree(lambda: {**self.processes(), **still_running(self._seen)})
            left = wait_gone(self._seen, 3.0)
            self.server_pid = None
        shutil.rmtree(self.dir, ignore_errors=True)
        return left

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
