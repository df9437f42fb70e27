"""ctrl+z in a real terminal: from an interactive bash (job control), the real `raycockpit` leaves
its screen, says so, and is stopped as a job of the shell; `fg` brings the screen back and keys
work; q then ends it and leaves no process. Started without a job-control shell (tmux runs it
directly, as `ssh -t host raycockpit` does), ctrl+z says why it cannot and the app keeps running:
a stopped cockpit there could only be killed from another terminal.

The embedded head's case (a hangup while suspended stops it) is in test_hangup.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from raycockpit.cockpit.job_control import parent_of
from raycockpit.cockpit.local import still_running
from tests.e2e.terminal import BASE_ENV, Terminal

pytestmark = pytest.mark.cluster

RAYCOCKPIT = str(Path(sys.executable).with_name("raycockpit"))
START_S = 60  # a cold CI box imports textual and httpx
PROMPT = "rc-shell> "  # tmux reads a screen without its trailing spaces: PROMPT.rstrip()
SUSPENDED = "raycockpit is suspended: fg brings it back."


def environment(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**BASE_ENV, "HOME": str(home), "RAYCOCKPIT_CONFIG": "/nonexistent/raycockpit.yaml"}


def interactive_shell(tmp_path: Path, **env: str) -> Terminal:
    """bash as a login session has it: interactive, so with job control (no rc files)."""
    term = Terminal(
        ["bash", "--norc", "--noprofile", "-i"],
        size=(100, 30),
        env={**environment(tmp_path), "PS1": PROMPT, **env},
        cwd=tmp_path,
    )
    try:
        term.wait_for(PROMPT.rstrip(), 20, "the shell's prompt")
    except BaseException:
        term.close()  # the caller's `with` has not begun: nothing else would stop it
        raise
    return term


def run_in_shell(term: Terminal, command: str) -> int:
    """Type `command` at the prompt; the pid of the program it started (the shell's child)."""
    term.type(command)
    term.send("Enter")
    shell = term.pane_pid()
    for _ in range(200):
        children = [p for p in term.processes() if parent_of(p) == shell]
        if children:
            return children[0]
        term.wait_for(lambda _s: True, 0.05)
    raise AssertionError(f"the shell started nothing; the screen:\n{term.screen()}")


def state(pid: int) -> str:
    """The process's state letter (R, S, T for stopped, ...)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_ctrl_z_suspends_to_the_shell_and_fg_brings_it_back(ray_head, tmp_path):
    with interactive_shell(tmp_path) as term:
        pid = run_in_shell(term, f"{RAYCOCKPIT} --address {ray_head.dashboard_url}")
        term.wait_for("● connected", START_S, "the cockpit connected")
        running = term.processes()

        term.send("C-z")
        screen = term.wait_for("Stopped", 10, "the shell's job report")
        assert SUSPENDED in screen, screen
        assert "local Ray head" not in screen  # not the cockpit's own head: nothing to say of it
        assert state(pid) == "T", "ctrl+z did not stop the cockpit"
        assert not term.alternate_on(), "suspended, the shell's screen must be back"
        assert term.screen().rstrip().endswith(PROMPT.rstrip()), term.screen()

        term.type("fg")
        term.send("Enter")
        term.wait_for("1 Overview", 10, "the cockpit's screen back")
        assert term.alternate_on() and state(pid) != "T"
        term.send("2")
        term.wait_for("CPUs used", 20, "the Nodes pane after fg (keys work)")

        term.send("q")
        term.wait_for(lambda s: not term.alternate_on() and pid not in still_running(running), 30)
        left = {p for p in still_running(running) if p not in (term.server_pid, term.pane_pid())}
        assert not left, f"processes of the cockpit still run after q: {sorted(left)}"
        term.type("exit")
        term.send("Enter")
        assert term.wait_exit(10) == 0


def test_without_job_control_ctrl_z_says_why_and_keeps_running(ray_head, tmp_path):
    command = [RAYCOCKPIT, "--address", ray_head.dashboard_url]
    with Terminal(command, size=(100, 30), env=environment(tmp_path), cwd=tmp_path) as term:
        term.wait_for("● connected", START_S, "the cockpit connected")
        term.send("C-z")
        screen = term.wait_for("no shell here can bring", 10, "the warning")
        assert "q quits" in screen
        assert state(term.pane_pid()) != "T"
        term.send("2")
        term.wait_for("CPUs used", 20, "the Nodes pane (still running, keys work)")
        term.send("q")
        assert term.wait_exit(30) == 0
