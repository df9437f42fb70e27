"""The one refresh loop: fetch every section, parse, publish one immutable Snapshot.

At most one request per endpoint is in flight: a poll awaits all its requests before the next
poll starts, and a poll that outlasts the interval delays the next one rather than stacking. A
section that fails keeps its last value and is marked stale with its error; when the dashboard is
unreachable the interval backs off (up to 30 s) and the loop reconnects by itself.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from raycockpit.cockpit import clock
from raycockpit.cockpit.errors import (
    AuthForbidden,
    AuthRequired,
    BadResponse,
    CockpitError,
    DashboardTimeout,
    DashboardUnreachable,
)
from raycockpit.cockpit.models import ClusterInfo, Snapshot
from raycockpit.cockpit.parse import (
    merge_structured_autoscaler,
    parse_autoscaler_text,
    parse_jobs,
    parse_nodes,
    parse_serve,
)

MAX_BACKOFF_S = 30.0
HISTORY_POINTS = 60


class History:
    """Bounded recent values per series key (GPU utilisation, cluster CPU...)."""

    def __init__(self, points: int = HISTORY_POINTS) -> None:
        self.points = points
        self._series: dict[str, deque[float]] = {}

    def add(self, key: str, value: float | None) -> None:
        if value is None:
            return
        self._series.setdefault(key, deque(maxlen=self.points)).append(float(value))

    def frozen(self) -> dict[str, tuple[float, ...]]:
        return {key: tuple(values) for key, values in self._series.items()}


class Poller:
    def __init__(self, client: Any, interval: float = 2.0, slow_every: int = 5) -> None:
        self.client = client
        self.interval = interval
        self.slow_every = max(1, slow_every)  # structured autoscaler report on a slower beat
        self.snapshot = Snapshot(info=ClusterInfo(address=client.address))
        self.history = History()
        self.paused = False
        self._wake = asyncio.Event()
        self._polls = 0
        self._failures = 0
        self._structured: Any = None
        self._serve_missing = False

    # -- control -----------------------------------------------------------------------------

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._wake.set()

    def toggle_pause(self) -> bool:
        if self.paused:
            self.resume()
        else:
            self.pause()
        return self.paused

    def refresh_now(self) -> None:
        self._wake.set()

    @property
    def current_interval(self) -> float:
        if self._failures == 0:
            return self.interval
        return min(MAX_BACKOFF_S, self.interval * 2 ** min(self._failures, 6))

    # -- polling -----------------------------------------------------------------------------

    async def run(self, publish: Callable[[Snapshot], Awaitable[None] | None]) -> None:
        """Poll forever (until cancelled), handing each snapshot to `publish`."""
        while True:
            if not self.paused:
                result = publish(await self.poll_once())
                if asyncio.iscoroutine(result):
                    await result
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.current_interval)
            except TimeoutError:
                pass
            while self.paused and not self._wake.is_set():
                await self._wake.wait()

    async def poll_once(self) -> Snapshot:
        self._polls += 1
        snap = self.snapshot
        now = clock.now()
        info = snap.info
        if not info.ray_version:
            try:
                version = await self.client.version()
                info = replace(
                    info,
                    ray_version=str(version.get("ray_version", "")),
                    session_name=str(version.get("session_name", "")),
                )
                info = replace(info, auth_mode=await self.client.auth_mode())
            except CockpitError as exc:
                if _is_connection(exc):
                    self._failures += 1
                    self.snapshot = replace(
                        snap,
                        info=info,
                        fetched_at=now,
                        connected=False,
                        connection_error=exc.one_line(),
                        errors={
                            s: exc.one_line() for s in ("nodes", "autoscaler", "jobs", "serve")
                        },
                    )
                    return self.snapshot

        want_structured = self._polls % self.slow_every == 1 or self.slow_every == 1
        calls = {
            "nodes": self.client.node_summary(),
            "autoscaler": self.client.cluster_status_text(),
            "jobs": self.client.list_jobs(),
        }
        if not self._serve_missing:
            calls["serve"] = self.client.serve_applications()
        if want_structured:
            calls["structured"] = self.client.cluster_status()
        gathered = await asyncio.gather(*calls.values(), return_exceptions=True)
        results = dict(zip(calls, gathered, strict=False))

        updates: dict[str, Any] = {}
        errors = dict(snap.errors)
        updated_at = dict(snap.updated_at)
        connection_errors = []
        if "structured" in results and not isinstance(results["structured"], BaseException):
            self._structured = results["structured"]
        parsers = {
            "nodes": parse_nodes,
            "autoscaler": self._parse_autoscaler,
            "jobs": parse_jobs,
            "serve": parse_serve,
        }
        for section, parser in parsers.items():
            if section not in results:
                continue
            raw = results[section]
            if isinstance(raw, BaseException):
                if section == "serve" and isinstance(raw, BadResponse) and raw.status in (501, 404):
                    self._serve_missing = True  # Serve not installed on the head: not an error
                    errors.pop("serve", None)
                    continue
                if not isinstance(raw, CockpitError):
                    raw = BadResponse(f"{section}: {type(raw).__name__}: {raw}")
                errors[section] = raw.one_line()
                if _is_connection(raw):
                    connection_errors.append(raw)
                continue
            try:
                updates[section] = parser(raw)
            except CockpitError as exc:
                errors[section] = exc.one_line()
                continue
            errors.pop(section, None)
            updated_at[section] = now

        connected = len(connection_errors) < len(parsers) - (1 if self._serve_missing else 0)
        if connected:
            self._failures = 0
        else:
            self._failures += 1
            info = replace(info, ray_version="")  # re-read the version when it comes back
        new = replace(
            snap,
            info=info,
            fetched_at=now,
            errors=errors,
            updated_at=updated_at,
            connected=connected,
            connection_error="" if connected else connection_errors[0].one_line(),
            **updates,
        )
        self._record_history(new)
        self.snapshot = replace(new, history=self.history.frozen())
        return self.snapshot

    def _parse_autoscaler(self, text: str):
        status = parse_autoscaler_text(text)
        if self._structured is not None:
            status = merge_structured_autoscaler(status, self._structured)
        return status

    def _record_history(self, snap: Snapshot) -> None:
        if "nodes" in snap.errors:
            return
        for gpu in snap.gpus:
            self.history.add(f"gpu:{gpu.key}", gpu.utilization)
            self.history.add(f"gpumem:{gpu.key}", 100 * gpu.memory_fraction)
        for node in snap.alive_nodes:
            self.history.add(f"cpu:{node.node_id}", node.cpu_percent)
        totals = snap.totals()
        if "CPU" in totals:
            self.history.add("cluster:CPU", 100 * totals["CPU"].fraction)


def _is_connection(exc: BaseException) -> bool:
    """Failures that leave the cockpit blind (unreachable, too slow, or not let in)."""
    return isinstance(exc, (DashboardUnreachable, DashboardTimeout, AuthRequired, AuthForbidden))
