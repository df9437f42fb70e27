"""Shared by the benchmark scripts: the one summary-line format, and a loopback head of their
own."""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raycockpit.cockpit.local import HeadPorts, LocalHead  # noqa: E402


def summary(name: str, value: float, unit: str, op: str, target: float) -> str:
    """`bench <name>: <value> (target <op> <target>) ok|short`."""
    ok = {"<=": value <= target, ">=": value >= target, "<": value < target, ">": value > target}[
        op
    ]
    line = (
        f"bench {name}: {value:.3f}{unit} (target {op} {target:g}{unit}) {'ok' if ok else 'short'}"
    )
    print(line, flush=True)
    return line


def median(values: list[float]) -> float:
    return statistics.median(values)


def own_head(num_cpus: int | None = None) -> LocalHead:
    """A head on ports of its own, started; the caller stops it (by its pid) in a finally."""
    head = LocalHead(
        ports=HeadPorts.isolated(), temp_dir=tempfile.mkdtemp(prefix="rc-bench-"), num_cpus=num_cpus
    )
    head.start()
    return head
