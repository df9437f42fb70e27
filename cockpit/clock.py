"""Wall-clock time for the cockpit, in one place, so snapshot tests can hold it still and a
replay (`--replay`) can show its recording's moment: ages, durations and "x ago" follow it."""

from __future__ import annotations

import time
from collections.abc import Callable

_source: Callable[[], float] = time.time


def now() -> float:
    """Unix seconds (the replayed moment in a replay)."""
    return _source()


def follow(source: Callable[[], float] | None) -> None:
    """Take the time from `source` (a replay's clock); None: the wall clock again."""
    global _source
    _source = source or time.time
