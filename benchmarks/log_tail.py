"""Ingestion rate and memory of the job log view, against Textual's plain `Log` as the ceiling.

    .venv/bin/python benchmarks/log_tail.py [--lines 200000] [--max-lines 10000] [--chunk 10]

A local source writes N log lines as fast as it can into a headless `App.run_test()`, in chunks of
`--chunk` lines (Ray's log websocket sends at most 10 lines a frame), yielding to the event loop
after each chunk the way a socket read does. The LogView gets them through `append_lines`, the
same path the job screen uses (the log follower's callback). The clock stops when every line is
flushed and the screen has been painted with the newest line at the bottom. The same source then
feeds Textual's `Log.write_lines` (same `max_lines`): once per chunk, and once per frame (the
source itself coalescing chunks over 1/30 s, as a fair best case for `Log`). The faster of the two
is the ceiling. While lines pour in, a ticker measures how long the event loop stalls (what a
user feels as a frozen UI). Memory: a second pass under tracemalloc samples the memory held at
25/50/75/100% of N, each time once the view has flushed what it was given, after a gc and with
Rich's process-wide cell-length cache emptied (a fixed 4,096 entries that fill one frame at a
time, so over a fast run they would read as growth); once the view's buffer is full it must
stay flat. (The peak also counts up to one frame of lines in transit:
the pending buffer, itself bounded by `max_lines`.)

Every figure is one line: `bench <name>: <value> (target <op> <target>) ok|short`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import summary  # noqa: E402
from rich.cells import cached_cell_len  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import Log  # noqa: E402

from raycockpit.screens.widgets.log_view import LogLines, LogView  # noqa: E402

SIZE = (120, 40)
FRAME = 1 / 30
MIB = 1024 * 1024


def make_chunk(start: int, count: int) -> list[str]:
    """Realistic driver-log lines (~100 characters), made on the fly so only the view keeps
    them."""
    return [
        f"(RayTrainWorker pid={1000 + i % 8}, ip=127.0.0.1) "
        f"2026-01-01 12:00:{i % 60:02d},{i % 1000:03d}"
        f"\tINFO train.py:{i % 500} -- step {i} loss={1.0 / (1 + i):.6f} lr=0.001"
        for i in range(start, start + count)
    ]


class BenchApp(App):
    def __init__(self, kind: str, max_lines: int) -> None:
        super().__init__()
        self.kind = kind
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        if self.kind == "logview":
            yield LogView(max_lines=self.max_lines, id="view")
        else:
            yield Log(max_lines=self.max_lines, id="view")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


class StallMeter:
    """Sleeps 5 ms at a time and keeps the worst overshoot: how long the loop was not answering."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - before - 0.005)

    def __enter__(self) -> StallMeter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def bottom_text(app: BenchApp) -> str:
    """The newest line as painted at the bottom of the view (a check that it really rendered)."""
    if app.kind == "logview":
        rows = app.query_one(LogLines)
        height = rows.scrollable_content_region.height
        return rows.render_line(height - 1).text.rstrip()
    log = app.query_one(Log)
    height = log.scrollable_content_region.height
    return log.render_line(height - 1).text.rstrip()


