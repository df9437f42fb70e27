"""Whether a shell can bring raycockpit back after ctrl+z, and what to say when it goes.

A full-screen app reads its terminal in raw mode, so ctrl+z reaches it as a key, not as the
SIGTSTP the terminal would send: the app stops itself. That is safe only when something will
continue it: a shell with job control, which put the cockpit's process group in the terminal's
foreground and waits for it to stop. Without one (`ssh -t host raycockpit`, `exec raycockpit`,
a `bash -c` wrapper), a stopped cockpit could only be killed from another terminal: there ctrl+z
must say so and do nothing.

POSIX's word for it: the process group must not be orphaned, that is some process of it has a
parent in another process group of the same session. The cockpit walks up from itself through its
own process group (a wrapper script, `uv run`, stay in it) to the first ancestor outside it: that
is the shell if it shares the session, else nobody can resume it. The whole group is stopped (as
the terminal's ctrl+z would), so a wrapper the shell waits for stops too and the shell notices.
"""

from __future__ import annotations

import os
import subprocess

MAX_DEPTH = 64  # ancestors walked up before giving up (a loop in a broken /proc)


def parent_of(pid: int) -> int | None:
    """The parent pid of `pid` (Linux /proc, else `ps`); None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        # pid (comm) state ppid ...: comm may hold spaces and parentheses; the last ')' ends it
        return int(stat[stat.rindex(")") + 2 :].split()[1])
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None  # a /proc, and the process is gone
    except (OSError, ValueError, IndexError):
        return None
    try:  # no /proc (macOS, the BSDs)
        done = subprocess.run(
            ["ps", "-o", "ppid=", "-p", str(pid)], capture_output=True, text=True, timeout=2
        )
        return int(done.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def job_control_shell(tty_fd: int | None = None, pid: int | None = None) -> int | None:
    """The pid of the shell that can continue our process group once it stops, or None.

    `pid`: the process to ask about (default: this one). `tty_fd`: the terminal, when there is
    one: a group that is not the terminal's foreground one is not ours to stop from a key."""
    pid = os.getpid() if pid is None else pid
    try:
        group, session = os.getpgid(pid), os.getsid(pid)
        if tty_fd is not None and os.isatty(tty_fd) and os.tcgetpgrp(tty_fd) != group:
            return None
    except OSError:
        return None
    for _ in range(MAX_DEPTH):
        parent = parent_of(pid)
        if parent is None or parent <= 1:
            return None  # init (or a subreaper at pid 1 of a container) does no job control
        try:
            parent_group, parent_session = os.getpgid(parent), os.getsid(parent)
        except OSError:
            return None
        if parent_group != group:
            return parent if parent_session == session else None
        pid = parent
    return None


def suspended_message(head_pid: int | None) -> str:
    """What the terminal shows while the cockpit is stopped (after it left its screen)."""
    text = "raycockpit is suspended: fg brings it back."
    if head_pid is not None:
        text += f"\nIts local Ray head (pid {head_pid}) and the jobs on it keep running."
    return text


NO_JOB_CONTROL = (
    "ctrl+z: no shell here can bring raycockpit back (it was not started from an interactive "
    "shell, e.g. `ssh -t host raycockpit`), so it keeps running; q quits"
)
