"""Send requests to a Serve application and load-test it, over httpx. No Textual, no Ray.

Targets come only from the cluster's own Serve address (`serve_base_url`) plus a path the user
types; `build_url` refuses a path that would leave that address. Every failure becomes a
readable one-line `error`, never an exception; a load test is bounded in count, concurrency
and time.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from raycockpit import __version__

USER_AGENT = f"raycockpit-serve-tester/{__version__} (python-httpx)"
METHODS = ("POST", "GET", "PUT", "DELETE")
BODY_METHODS = ("POST", "PUT")
MAX_REQUESTS = 10_000
MAX_CONCURRENCY = 256
MAX_LOAD_SECONDS = 120.0
SHOW_CHARS = 4_000
SHOW_LINES = 80

# Two real rows of scikit-learn's digits (images 0 and 1: a "0" and a "1"), the serve workload's
# POST /predict input: 64 pixel values 0..16 each.
DIGITS_ROWS = [
    [
        0,
        0,
        5,
        13,
        9,
        1,
        0,
        0,
        0,
        0,
        13,
        15,
        10,
        15,
        5,
        0,
        0,
        3,
        15,
        2,
        0,
        11,
        8,
        0,
        0,
        4,
        12,
        0,
        0,
        8,
        8,
        0,
        0,
        5,
        8,
        0,
        0,
        9,
        8,
        0,
        0,
        4,
        11,
        0,
        1,
        12,
        7,
        0,
        0,
        2,
        14,
        5,
        10,
        12,
        0,
        0,
        0,
        0,
        6,
        13,
        10,
        0,
        0,
        0,
    ],
    [
        0,
        0,
        0,
        12,
        13,
        5,
        0,
        0,
        0,
        0,
        0,
        11,
        16,
        9,
        0,
        0,
        0,
        0,
        3,
        15,
        16,
        6,
        0,
        0,
        0,
        7,
        15,
        16,
        16,
        2,
        0,
        0,
        0,
        0,
        1,
        16,
        16,
        3,
        0,
        0,
        0,
        0,
        1,
        16,
        16,
        6,
        0,
        0,
        0,
        0,
        1,
        16,
        16,
        6,
        0,
        0,
        0,
        0,
        0,
        11,
        16,
        10,
        0,
        0,
    ],
]
DEFAULT_PATH = "/predict"


def example_body() -> str:
    """The prefilled body: one row per line, so it stays editable in a narrow text area."""
    rows = ",\n".join("  [" + ", ".join(f"{v}.0" for v in row) + "]" for row in DIGITS_ROWS)
    return "[\n" + rows + "\n]"


@dataclass(frozen=True)
class Result:
    status: int | None  # None: no HTTP answer (see error)
    body_text: str = ""
    latency_ms: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class LoadResult:
    n: int  # requests that finished (answered or failed)
    errors: int  # no answer, or a status outside 2xx
    p50: float  # latency in ms over every finished request
    p95: float
    p99: float
    rps: float  # finished requests per second of wall time
    elapsed_s: float = 0.0
    requested: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    first_error: str = ""


# -- form values ------------------------------------------------------------------------------


class FormError(ValueError):
    """A form value that cannot be used; `str()` is one line that says what to type."""


def parse_json_body(text: str) -> Any:
    """The body as JSON, or FormError naming the line and column of the mistake."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormError(
            f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def parse_count(text: str, name: str, maximum: int) -> int:
    """A positive integer no larger than `maximum`, or FormError."""
    value = text.strip()
    try:
        number = int(value)
    except ValueError:
        raise FormError(
            f"{name} must be a whole number from 1 to {maximum}, not {value!r}"
        ) from None
    if not 1 <= number <= maximum:
        raise FormError(f"{name} must be from 1 to {maximum}, not {number}")
    return number


def serve_base_url(http_host: str, http_port: int | None, dashboard_address: str) -> str | None:
    """http://host:port of Serve's HTTP proxy; a wildcard bind uses the dashboard's host."""
    if not http_port:
        return None
    host = http_host
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = urlsplit(dashboard_address).hostname or "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{http_port}"


