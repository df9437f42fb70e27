"""Numbers, sizes, durations and times as text: one set of rules for the panes and `--once`.

Plain `str` in and out (no Rich, no Textual), so the headless report and the panes write the same
things the same way. The Rich pictures (bars, sparklines, status colours) live in
`screens/widgets/render.py`.

Two looks share the rules: the panes' (`1.5 GiB`, `0.33`, `3.0 GiB / 8.0 GiB`) and the compact
one of the `--once` text report (`1.5GiB`, Python's `g` format for amounts, TiB the largest unit).
"""

from __future__ import annotations

import time

from raycockpit.cockpit.models import Usage

BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")

# Resources (and Usage names) that count bytes: Ray's logical `memory` and object store, in the
# autoscaler's snake_case and the dashboard's camelCase, and the nodes' physical memory.
BYTES_RESOURCES = frozenset({"memory", "object_store_memory", "objectStoreMemory", "host_memory"})


def is_bytes(resource: str) -> bool:
    """Whether an amount of this resource is a number of bytes (memory, object store)."""
    return resource in BYTES_RESOURCES


def is_byte_count(metric: str) -> bool:
    """Whether a metric's name says it counts bytes: a word `bytes` in it (array_bytes,
    object_store_bytes_used, "read bytes"), not a rate (`*_per_s`, `*_gb_per_s`)."""
    words = metric.lower().replace("-", "_").replace(" ", "_").split("_")
    return "bytes" in words and "per" not in words


def human_bytes(n: float | None, *, compact: bool = False) -> str:
    """1536 -> '1.5 KiB', 512 -> '512 B', None -> '-'. Compact: '1.5KiB', TiB the largest unit."""
    if n is None:
        return "-"
    sep, units = ("", BYTE_UNITS[:-1]) if compact else (" ", BYTE_UNITS)
    for unit in units:
        if abs(n) < 1024 or unit == units[-1]:
            break
        n /= 1024
    return f"{n:.0f}{sep}{unit}" if unit == "B" else f"{n:.1f}{sep}{unit}"


def exact(value: float) -> str:
    """A bound as a person types it, never rounded: 1e7 -> '10000000', 1048576.0 -> '1048576',
    0.01 -> '0.01' (Python's `g` made these '1e+07' and '1.04858e+06': another number, and the
    form's "at most 1.04858e+06" refused nothing of what it seemed to)."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def amount(value: float, *, compact: bool = False) -> str:
    """A logical resource amount: 2 -> '2', 0.5 -> '0.5', 0.3333 -> '0.33' (two decimals at most).

    Compact: Python's `g` format (2.0 -> '2', 0.3333 -> '0.3333', 1e6 -> '1e+06').
    """
    if compact:
        return f"{value:g}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def usage_text(
    usage: Usage | None, *, is_bytes: bool | None = None, sep: str = " / ", compact: bool = False
) -> str:
    """'3.0 GiB / 8.0 GiB', '2 / 8'; '-' when unknown. Bytes or not: by the usage's name unless
    `is_bytes` says."""
    if usage is None:
        return "-"
    if is_bytes is None:
        is_bytes = usage.name in BYTES_RESOURCES
    show = human_bytes if is_bytes else amount
    return f"{show(usage.used, compact=compact)}{sep}{show(usage.total, compact=compact)}"


def human_duration(seconds: float | None) -> str:
    """42 -> '42s', 125 -> '2m05s', 7260 -> '2h01m', 90000 -> '1d01h'; None -> '-'."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def local_time(seconds: float) -> str:
    """Unix seconds as local 'YYYY-MM-DD HH:MM:SS'."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def timestamp(ms: int | None) -> str:
    """Unix milliseconds (Ray's job and node times) as local time; '-' when unset (None or 0)."""
    if not ms:
        return "-"
    return local_time(ms / 1000)
