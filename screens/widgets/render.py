"""The panes' small Rich pictures: bars, sparklines, status colours, actor cells.

Pure functions returning Rich `Text` or `str`; no Textual, no I/O. Numbers, sizes, durations and
times as text are `raycockpit.cockpit.format`'s, shared with the headless report.
"""

from __future__ import annotations

from rich.text import Text

from raycockpit.cockpit.format import amount, human_bytes, is_bytes
from raycockpit.cockpit.models import ActorGpu
from raycockpit.screens.styles import (
    BAD,
    BAD_STRONG,
    BAR_HIGH,
    BAR_LOW,
    BAR_MID,
    INFO,
    INFO_STRONG,
    OK,
    OK_STRONG,
    OTHER,
    WARN,
)

SPARKS = "▁▂▃▄▅▆▇█"
FULL, EMPTY = "█", "░"
EIGHTHS = " ▏▎▍▌▋▊▉"

STATUS_STYLES = {
    "SUCCEEDED": OK_STRONG,
    "RUNNING": INFO_STRONG,
    "PENDING": WARN,
    "STOPPED": OTHER,
    "FAILED": BAD_STRONG,
    "ALIVE": OK,
    "DEAD": BAD,
    "ACTIVE": OK,
    "IDLE": "dim",
    "DRAINING": WARN,
    "HEALTHY": OK,
    "UNHEALTHY": BAD_STRONG,
    "DEPLOYING": WARN,
    "DEPLOY_FAILED": BAD_STRONG,
    "UPDATING": WARN,
    "UPSCALING": INFO,
    "DOWNSCALING": INFO,
    "DELETING": OTHER,
    "NOT_STARTED": "dim",
    "STARTING": WARN,
    "RECOVERING": WARN,
    "STOPPING": OTHER,
}


def status_text(status: str) -> Text:
    return Text(status or "?", style=STATUS_STYLES.get(status.upper(), ""))


def bar(fraction: float | None, width: int = 20, style: str = "") -> Text:
    """A horizontal bar with eighth-block precision, coloured by how full it is (or in `style`:
    a progress bar, where full is good)."""
    if fraction is None:
        return Text("·" * width, style="dim")
    fraction = max(0.0, min(1.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    body = FULL * full + (EIGHTHS[part] if part and full < width else "")
    style = style or (BAR_LOW if fraction < 0.7 else BAR_MID if fraction < 0.9 else BAR_HIGH)
    text = Text(body, style=style)
    text.append(EMPTY * (width - len(body)), style="dim")
    return text


def sparkline(
    values: tuple[float, ...] | list[float], width: int = 20, top: float | None = 100.0
) -> str:
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


def resources_text(resources: dict[str, float]) -> str:
    parts = []
    for name in sorted(resources, key=lambda n: (n not in ("CPU", "GPU"), n)):
        value = resources[name]
        if name.startswith("bundle_group_") or name.startswith("node:"):
            continue
        shown = human_bytes(value, compact=True) if is_bytes(name) else amount(value, compact=True)
        parts.append(f"{name} {shown}")
    return " · ".join(parts) or "-"


def gpu_text(use: ActorGpu | None) -> Text:
    if use is None:
        return Text("-", style="dim")
    if use.utilization is None:
        util = Text("n/a", style="dim")
    else:
        util = Text(f"{use.utilization:.0f}%", style=WARN if use.utilization <= 0 else "")
    if use.on_gpu:
        util.append(f" · {use.memory_mb / 1024:.1f} GiB")
    elif use.utilization is not None:
        util.append(" · no process", style="dim")
    return util