def build_url(base: str, route_prefix: str, path: str) -> str:
    """base + the app's route prefix + path; refuses a path that would leave the Serve address."""
    path = path.strip()
    if "://" in path or path.startswith("//") or any(c.isspace() for c in path):
        raise FormError(f"path must be a plain path like /predict, not {path!r}")
    prefix = (route_prefix or "/").rstrip("/")
    if path and not path.startswith("/"):
        path = "/" + path
    return f"{base}{prefix}{path}" if prefix or path else f"{base}/"


# -- results ------------------------------------------------------------------------------------


def pretty_body(text: str, limit: int = SHOW_CHARS, max_lines: int = SHOW_LINES) -> str:
    """Indented JSON when the body is JSON, cut to `limit` characters and `max_lines` lines."""
    try:
        shown = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
        shown = text
    lines = shown.splitlines()
    cut = len(shown) > limit or len(lines) > max_lines
    if cut:
        shown = "\n".join(lines[:max_lines])[:limit]
        shown += f"\n… cut: {len(text):,} characters in all"
    return shown


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; 0.0 for an empty one."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _one_line_error(exc: BaseException, url: str, timeout: float) -> str:
    where = urlsplit(url).netloc or url
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer from {where} within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection refused"
        return f"cannot connect to {where}: {reason}"
    if isinstance(exc, httpx.HTTPError):
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__} talking to {where}" + (f": {reason}" if reason else "")
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _request_args(method: str, body: str | None) -> dict[str, Any]:
    method = method.upper()
    if method in BODY_METHODS and body is not None:
        return {"content": body.encode(), "headers": {"Content-Type": "application/json"}}
    return {}


def _client(timeout: float, connections: int = 1) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        timeout=timeout, limits=limits, headers={"User-Agent": USER_AGENT}, trust_env=False
    )


async def _one(
    http: httpx.AsyncClient, url: str, method: str, args: dict[str, Any], timeout: float
) -> Result:
    t0 = time.perf_counter()
    try:
        response = await http.request(method.upper(), url, **args)
        text = response.text
    except Exception as exc:  # every failure becomes one line
        return Result(
            None, "", (time.perf_counter() - t0) * 1000, _one_line_error(exc, url, timeout)
        )
    return Result(response.status_code, text, (time.perf_counter() - t0) * 1000)


async def send_request(url: str, method: str, body: str | None, timeout: float = 10.0) -> Result:
    """One request; the answer's status, text and latency, or a one-line error."""
    async with _client(timeout) as http:
        return await _one(http, url, method, _request_args(method, body), timeout)


async def load_test(
    url: str,
    method: str,
    body: str | None,
    n: int,
    concurrency: int,
    timeout: float = 10.0,
    *,
    max_seconds: float = MAX_LOAD_SECONDS,
) -> LoadResult:
    """`n` requests, `concurrency` at a time; stops starting new ones after `max_seconds`."""
    n = max(1, min(int(n), MAX_REQUESTS))
    concurrency = max(1, min(int(concurrency), MAX_CONCURRENCY, n))
    args = _request_args(method, body)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    first_error = ""
    next_index = 0
    started = time.perf_counter()
    deadline = started + max_seconds

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal next_index, errors, first_error
        while next_index < n and time.perf_counter() < deadline:
            next_index += 1
            result = await _one(http, url, method, args, timeout)
            latencies.append(result.latency_ms)
            if result.status is not None:
                statuses[result.status] = statuses.get(result.status, 0) + 1
            if not result.ok:
                errors += 1
                if not first_error:
                    first_error = result.error or f"HTTP {result.status}"

    async with _client(timeout, concurrency) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    elapsed = max(time.perf_counter() - started, 1e-9)
    ordered = sorted(latencies)
    return LoadResult(
        n=len(ordered),
        errors=errors,
        p50=percentile(ordered, 50),
        p95=percentile(ordered, 95),
        p99=percentile(ordered, 99),
        rps=len(ordered) / elapsed,
        elapsed_s=elapsed,
        requested=n,
        statuses=dict(sorted(statuses.items())),
        first_error=first_error,
    )
