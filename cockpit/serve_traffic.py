"""Live traffic of each Serve application from the Prometheus text its proxies export (no
Prometheus server): requests per second, the share answered 4xx and 5xx, and the p50 / p95
latency over the last half minute, for the Serve pane's tree.

Seen on a Ray 2.60 head (tests/fixtures/prometheus_serve_{a,b}.txt.gz: a load test of 100
requests between them, and 5 bad bodies answered 422): each HTTP proxy (one per node that has
one) exports `ray_serve_num_http_requests_total`, a counter labelled `application`, `route`,
`method` and `status_code`, and `ray_serve_http_request_latency_ms`, a histogram with the same
labels and buckets `le` in ms. Counters of every proxy and route are summed per application; a
rate needs two scrapes, so the first gives totals only. Ray exports every ~10 s, so a rate over
one 10 s beat jumps between 0 and twice the truth: it is taken over the beats of the last
WINDOW_S seconds. A counter that went down (a proxy restarted) counts from zero again.
Quantiles are read from the bucket counts the way Prometheus' `histogram_quantile` does
(linear within the bucket).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from raycockpit.cockpit.models import Node, ServeStatus
from raycockpit.cockpit.prom_metrics import Sample

REQUESTS = "ray_serve_num_http_requests_total"
LATENCY_BUCKET = "ray_serve_http_request_latency_ms_bucket"
WINDOW_S = 30.0
MAX_PROXY_NODES = 32  # scraped per beat: a proxy on every node of a big cluster is too many


@dataclass
class _Totals:
    """One application's counters in one scrape (cumulative, as exported)."""

    requests: float = 0.0
    by_class: dict[str, float] = field(default_factory=dict)  # "2xx" ... -> requests
    buckets: dict[float, float] = field(default_factory=dict)  # le (ms) -> cumulative count


@dataclass(frozen=True)
class AppTraffic:
    requests: float  # all answered, as far as the proxies' counters go
    rps: float | None = None  # None until two scrapes
    share_4xx: float = 0.0
    share_5xx: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None

    def short(self) -> str:
        """For the tree: `19.5 req/s · p95 93 ms · 4.8% 4xx` (the detail has the rest)."""
        if self.rps is None or self.rps <= 0:
            return self.line()
        parts = [f"{self.rps:.3g} req/s"]
        if self.p95_ms is not None:
            parts.append(f"p95 {self.p95_ms:.3g} ms")
        parts += [f"{100 * s:.2g}% {n}" for n, s in self._errors()]
        return " · ".join(parts)

    def _errors(self) -> list[tuple[str, float]]:
        return [(n, s) for n, s in (("5xx", self.share_5xx), ("4xx", self.share_4xx)) if s > 0]

    def line(self) -> str:
        """`12.5 req/s · p50 9 ms · p95 40 ms · 2.4% 4xx`, `no requests lately (205 in all)`."""
        if self.rps is None:
            return f"{self.requests:,.0f} requests in all"
        if self.rps <= 0:
            return f"no requests lately ({self.requests:,.0f} in all)"
        parts = [f"{self.rps:.3g} req/s"]
        for name, value in (("p50", self.p50_ms), ("p95", self.p95_ms)):
            if value is not None:
                parts.append(f"{name} {value:.3g} ms")
        parts += [f"{100 * s:.2g}% {n}" for n, s in self._errors()]
        return " · ".join(parts)


def totals(samples: Iterable[Sample]) -> dict[str, _Totals]:
    """Each application's counters in one scrape, summed over proxies, routes and methods."""
    out: dict[str, _Totals] = {}
    for sample in samples:
        if sample.name not in (REQUESTS, LATENCY_BUCKET):
            continue
        app = sample.labels.get("application", "")
        if not app:
            continue
        entry = out.setdefault(app, _Totals())
        if sample.name == REQUESTS:
            entry.requests += sample.value
            status = sample.labels.get("status_code", "")
            kind = status[:1] + "xx" if status[:1].isdigit() else "other"
            entry.by_class[kind] = entry.by_class.get(kind, 0.0) + sample.value
        else:
            try:
                le = float(sample.labels.get("le", ""))
            except ValueError:
                continue
            entry.buckets[le] = entry.buckets.get(le, 0.0) + sample.value
    return out


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """The q-quantile of cumulative bucket counts (le -> count), linear within a bucket; None
    without counts. Above the last finite bound: that bound."""
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    low, below = 0.0, 0.0
    for le, count in ordered:
        if count >= rank:
            if math.isinf(le):
                return low
            if count <= below:
                return le
            return low + (le - low) * (rank - below) / (count - below)
        low, below = le, count
    return None


def _delta(now: float, then: float) -> float:
    return now - then if now >= then else now  # a proxy restarted: its counter began again


class ServeTraffic:
    """The scrapes of the last WINDOW_S seconds; `add` one and get each application's traffic."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._beats: deque[tuple[float, dict[str, _Totals]]] = deque()

    def add(self, samples: Iterable[Sample], at: float) -> dict[str, AppTraffic]:
        now = totals(samples)
        self._beats.append((at, now))
        while len(self._beats) > 2 and at - self._beats[1][0] >= self.window_s:
            self._beats.popleft()  # the oldest kept is the last one at least WINDOW_S back
        then_at, then = self._beats[0]
        out = {}
        for app, current in now.items():
            if then_at >= at:
                out[app] = AppTraffic(current.requests)
                continue
            before = then.get(app, _Totals())
            requests = _delta(current.requests, before.requests)
            classes = {
                k: _delta(v, before.by_class.get(k, 0.0)) for k, v in current.by_class.items()
            }
            buckets = {k: _delta(v, before.buckets.get(k, 0.0)) for k, v in current.buckets.items()}
            out[app] = AppTraffic(
                requests=current.requests,
                rps=requests / (at - then_at),
                share_4xx=classes.get("4xx", 0.0) / requests if requests else 0.0,
                share_5xx=classes.get("5xx", 0.0) / requests if requests else 0.0,
                p50_ms=quantile(0.5, buckets),
                p95_ms=quantile(0.95, buckets),
            )
        return out

    def clear(self) -> None:
        self._beats.clear()


def proxy_targets(serve: ServeStatus, nodes: Iterable[Node]) -> list[tuple[str, int]]:
    """(ip, metrics port) of the alive nodes that run a Serve proxy (at most MAX_PROXY_NODES)."""
    proxies = {where for where, _ in serve.proxies}
    out: list[tuple[str, int]] = []
    for node in nodes:
        if node.state != "ALIVE" or node.metrics_port is None or not node.ip:
            continue
        if node.ip in proxies or node.node_id in proxies:
            if (node.ip, node.metrics_port) not in out:
                out.append((node.ip, node.metrics_port))
    return out[:MAX_PROXY_NODES]
