"""Progress events: one `@@cockpit {json}` line per event on stdout, flushed.

The cockpit finds the marker anywhere in a log line (Ray may prefix lines printed by
workers), parses the JSON and feeds its charts. Kinds: start, metric, trial, artifact, end.
This module imports nothing but the standard library.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import Any

MARKER = "@@cockpit"
VERSION = 1


def _clean(value: Any) -> Any:
    """Make a value JSON-safe and small: numpy scalars -> Python, NaN/inf -> None."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item):
        try:
            return _clean(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def numeric(metrics: Mapping[str, Any]) -> dict[str, float | int]:
    """Keep only the finite numbers of a metrics dict (metric events carry numbers only)."""
    out: dict[str, float | int] = {}
    for key, value in metrics.items():
        value = _clean(value)
        if isinstance(value, bool):
            out[key] = int(value)
        elif isinstance(value, (int, float)):
            out[key] = value
    return out


class Emitter:
    """Writes the events of one workload run."""

    def __init__(self, workload: str, stream=None) -> None:
        self.workload = workload
        self._stream = stream

    def emit(self, kind: str, /, **fields: Any) -> dict[str, Any]:
        event = {"v": VERSION, "kind": kind, "workload": self.workload}
        event.update(_clean({k: v for k, v in fields.items() if k not in event}))
        line = f"{MARKER} {json.dumps(event, separators=(', ', ': '), allow_nan=False)}"
        stream = self._stream or sys.stdout
        print(line, file=stream, flush=True)
        return event

    def start(self, params: Mapping[str, Any], resources: Mapping[str, Any] | None = None):
        return self.emit("start", params=dict(params), resources=dict(resources or {}))

    def metric(self, step: int, metrics: Mapping[str, Any], **extra: Any):
        return self.emit("metric", step=int(step), metrics=numeric(metrics), **extra)

    def trial(
        self,
        trial_id: str,
        config: Mapping[str, Any],
        state: str,
        metrics: Mapping[str, Any] | None = None,
        **extra: Any,
    ):
        return self.emit(
            "trial",
            trial_id=str(trial_id),
            config=dict(config),
            state=state,
            metrics=numeric(metrics or {}),
            **extra,
        )

    def artifact(self, name: str, *, path: str | None = None, url: str | None = None, **extra: Any):
        fields: dict[str, Any] = {"name": name}
        if path is not None:
            fields["path"] = str(path)
        if url is not None:
            fields["url"] = url
        fields.update(extra)
        return self.emit("artifact", **fields)

    def end(
        self,
        status: str = "ok",
        metrics: Mapping[str, Any] | None = None,
        message: str | None = None,
        **extra: Any,
    ):
        fields: dict[str, Any] = {"status": status, "metrics": numeric(metrics or {})}
        if message:
            fields["message"] = message[:500]
        fields.update(extra)
        return self.emit("end", **fields)
