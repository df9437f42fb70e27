"""End-to-end fixtures: a throwaway OpenSSH sshd on loopback for the whole run."""

from __future__ import annotations

import pytest

from tests.e2e.sshd import ThrowawaySshd, find_sshd
from tests.e2e.terminal import find_tmux

NO_SSHD = (
    "no OpenSSH sshd here: apt-get install openssh-server (CI installs it) "
    "to run the SSH end-to-end tests"
)
NO_TMUX = "no tmux here: apt-get install tmux (CI installs it) to run the terminal end-to-end tests"


@pytest.fixture(scope="session")
def sshd():
    """A started ThrowawaySshd (alias `testhead`), stopped by pid at the end of the run."""
    if find_sshd() is None:
        pytest.skip(NO_SSHD)
    server = ThrowawaySshd()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def tmux():
    """The tmux binary, or the test is skipped with how to get it."""
    path = find_tmux()
    if path is None:
        pytest.skip(NO_TMUX)
    return path
