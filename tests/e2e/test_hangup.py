"""The real `raycockpit` in a pseudo-terminal with its embedded head: a hangup, SIGTERM and SIGINT
do what `q` does, and a head kept with --keep-cluster is recognised and stopped by the next one.

Each test starts the console script with no address and nothing on 127.0.0.1:8265, so it starts
and owns a head on Ray's standard ports; the head's processes are found by pid (everything under
the terminal while it runs) and must all be gone afterwards."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from raycockpit.cockpit.job_control import parent_of
from raycockpit.cockpit.local import port_in_use
from tests.e2e.procs import stop_pids
from tests.e2e.terminal import BASE_ENV, Terminal, wait_gone

pytestmark = pytest.mark.cluster

RAYCOCKPIT = str(Path(sys.executable).with_name("raycockpit"))
HEAD_START_S = 150
HEAD_STOP_S = 60
PROMPT = "rc-shell> "


@pytest.fixture
def home(tmp_path):
    """A HOME of its own: no settings file, no kept-head records, no token of the user's."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def standard_ports_free(tmux):
    if port_in_use(8265) or port_in_use(6379):
        pytest.skip(
            "something already listens on 127.0.0.1:8265 or :6379; these tests start a head there"
        )


def cockpit_env(home: Path) -> dict[str, str]:
    return {**BASE_ENV, "HOME": str(home), "RAYCOCKPIT_CONFIG": str(home / "none.yaml")}


def head_processes(term: Terminal) -> dict[int, int]:
    """Every process under the terminal but the program itself: the head and what it started."""
    pid = term.pane_pid()
    return {p: t for p, t in term.processes().items() if p not in (pid, term.server_pid)}


def test_hangup_stops_the_embedded_head(home):
    with Terminal([RAYCOCKPIT], env=cockpit_env(home), cwd=home) as term:
        term.wait_for("● connected", HEAD_START_S, "the embedded head")
        head = head_processes(term)
        assert len(head) >= 3, head  # ray start, gcs_server, raylet, dashboard, ...
        term.send("2")
        term.wait_for("127.0.0.1", 30, "the head's node in the Nodes pane")
        os.kill(term.pane_pid(), signal.SIGHUP)  # what the kernel sends when the SSH link drops
        term.wait_exit(HEAD_STOP_S)
        assert term.exit_status() == 128 + signal.SIGHUP
        assert wait_gone(head, HEAD_STOP_S) == {}, "processes of the head survived the hangup"
        assert not port_in_use(8265) and not port_in_use(6379)


def test_hangup_while_suspended_stops_the_embedded_head(home):
    """ctrl+z from an interactive bash, then the terminal goes (SSH drop, window closed): the
    shell hangs up its jobs and continues the stopped one, and the cockpit stops its head as on
    any hangup. While suspended, the head kept running (and the terminal said so)."""
    env = {**cockpit_env(home), "PS1": PROMPT}
    with Terminal(["bash", "--norc", "--noprofile", "-i"], env=env, cwd=home) as term:
        term.wait_for(PROMPT.rstrip(), 20, "the shell's prompt")
        term.type(RAYCOCKPIT)
        term.send("Enter")
        term.wait_for("● connected", HEAD_START_S, "the embedded head")
        shell = term.pane_pid()
        everything = {p: t for p, t in term.processes().items() if p != term.server_pid}
        cockpit = [p for p in everything if parent_of(p) == shell]
        head = {p: t for p, t in everything.items() if p != shell and p not in cockpit}
        assert len(cockpit) == 1 and len(head) >= 3, (cockpit, head)

        term.send("C-z")
        screen = term.wait_for("Stopped", 20, "the shell's job report")
        assert "Its local Ray head (pid" in screen and "keep running" in screen, screen
        assert wait_gone(head, 1) == head, "the head must run on while the cockpit is suspended"

        term.hang_up()
        assert wait_gone(everything, HEAD_STOP_S) == {}, (
            "the cockpit or its head survived a hangup while suspended"
        )
        assert not port_in_use(8265) and not port_in_use(6379)


def test_sigterm_keeps_a_kept_head_and_the_next_cockpit_stops_it(home):
    """--keep-cluster + SIGTERM: the terminal is restored and the head stays; a second cockpit
    attaches, says whose head it is, and :stop-head (confirmed) stops every process of it; SIGINT
    then ends that second cockpit like q."""
    with Terminal([RAYCOCKPIT, "--keep-cluster"], env=cockpit_env(home), cwd=home) as first:
        first.wait_for("● connected", HEAD_START_S, "the embedded head")
        head = head_processes(first)
        os.kill(first.pane_pid(), signal.SIGTERM)
        screen = first.wait_for("keeps running", 30, "the kept-head message")
        assert first.wait_exit(10) == 128 + signal.SIGTERM
        assert not first.alternate_on(), "the terminal was not restored"
        assert ":stop-head stops it" in screen.replace("\n", " ")
        try:
            # the cockpit has exited: a stop of its own would have been sent (and waited for)
            assert wait_gone(head, 1) == head, "--keep-cluster must leave the head running"
            assert list((home / ".local/state/raycockpit/kept-heads").glob("8265.json"))

            with Terminal([RAYCOCKPIT], env=cockpit_env(home), cwd=home) as second:
                second.wait_for("left running by raycockpit", 60, "the kept head recognised")
                second.send(":")
                second.wait_for("esc Close", 10, "the command bar")
                second.type("stop-head")
                second.wait_for(lambda screen: "  stop-head" in screen, 10, "the typed command")
                second.send("Enter")
                second.wait_for("Stop the local Ray head", 10, "the confirmation")
                second.send("y")
                second.wait_for("local Ray head stopped", HEAD_STOP_S, "the head stopped")
                assert wait_gone(head, HEAD_STOP_S) == {}, (
                    "processes of the kept head survived :stop-head"
                )
                assert not list((home / ".local/state/raycockpit/kept-heads").glob("*.json"))
                os.kill(second.pane_pid(), signal.SIGINT)
                assert second.wait_exit(30) == 128 + signal.SIGINT
                assert not second.alternate_on()
        finally:
            stop_pids(head)  # whatever the assertions say, the test stops what it started
