"""cockpit/job_control.py on real processes: a process group a shell can continue (started in a
group of its own inside the test runner's session, directly or under a wrapper in that group) and
one nobody can (a new session, as `ssh -t host raycockpit` or `exec raycockpit` makes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from raycockpit.cockpit.job_control import (
    NO_JOB_CONTROL,
    job_control_shell,
    parent_of,
    suspended_message,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX job control")

SLEEP = [sys.executable, "-c", "import time; time.sleep(30)"]


def started(argv, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kwargs)


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(10)


def child_of(pid: int) -> int:
    """The one child of `pid` (a wrapper's program), once it is there."""
    for _ in range(200):
        path = f"/proc/{pid}/task/{pid}/children"
        try:
            children = open(path).read().split()
        except FileNotFoundError:
            pytest.skip("no /proc children list here")
        if children:
            return int(children[0])
        subprocess.run(["sleep", "0.02"])
    raise AssertionError(f"{pid} started no child")


def test_parent_of_reads_the_parent():
    assert parent_of(os.getpid()) == os.getppid()
    proc = started(SLEEP)
    try:
        assert parent_of(proc.pid) == os.getpid()
    finally:
        stop(proc)
    assert parent_of(proc.pid) is None  # gone


def test_a_group_of_its_own_in_our_session_has_us_as_its_shell():
    proc = started(SLEEP, process_group=0)  # what a job-control shell does for each job
    try:
        assert os.getpgid(proc.pid) != os.getpgrp()
        assert job_control_shell(pid=proc.pid) == os.getpid()
    finally:
        stop(proc)


def test_a_wrapper_in_the_group_is_walked_through():
    """`./dev run`, `uv run`: the shell's job is the wrapper; the cockpit is its child, in the
    same group. The shell is the first ancestor outside the group."""
    wrapper = started(
        ["/bin/sh", "-c", f"{SLEEP[0]} -c 'import time; time.sleep(30)'; true"], process_group=0
    )
    try:
        program = child_of(wrapper.pid)
        assert os.getpgid(program) == wrapper.pid
        assert job_control_shell(pid=program) == os.getpid()
    finally:
        os.killpg(wrapper.pid, 9)
        wrapper.wait(10)


def test_a_new_session_has_no_shell():
    proc = started(SLEEP, start_new_session=True)  # its parent is in another session
    try:
        assert job_control_shell(pid=proc.pid) is None
    finally:
        stop(proc)


def test_a_group_that_is_not_the_terminals_foreground_one_is_not_stopped(tmp_path):
    """With a terminal, the group must be its foreground one: a pty whose foreground group is
    the test runner's own (a pty opened here has none: tcgetpgrp fails or differs)."""
    leader, follower = os.openpty()
    try:
        proc = started(SLEEP, process_group=0)
        try:
            assert job_control_shell(tty_fd=follower, pid=proc.pid) is None
        finally:
            stop(proc)
    finally:
        os.close(leader)
        os.close(follower)


def test_the_messages_say_what_to_do():
    assert "fg" in suspended_message(None) and "head" not in suspended_message(None)
    with_head = suspended_message(4242)
    assert "pid 4242" in with_head and "keep running" in with_head
    assert "q quits" in NO_JOB_CONTROL
