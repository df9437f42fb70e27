"""Small text pictures shared by panes and the headless report: bars, sparklines, sizes, ages.

Pure functions returning Rich `Text` or `str`; no Textual, no I/O.
"""

from __future__ import annotations

import time

from rich.text import Text

SPARKS = "▁▂▃▄▅▆▇█"
FULL, EMPTY = "█", "░"
EIGHTHS = " ▏▎▍▌▋▊▉"

STATUS_STYLES = {
    "SUCCEEDED": "bold green", "RUNNING": "bold cyan", "PENDING": "yellow", "STOPPED": "magenta",
    "FAILED": "bold red", "ALIVE": "green", "DEAD": "red", "ACTIVE": "green", "IDLE": "dim",
    "DRAINING": "yellow", "HEALTHY": "green", "UNHEALTHY": "bold red", "DEPLOYING": "yellow",
    "DEPLOY_FAILED": "bold red", "UPDATING": "yellow", "UPSCALING": "cyan", "DOWNSCALING": "cyan",
    "DELETING": "magenta", "NOT_STARTED": "dim", "STARTING": "yellow", "RECOVERING": "yellow",
    "STOPPING": "magenta",
}  # fmt: skip


def status_text(status: str) -> Text:
    return Text(status or "?", style=STATUS_STYLES.get(status.upper(), ""))


def bar(fraction: float | None, width: int = 20) -> Text:
    """A horizontal bar with eighth-block precision, coloured by how full it is."""
    if fraction is None:
        return Text("·" * width, style="dim")
    fraction = max(0.0, min(1.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    body = FULL * full + (EIGHTHS[part] if part and full < width else "")
    style = "green" if fraction < 0.7 else "yellow" if fraction < 0.9 else "red"
    text = Text(body, style=style)
    text.append(EMPTY * (width - len(body)), style="dim")
    return text


def sparkline(values: tuple[float, ...] | list[float], width: int = 20, top: float | None = 100.0) -> str:
    """The last `width` values as block characters (0..top; top=None scales to the max)."""
    values = list(values)[-width:]
    if not values:
        return ""
    high = top if top is not None else (max(values) or 1.0)
    out = []
    for v in values:
        level = 0 if high <= 0 else int(round(max(0.0, min(1.0, v / high)) * (len(SPARKS) - 1)))
        out.append(SPARKS[level])
    return "".join(out)


def human_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def human_duration(seconds: float | None) -> str:
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


def timestamp(ms: int | None) -> str:
    if not ms:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def amount(value: float) -> str:
    """A logical resource amount: 2 -> '2', 0.5 -> '0.5'."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def usage_label(used: float, total: float, is_bytes: bool) -> str:
    if is_bytes:
        return f"{human_bytes(used)} / {human_bytes(total)}"
    return f"{amount(used)} / {amount(total)}"
