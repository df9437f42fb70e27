"""Processes by pid for the end-to-end tests: find a process's tree, stop it, see what is left.

Built on `raycockpit.cockpit.local.process_tree` / `still_running` (pid -> start time, so a
reused pid is never mistaken for ours). Nothing here matches names or command lines.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from raycockpit.cockpit.local import process_tree, still_running

Tree = dict[int, int]  # pid -> start time in clock ticks


def descendants(pid: int) -> Tree:
    """`pid` (while it runs), its process group and every process under them."""
    return process_tree(pid)


def wait_gone(tree: Tree, timeout: float = 5.0) -> Tree:
    """Wait until none of `tree` runs any more; returns what still runs after `timeout` s."""
    deadline = time.monotonic() + timeout
    left = still_running(tree)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = still_running(left)
    return left


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def freeze(find: Callable[[], Tree], rounds: int = 50) -> Tree:
    """SIGSTOP every process `find()` returns, again and again until no new one appears (a stopped
    process cannot fork): a snapshot of a tree that cannot grow behind our back."""
    frozen: Tree = {}
    for _ in range(rounds):
        new = {pid: t for pid, t in find().items() if pid not in frozen}
        if not new:
            break
        for pid in new:
            _kill(pid, signal.SIGSTOP)
        frozen.update(new)
    return frozen


def stop_pids(tree: Tree, grace: float = 3.0) -> Tree:
    """SIGTERM (and SIGCONT, for a stopped one) what still runs of `tree`, SIGKILL what is left
    after `grace` s; returns what still runs after that (normally nothing)."""
    left = still_running(tree)
    for pid in left:
        _kill(pid, signal.SIGTERM)
        _kill(pid, signal.SIGCONT)
    left = wait_gone(left, grace)
    for pid in left:
        _kill(pid, signal.SIGKILL)
    return wait_gone(left, 2.0)


def stop_tree(find: Callable[[], Tree], grace: float = 3.0) -> Tree:
    """Freeze everything `find()` names, then stop it all by pid; returns what is left."""
    return stop_pids(freeze(find), grace)
