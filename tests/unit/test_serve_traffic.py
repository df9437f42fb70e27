"""Serve applications' traffic from their proxies' Prometheus text: two real Ray 2.60 scrapes
(tests/fixtures/prometheus_serve_{a,b}.txt.gz; between them a load test of 100 requests and 5
bad bodies answered 422), then the edges: a restarted proxy, the window, the quantiles."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import hypothesis

from raycockpit.cockpit.models import Node, ServeStatus
from raycockpit.cockpit.prom_metrics import Sample, parse_text
from raycockpit.cockpit.serve_traffic import (
    AppTraffic,
    ServeTraffic,
    proxy_targets,
    quantile,
    totals,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def scrape(name: str) -> list[Sample]:
    return parse_text(gzip.decompress((FIXTURES / name).read_bytes()).decode())


def test_two_real_scrapes_give_rate_errors_and_latency():
    a, b = scrape("prometheus_serve_a.txt.gz"), scrape("prometheus_serve_b.txt.gz")
    first = totals(a)["digits"]
    assert first.requests == 101 and first.by_class == {"2xx": 101}  # 100 POST + 1 GET /health
    traffic = ServeTraffic()
    assert traffic.add(a, 100.0) == {"digits": AppTraffic(101)}  # one scrape: totals only
    seen = traffic.add(b, 110.0)["digits"]
    assert seen.requests == 206 and seen.rps == 10.5  # 105 more in 10 s
    assert math.isclose(seen.share_4xx, 5 / 105) and seen.share_5xx == 0
    # the load test's own figures were p50 51.7 ms, p95 85.0 ms: the buckets say as much
    assert 20 < seen.p50_ms < 50 < seen.p95_ms < 100
    assert seen.short() == "10.5 req/s · p95 93.6 ms · 4.8% 4xx"
    assert seen.line() == "10.5 req/s · p50 43.9 ms · p95 93.6 ms · 4.8% 4xx"
    assert AppTraffic(101).line() == "101 requests in all"
    quiet = ServeTraffic()
    quiet.add(b, 0.0)
    assert quiet.add(b, 10.0)["digits"].short() == "no requests lately (206 in all)"


def requests(count: float, status: str = "200", app: str = "a") -> Sample:
    labels = {"application": app, "status_code": status, "route": "/"}
    return Sample("ray_serve_num_http_requests_total", "counter", labels, count)


def test_a_restarted_proxy_and_the_window():
    traffic = ServeTraffic(window_s=30.0)
    traffic.add([requests(1000)], 0.0)
    # the proxy restarted: its counter began again at 50 (50 requests, not -950)
    assert traffic.add([requests(50)], 10.0)["a"].rps == 5.0
    traffic.add([requests(350)], 20.0)
    traffic.add([requests(650)], 30.0)
    later = traffic.add([requests(950)], 40.0)["a"]
    assert later.rps == 30.0  # over the last 30 s: (950 - 50) / 30, the 0 s beat let go
    five = traffic.add([requests(950), requests(30, "503")], 50.0)["a"]
    assert five.rps == 21.0 and math.isclose(five.share_5xx, 30 / 630)  # since the 20 s beat
    assert five.share_4xx == 0
    assert "5xx" in five.short() and five.p95_ms is None  # no latency buckets: none said


def test_quantiles_read_the_buckets_as_prometheus_does():
    buckets = {10.0: 0, 20.0: 50, 50.0: 90, 100.0: 100, math.inf: 100}
    assert quantile(0.5, buckets) == 20.0
    assert quantile(0.25, buckets) == 15.0  # linear within (10, 20]
    assert quantile(0.95, buckets) == 75.0
    assert quantile(0.99, {10.0: 0, math.inf: 10}) == 10.0  # past the last bound: that bound
    assert quantile(0.5, {}) is None and quantile(0.5, {math.inf: 0}) is None


def test_only_proxy_nodes_are_asked():
    def node(ip: str, port: int | None = 9000, state: str = "ALIVE") -> Node:
        return Node(
            node_id=f"id-{ip}", hostname="h", ip=ip, is_head=False, state=state, metrics_port=port
        )

    serve = ServeStatus(running=True, proxies=(("10.0.0.1", "HEALTHY"), ("id-10.0.0.3", "x")))
    nodes = [
        node("10.0.0.1"),
        node("10.0.0.2"),
        node("10.0.0.3"),
        node("10.0.0.1", 9001),
        node("10.0.0.4", None),
        node("10.0.0.5", state="DEAD"),
    ]
    assert proxy_targets(serve, nodes) == [
        ("10.0.0.1", 9000),
        ("10.0.0.3", 9000),
        ("10.0.0.1", 9001),
    ]


@hypothesis.given(
    st_values := hypothesis.strategies.lists(
        hypothesis.strategies.floats(min_value=0, max_value=1e9), min_size=1, max_size=12
    )
)
def test_never_negative_and_always_finite(st_values):
    traffic = ServeTraffic()
    for i, value in enumerate(st_values):
        seen = traffic.add([requests(value), requests(value / 3, "500")], float(i))["a"]
        assert seen.rps is None or (math.isfinite(seen.rps) and seen.rps >= 0)
        assert 0 <= seen.share_5xx <= 1
