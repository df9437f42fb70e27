"""The end-to-end machinery itself works for real: the throwaway sshd carries commands, drops
connections on demand while still listening, comes back on the same port, and leaves no process
behind; the tmux terminal gives a program exactly the environment the test passes."""

from __future__ import annotations

import subprocess
import time

import pytest

from raycockpit.cockpit.local import still_running
from tests.e2e.procs import wait_gone
from tests.e2e.sshd import ThrowawaySshd, find_sshd
from tests.e2e.terminal import Terminal


def ssh(sshd, *remote: str, timeout: float = 15) -> subprocess.CompletedProcess:
    return subprocess.run(
        sshd.ssh_argv(*remote),
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_ssh_runs_a_remote_command_in_an_ssh_environment(sshd):
    done = ssh(sshd, 'echo ok; echo "client=$SSH_CLIENT"')
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0] == "ok"
    # SSH_CLIENT = "<client ip> <client port> <server port>"
    client_ip, _, server_port = out[1].removeprefix("client=").split()
    assert (client_ip, server_port) == ("127.0.0.1", str(sshd.port))


def test_drop_connections_ends_live_sessions_but_keeps_listening(sshd):
    client = subprocess.Popen(
        sshd.ssh_argv("sleep", "30"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not sshd.connections() and time.monotonic() < deadline:
            time.sleep(0.05)
        # the remote `sleep 30` runs under the per-connection sshd
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            tree = sshd.connections()
            if any(_comm(pid) == "sleep" for pid in tree):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the remote sleep never started: {sshd.log()[-1500:]}")
        dropped = sshd.drop_connections()
        assert client.wait(timeout=5) == 255  # ssh's "connection lost"
        assert not still_running(dropped)
        assert sshd.pid not in dropped and still_running(sshd.tree()).get(sshd.pid)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert ssh(sshd, "echo", "again").stdout == "again\n"


def test_restart_comes_back_on_the_same_port(sshd):
    port, old = sshd.port, sshd.tree()
    sshd.restart()
    assert not still_running(old)
    assert sshd.port == port
    assert ssh(sshd, "echo", "back").stdout == "back\n"


def test_stop_leaves_no_process_of_its_tree():
    if find_sshd() is None:
        pytest.skip("no OpenSSH sshd here: apt-get install openssh-server")
    with ThrowawaySshd(alias="stophead") as server:
        client = subprocess.Popen(
            server.ssh_argv("sleep", "30"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not any(_comm(pid) == "sleep" for pid in server.connections()):
            assert time.monotonic() < deadline, "the remote sleep never started"
            time.sleep(0.05)
        tree = server.tree()
        assert len(tree) >= 3  # the listener, the connection's sshd, the remote sleep
        server.stop()
        assert not wait_gone(tree, 1.0)
        assert client.wait(timeout=5) == 255


def test_terminal_gives_the_program_exactly_its_environment(tmux):
    with Terminal(
        ["sh", "-c", "env | sort; exit 3"],
        size=(60, 12),
        env={"PATH": "/usr/bin:/bin", "FOO": "bar"},
        term="screen-256color",
    ) as term:
        assert term.wait_exit(10) == 3
        shown = [line for line in term.lines() if "=" in line]
        # env -i: nothing of the runner's or tmux's environment (no TMUX, TMUX_PANE, HOME)
        assert {line.split("=", 1)[0] for line in shown} == {"FOO", "PATH", "PWD", "TERM"}
        assert "TERM=screen-256color" in shown
        assert term.size() == (60, 12)
        tree = term.processes()
    assert not still_running(tree)


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""
