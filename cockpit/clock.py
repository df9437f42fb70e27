"""Wall-clock time for the cockpit, in one place, so snapshot tests can hold it still."""

from __future__ import annotations

import time


def now() -> float:
    """Unix seconds."""
    return time.time()