async def feed(
    app: BenchApp, pilot, args, *, sample=None, settle: bool = False
) -> tuple[float, float]:
    """Push N lines into the app's view; returns (seconds until rendered, worst loop stall).

    `sample(fraction)` is called at 25/50/75/100% of N; with `settle`, only once the view has
    flushed and painted what it was given (memory held, not a frame's worth in transit).
    """
    n, chunk = args.lines, args.chunk
    marks = {int(n * f) // chunk * chunk: f for f in (0.25, 0.5, 0.75, 1.0)}
    view = app.query_one("#view")
    batched: list[str] = []
    last_write = time.perf_counter()
    with StallMeter() as stall:
        start = time.perf_counter()
        for first in range(0, n, chunk):
            lines = make_chunk(first, min(chunk, n - first))
            if app.kind == "logview":
                view.append_lines(lines)
            elif app.kind == "log_per_chunk":
                view.write_lines(lines)
            else:  # log_per_frame: the source coalesces chunks, one write per frame
                batched.extend(lines)
                now = time.perf_counter()
                if now - last_write >= FRAME:
                    view.write_lines(batched)
                    batched, last_write = [], now
            await asyncio.sleep(0)  # a socket read yields to the loop between frames
            done = first + chunk
            if sample is not None and done in marks:
                if settle:
                    while getattr(view, "pending", 0):
                        await asyncio.sleep(0.001)
                    await pilot.pause()
                    gc.collect()  # cyclic garbage (events, tasks) is not memory the view holds
                    # Rich's fixed 4096-entry cache, warming per frame
                    cached_cell_len.cache_clear()
                sample(marks[done])
        if batched:
            view.write_lines(batched)
        if app.kind == "logview":
            while view.pending:
                await asyncio.sleep(0.001)
        await pilot.pause()  # the screen is idle: everything is painted
        elapsed = time.perf_counter() - start
    expected = make_chunk(n - 1, 1)[0][: app.size.width - 2]
    if not expected.startswith(bottom_text(app)[:40]) or not bottom_text(app):
        raise SystemExit(f"{app.kind}: the newest line is not on screen: {bottom_text(app)!r}")
    if len(getattr(view, "lines", [])) != min(n, args.max_lines):
        raise SystemExit(
            f"{app.kind}: {len(view.lines)} lines kept, expected {min(n, args.max_lines)}"
        )
    return elapsed, stall.worst


async def timed_run(kind: str, args) -> tuple[float, float, dict[float, int]]:
    rss: dict[float, int] = {}
    app = BenchApp(kind, args.max_lines)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        gc.collect()
        elapsed, stall = await feed(
            app, pilot, args, sample=lambda f: rss.__setitem__(f, rss_bytes())
        )
    return args.lines / elapsed, stall, rss


async def memory_run(kind: str, args) -> dict[float, int]:
    held: dict[float, int] = {}
    app = BenchApp(kind, args.max_lines)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()

        def sample(fraction: float) -> None:
            held[fraction] = tracemalloc.get_traced_memory()[0]

        try:
            await feed(app, pilot, args, sample=sample, settle=True)
            held[-1] = tracemalloc.get_traced_memory()[1]  # peak
        finally:
            tracemalloc.stop()
    return held


async def main(args) -> None:
    rates: dict[str, float] = {}
    stalls: dict[str, float] = {}
    for kind in ("logview", "log_per_chunk", "log_per_frame"):
        best = 0.0
        worst_stall = 0.0
        for _ in range(args.repeat):
            rate, stall, rss = await timed_run(kind, args)
            best = max(best, rate)
            worst_stall = max(worst_stall, stall)
        rates[kind], stalls[kind] = best, worst_stall
        rss_text = "  ".join(f"{int(f * 100)}%={v / MIB:.0f}MiB" for f, v in sorted(rss.items()))
        print(
            f"{kind:14s} {best:12,.0f} lines/s  "
            f"worst loop stall {worst_stall * 1000:6.1f} ms  process RSS {rss_text}"
        )
    held = await memory_run("logview", args)
    print(
        "logview traced memory: "
        + "  ".join(f"{int(f * 100)}%={held[f] / MIB:.1f}MiB" for f in (0.25, 0.5, 0.75, 1.0))
        + f"  peak={held[-1] / MIB:.1f}MiB"
    )

    ceiling_kind = max(("log_per_chunk", "log_per_frame"), key=rates.get)
    ceiling = rates[ceiling_kind]
    print(f"ceiling: Log.write_lines {ceiling_kind.removeprefix('log_')} ({ceiling:,.0f} lines/s)")
    summary("log_tail_logview_lines_per_s", rates["logview"], "", ">=", 50_000)
    summary(
        "log_tail_log_write_lines_per_chunk_lines_per_s", rates["log_per_chunk"], "", ">=", 50_000
    )
    summary(
        "log_tail_log_write_lines_per_frame_lines_per_s", rates["log_per_frame"], "", ">=", 50_000
    )
    summary("log_tail_logview_vs_log_ceiling", rates["logview"] / ceiling, "x", ">=", 0.8)
    summary("log_tail_logview_worst_loop_stall_ms", stalls["logview"] * 1000, "ms", "<=", 100)
    # Flat = no growth with N. Lines that would be kept by a leak are ~0.18 KiB each, so the 75% of
    # N passing through after the 25% mark would add tens of MiB; bounded caches that are still
    # warming (Textual's per-strip caches fill one frame at a time) stay well under 1 MiB.
    base = held[0.25]
    passing = int(0.75 * args.lines)
    print(
        f"lines through the view after the 25% sample: {passing:,} "
        f"(kept, they would be ~{passing * 180 / MIB:.0f} MiB)"
    )
    for fraction in (0.25, 0.5, 0.75, 1.0):
        summary(
            f"log_tail_logview_memory_at_{int(fraction * 100)}pct",
            held[fraction] / MIB,
            "MiB",
            "<=",
            base / MIB + 1.0,
        )
    summary(
        "log_tail_logview_memory_growth_25_to_100pct", (held[1.0] - base) / MIB, "MiB", "<=", 1.0
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--max-lines", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="runs per view; the best rate counts")
    asyncio.run(main(parser.parse_args()))
