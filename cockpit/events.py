"""Progress events in job logs (DESIGN.md): `@@cockpit {json}` lines -> typed events -> series.

Ray may prefix worker lines (`(RayTrainWorker pid=.., ip=..)`), so the marker is found anywhere in
a line. Bad JSON, unknown kinds and non-numeric metrics are ignored, never fatal.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MARKER = "@@cockpit "
KINDS = frozenset({"start", "metric", "trial", "artifact", "end"})


@dataclass(frozen=True)
class Event:
    kind: str
    workload: str
    data: dict[str, Any]

    @property
    def metrics(self) -> dict[str, float]:
        return numeric_metrics(self.data.get("metrics"))

    @property
    def step(self) -> float | None:
        for key in ("step", "epoch", "iteration", "training_iteration"):
            value = _finite(self.data.get(key))
            if value is not None:
                return value
        return None


def _finite(value: Any) -> float | None:
    """A JSON number as a finite float, else None (bools, NaN, infinities, ints past a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # 10**400 is valid JSON
        return None
    return number if math.isfinite(number) else None


def _text(value: Any, default: str) -> str:
    """A JSON string or number as text; `default` for anything else (objects, lists, null)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an int too long to print (json.loads refuses those; Event() may not)
            return default
    return default


def numeric_metrics(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, float] = {}
    for key, value in raw.items():
        number = _finite(value)
        if number is not None:
            out[str(key)] = number
    return out


def parse_event_line(line: str) -> Event | None:
    at = line.find(MARKER)
    if at < 0:
        return None
    try:
        payload = json.loads(line[at + len(MARKER) :].strip())
    except (ValueError, RecursionError):  # bad JSON, an int too long, nesting too deep
        return None
    if not isinstance(payload, dict):
        return None
    kind = payload.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:  # a list or an object is not hashable
        return None
    return Event(kind=kind, workload=_text(payload.get("workload"), ""), data=payload)


def parse_events(text: str) -> list[Event]:
    return [e for e in (parse_event_line(line) for line in text.splitlines()) if e is not None]


@dataclass
class Trial:
    trial_id: str
    config: dict[str, Any] = field(default_factory=dict)
    state: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


class MetricSeries:
    """Bounded per-metric (step, value) series built from events, plus trials and artifacts."""

    def __init__(self, max_points: int = 2000) -> None:
        self.max_points = max_points
        self.series: dict[str, deque[tuple[float, float]]] = {}
        self.trials: dict[str, Trial] = {}
        self.artifacts: list[dict[str, Any]] = []
        self.start: Event | None = None
        self.end: Event | None = None
        self._auto_step = 0

    def add(self, event: Event) -> None:
        if event.kind == "start":
            self.start = event
        elif event.kind == "end":
            self.end = event
        elif event.kind == "artifact":
            self.artifacts.append(event.data)
        elif event.kind == "trial":
            trial_id = _text(event.data.get("trial_id"), "?")
            trial = self.trials.setdefault(trial_id, Trial(trial_id))
            if isinstance(event.data.get("config"), dict):
                trial.config = event.data["config"]
            trial.state = _text(event.data.get("state"), trial.state)
            trial.metrics.update(event.metrics)
        elif event.kind == "metric":
            step = event.step
            if step is None:
                self._auto_step += 1
                step = float(self._auto_step)
            for name, value in event.metrics.items():
                points = self.series.setdefault(name, deque(maxlen=self.max_points))
                points.append((step, value))

    def last(self) -> dict[str, float]:
        return {name: points[-1][1] for name, points in self.series.items() if points}
