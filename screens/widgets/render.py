"""The panes' small Rich pictures: bars, sparklines, status colours, actor cells.

Pure functions returning Rich `Text` or `str`; no Textual, no I/O. Numbers, sizes, durations and
times as text are `raycockpit.cockpit.format`'s, shared with the headless report.
"""

from __future__ import annotations

from rich.text import Text

from raycockpit.cockpit.format import amount, human_bytes, is_bytes
from raycockpit.cockpit.models import ActorGpu

SPARKS = "▁▂▃▄▅▆▇█"
FULL, EMPTY = "█", "░"
EIGHTHS = " ▏▎▍▌▋▊▉"

STATUS_STYLES = {
    "SUCCEEDED": "bold green",
    "RUNNING": "bold cyan",
    "PENDING": "yellow",
    "STOPPED": "magenta",
    "FAILED": "bold red",
    "ALIVE": "green",
    "DEAD": "red",
    "ACTIVE": "green",
    "IDLE": "dim",
    "DRAINING": "yellow",
    "HEALTHY": "green",
    "UNHEALTHY": "bold red",
    "DEPLOYING": "yellow",
    "DEPLOY_FAILED": "bold red",
    "UPDATING": "yellow",
    "UPSCALING": "cyan",
    "DOWNSCALING": "cyan",
    "DELETING": "magenta",
    "NOT_STARTED": "dim",
    "STARTING": "yellow",
    "RECOVERING": "yellow",
    "STOPPING": "magenta",
}


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
        util = Text(f"{use.utilization:.0f}%", style="yellow" if use.utilization <= 0 else "")
    if use.on_gpu:
        util.append(f" · {use.memory_mb / 1024:.1f} GiB")
    elif use.utilization is not None:
        util.append(" · no process", style="dim")
    return util
