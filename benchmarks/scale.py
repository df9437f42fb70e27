"""The cockpit at scale: refresh CPU, key-to-screen latency, time to first paint and memory, against
the scale replayer (benchmarks/replay.py: a Ray 2.60 dashboard of N nodes x 8 GPUs and J jobs) and,
for first paint, against `ray status` on a real loopback head.

    .venv/bin/python benchmarks/scale.py            # the whole run, < 10 minutes on 2 cores
    .venv/bin/python benchmarks/scale.py --quick    # ~2 minutes: two sizes, fewer samples
    .venv/bin/python benchmarks/scale.py --soak 3600 [--soak-size 5000x10000]

Sizes (nodes x jobs, 8 GPUs a node): 10x100, 100x1000, 1000x10000, 5000x10000 (--quick: refresh
cost at 10x100 and 1000x10000, keys and memory at 1000x10000 only, fewer samples, 2 first-paint
rounds). Each size gets one replayer, a SUBPROCESS (its CPU is not ours), stopped by pid.

1. Refresh cost, in this process: the real app headless (make_app + run_test at 120x40) on the
   Nodes pane ("2"), then the Jobs pane ("5"): after 2 warm-up polls, K polls back to back
   (poller.refresh_now(), then wait until app.snapshot is a new one and the app is idle: fetch,
   decode/parse in the worker thread, the pane's update and paint). CPU = time.process_time() (all
   threads) over the K polls / K. K is a multiple of 5, the poller's beat for the sections the
   pane does not show, so each cycle carries its share of them. Floor: json.loads (process CPU,
   median of 3) of the same answers, fetched once with urllib, weighted by what the K polls
   fetched (counted by wrapping the client's *_bytes methods): the floor of the bytes the cycle
   actually read. The issue's literal floor (node summary + job list, every cycle) is printed too.
   Growth: CPU per node+job, CPU per MB fetched, and the log-log slope of CPU per cycle against
   the floor per cycle between consecutive sizes (1.0 = linear in the answers' bytes; the slope
   against raw bytes is printed too, but a node's JSON costs json.loads more per byte than a
   job's, so the bytes slope moves with the mix).
2. Key-to-screen latency, on the real binary in a pseudo-terminal: `raycockpit --address URL` in
   tmux (tests/e2e/terminal.py) at 120x40, default settings (an empty config dir). Keys go in and
   the screen comes back through ONE tmux control-mode client (`tmux -C`: no process per command);
   the clock starts just before `send-keys` is written and stops when the `capture-pane` that
   first shows the expected change has returned (an upper bound: the change was not on the
   previous capture). Captures are ~2 ms apart (the resolution is printed). Keys: pane switches
   5 <-> 2 (the new pane's header and all its rows), pagedown/pageup on the Jobs table and (100+
   nodes) the Nodes table (the page moves, or the cursor's row moves on it: from a page's top,
   PageDown first moves the cursor to the page's bottom; read with `capture-pane -e`, the cursor's
   row being the one background no other row has), `/` and typing on Jobs (the filter bar opens;
   each character: the text so far in the filter bar and the table's ids as they settle), Enter
   on the Jobs table (the job screen with that job's id and its footer) and Escape back (the Jobs
   table, the nav line and the pane's footer again). Escape is counted apart, with the same
   target: a lone ESC is held for ESCDELAY (the cockpit's 50 ms, screens/driver.py) to tell it
   from an escape sequence, so part of its time is that wait. Each key waits a random
   0.1-0.3 s after the previous one showed, so keys land anywhere in the 2 s refresh cycle. Then
   again at 1000x10000 with every answer delayed 5 s (`--delay 5`).
3. Time to first paint: from launching `raycockpit --address URL` in a new tmux (its start
   included) to the first screen showing the Nodes table with a row of the head's IP; "2" is sent
   as soon as the nav line is drawn (what a person who wants the Nodes pane does). Against
   `ray status --address <gcs>` (wall time, a subprocess) on the SAME real loopback head
   (own_head), alternating, median of the rounds. Also our figure against the replayer at each
   size.
4. Memory: RSS (VmRSS, and the peak VmHWM) of the cockpit's process tree in tmux, read from
   /proc after the latency keys (tens of refreshes). `--soak SECONDS` instead samples it every
   10 s at `--soak-size` on `--soak-pane` (from 20 s after the first data) and prints the
   first/last/max and the least-squares slope per hour.

Everything this script starts (replayers, tmux servers, the cockpit, the Ray head) is stopped by
pid; after each `q` the cockpit's process tree is checked to be gone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _common import median, own_head, summary

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.local import process_tree, ray_environment, still_running
from raycockpit.screens.app import make_app
from tests.e2e.terminal import BASE_ENV, Terminal

HERE = Path(__file__).resolve().parent
REPLAY = HERE / "replay.py"
RAYCOCKPIT = str(Path(sys.executable).with_name("raycockpit"))
RAY = str(Path(sys.executable).with_name("ray"))
GPUS = 8
SIZES = ((10, 100), (100, 1000), (1000, 10000), (5000, 10000))
QUICK_SIZES = ((10, 100), (1000, 10000))
TARGET_SIZE = (1000, 10000)
COLS, ROWS = 120, 40
MB = 2**20

FLOOR_RATIO = 3.0  # CPU per refresh cycle at 1000x10000: at most 3x json.loads of the same bytes
GROWTH_SLOPE = 1.15  # CPU per cycle against its json.loads floor: no worse than linear (+15% noise)
KEY_P99_MS = 100.0
ESCDELAY_MS = 50.0  # the cockpit's ESCDELAY (screens/driver.py): a lone ESC is held this long
PAINT_RATIO = 0.5  # time to first painted Nodes table: at most half of `ray status`
RSS_MB = 300.0
SOAK_SLOPE_MB_H = 20.0  # "flat": under 20 MB an hour
SOAK_WARMUP_S = 20.0  # after the first data, before the first sample
POLL_S = 0.002  # pause between two screen captures
JOB_STATES = {"PENDING", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED"}


def label(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def secs(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f} s"


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of fewer than 100 samples is their maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# -- the replayer, a subprocess --------------------------------------------------------------------


class Replayer:
    """benchmarks/replay.py in a process of its own (own session), stopped by pid."""

    def __init__(self, nodes: int, jobs: int, delay: float = 0.0) -> None:
        self.nodes, self.jobs, self.delay = nodes, jobs, delay
        cmd = [sys.executable, str(REPLAY), "--nodes", str(nodes), "--gpus", str(GPUS)]
        cmd += ["--jobs", str(jobs), "--delay", str(delay)]
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, text=True, start_new_session=True, cwd=str(HERE.parent)
        )
        line = self.proc.stdout.readline()
        match = re.search(r"http://\S+", line)
        if not match:
            self.stop()
            raise SystemExit(f"replayer did not start: {line!r}")
        self.url = match.group(0)
        self.ready_s = time.perf_counter() - started
        self.tree = process_tree(self.proc.pid)

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=120) as answer:
            return answer.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pid in still_running(getattr(self, "tree", {})):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Cluster:
    """What the benchmarks need to know of the replayed cluster: the head's IP, the jobs."""

    nodes: int
    head_ip: str
    jobs: list[dict]
    bodies: dict[str, bytes]  # fetcher name -> one answer, for the json.loads floor


ENDPOINTS = {
    "node_summary_bytes": "/nodes?view=summary",
    "list_jobs_bytes": "/api/jobs/",
    "cluster_status_text": "/api/cluster_status?format=1",
    "cluster_status": "/api/cluster_status",
    "serve_applications_bytes": "/api/serve/applications/",
}


def read_cluster(get: Callable[[str], bytes], bodies: bool = True) -> Cluster:
    """The head's IP and the jobs; with `bodies`, one answer of every endpoint a poll reads."""
    names = ENDPOINTS if bodies else ("node_summary_bytes", "list_jobs_bytes")
    answers = {name: get(ENDPOINTS[name]) for name in names}
    nodes = json.loads(answers["node_summary_bytes"])["data"]["summary"]
    head = next(n for n in nodes if n["raylet"].get("isHeadNode"))
    jobs = json.loads(answers["list_jobs_bytes"])
    return Cluster(len(nodes), head["ip"], jobs, answers if bodies else {})


def loads_cpu(body: bytes, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        value = json.loads(body)
        times.append(time.process_time() - start)
        del value
    return median(times)


# -- 1. refresh cost, in process -------------------------------------------------------------------


@dataclass
class Cost:
    pane: str
    polls: int
    cpu_s: float  # per cycle
    wall_s: float  # per cycle
    fetched: Counter = field(default_factory=Counter)  # fetcher -> answers over the K polls
    nbytes: Counter = field(default_factory=Counter)  # fetcher -> bytes over the K polls

    @property
    def bytes_per_cycle(self) -> float:
        return sum(self.nbytes.values()) / self.polls


def count_fetches(client: DashboardClient, fetched: Counter, nbytes: Counter) -> None:
    """Wrap the client's raw-answer methods to count what each poll fetched."""
    for name in ("node_summary_bytes", "list_jobs_bytes", "serve_applications_bytes"):
        orig = getattr(client, name)

        async def wrapped(*args, _orig=orig, _name=name, **kwargs):
            body = await _orig(*args, **kwargs)
            fetched[_name] += 1
            nbytes[_name] += len(body)
            return body

        setattr(client, name, wrapped)
    status = client.cluster_status_bytes

    async def cluster_status_bytes(text: bool = False):
        body = await status(text=text)
        name = "cluster_status_text" if text else "cluster_status"
        fetched[name] += 1
        nbytes[name] += len(body)
        return body

    client.cluster_status_bytes = cluster_status_bytes


async def next_snapshot(app, pilot, timeout: float = 120.0) -> None:
    """Ask for a poll now and wait until the app has shown its snapshot and is idle again."""
    before = app.snapshot
    app.poller.refresh_now()
    deadline = time.monotonic() + timeout
    while app.snapshot is before:
        if time.monotonic() > deadline:
            raise SystemExit(f"no new snapshot in {timeout:.0f} s")
        await asyncio.sleep(0.005)
    await pilot.pause()


async def refresh_cost(url: str, polls: int, warm: int = 2) -> list[Cost]:
    fetched: Counter = Counter()
    nbytes: Counter = Counter()
    client = DashboardClient(url, discover=False)
    count_fetches(client, fetched, nbytes)
    app = make_app(Settings(), client=client)
    costs = []
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        deadline = time.monotonic() + 120
        while app.snapshot is None or not app.snapshot.nodes:
            if time.monotonic() > deadline:
                raise SystemExit("the headless app got no nodes in 120 s")
            await asyncio.sleep(0.02)
        for key, pane in (("2", "nodes"), ("5", "jobs")):
            await pilot.press(key)
            await pilot.pause()
            assert app.current_pane == pane, app.current_pane
            for _ in range(warm):
                await next_snapshot(app, pilot)
            fetched.clear()
            nbytes.clear()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for _ in range(polls):
                await next_snapshot(app, pilot)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            costs.append(Cost(pane, polls, cpu / polls, wall / polls, Counter(fetched), +nbytes))
    return costs


@dataclass
class SizeCost:
    size: tuple[int, int]
    costs: list[Cost]
    loads: dict[str, float]  # fetcher -> json.loads CPU of one answer
    sizes: dict[str, int]  # fetcher -> bytes of one answer

    def floor(self, cost: Cost) -> float:
        """json.loads of what the K polls fetched, per cycle."""
        return sum(self.loads[k] * n for k, n in cost.fetched.items()) / cost.polls

    @property
    def literal_floor(self) -> float:
        return self.loads["node_summary_bytes"] + self.loads["list_jobs_bytes"]


def measure_refresh(rep: Replayer, cluster: Cluster, polls: int) -> SizeCost:
    costs = asyncio.run(refresh_cost(rep.url, polls))
    loads = {name: loads_cpu(body) for name, body in cluster.bodies.items()}
    sizes = {name: len(body) for name, body in cluster.bodies.items()}
    return SizeCost((rep.nodes, rep.jobs), costs, loads, sizes)


def report_refresh(results: list[SizeCost]) -> None:
    print("\n== 1. refresh cost (in process; CPU = process_time of all threads, per cycle)")
    head = (
        f"{'size':>11} {'pane':>5} {'K':>3} {'MB/cycle':>8} {'CPU ms':>8} {'wall ms':>8} "
        f"{'floor ms':>9} {'x floor':>7} {'literal':>8} {'x lit':>6} {'us/(n+j)':>9} "
        f"{'ms/MB':>6}"
    )
    print(head)
    for r in results:
        for c in r.costs:
            floor = r.floor(c)
            items = r.size[0] + r.size[1]
            print(
                f"{label(r.size):>11} {c.pane:>5} {c.polls:3d} {c.bytes_per_cycle / MB:8.2f} "
                f"{c.cpu_s * 1e3:8.1f} {c.wall_s * 1e3:8.1f} {floor * 1e3:9.1f} "
                f"{c.cpu_s / floor:7.2f} {r.literal_floor * 1e3:8.1f} "
                f"{c.cpu_s / r.literal_floor:6.2f} {c.cpu_s / items * 1e6:9.2f} "
                f"{c.cpu_s * 1e3 / (c.bytes_per_cycle / MB):6.1f}"
            )
    print(
        "  floor = json.loads of the answers those K polls fetched (per cycle); literal = "
        "json.loads(node summary) + json.loads(job list), the issue's floor; MB/cycle = bytes "
        "fetched per cycle"
    )
    for r in results:
        fetched = ", ".join(
            f"{c.pane}: " + " ".join(f"{k.replace('_bytes', '')}={n}" for k, n in c.fetched.items())
            for c in r.costs
        )
        print(f"  {label(r.size)} answers over K polls: {fetched}")
    print(
        "  growth between consecutive sizes, as log-log slopes (1.0 = linear): CPU/cycle against "
        "the floor/cycle (json.loads of the same answers: linear in their bytes, whatever their "
        "mix), and against bytes/cycle (a node's JSON costs json.loads more per byte than a job's)"
    )
    slopes: dict[str, list[float]] = {}
    for a, b in zip(results, results[1:], strict=False):
        for ca, cb in zip(a.costs, b.costs, strict=True):
            cpu, floor = cb.cpu_s / ca.cpu_s, b.floor(cb) / a.floor(ca)
            nbytes = cb.bytes_per_cycle / ca.bytes_per_cycle
            slope = math.log(cpu) / math.log(floor)
            slopes.setdefault(ca.pane, []).append(slope)
            print(
                f"    {ca.pane:>5} {label(a.size):>10} -> {label(b.size):10}: CPU x{cpu:.2f}, "
                f"floor x{floor:.2f}, bytes x{nbytes:.2f}: slope {slope:.2f} vs the floor, "
                f"{math.log(cpu) / math.log(nbytes):.2f} vs bytes"
            )
    target = next((r for r in results if r.size == TARGET_SIZE), None)
    if target is not None:
        for c in target.costs:
            summary(
                f"scale_refresh_cpu_vs_json_floor_{c.pane}_{label(TARGET_SIZE)}",
                c.cpu_s / target.floor(c),
                "x",
                "<=",
                FLOOR_RATIO,
            )
    for pane, values in slopes.items():
        summary(f"scale_refresh_growth_vs_floor_{pane}", max(values), "", "<=", GROWTH_SLOPE)


# -- the real binary in tmux -----------------------------------------------------------------------


class Control:
    """A tmux control-mode client (`tmux -C attach`) of a Terminal's server: every command is a
    line on its stdin and a %begin/%end block on its stdout, no process per command."""

    def __init__(self, term: Terminal) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        self.proc = subprocess.Popen(
            [
                term.tmux,
                "-S",
                str(term.socket),
                "-f",
                "/dev/null",
                "-C",
                "attach-session",
                "-t",
                "t",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.captures: list[float] = []  # how long each capture took
        self.gaps: list[float] = []  # time between two captures of one wait
        token = f"rc-sync-{os.getpid()}"
        self.proc.stdin.write(f"display-message -p {token}\n".encode())
        self.proc.stdin.flush()
        while token not in self._block():
            pass
        self.command("refresh-client -f no-output")  # no %output notifications: only answers
        size = self.command("display-message -p '#{pane_width}x#{pane_height}'").strip()
        if size != f"{COLS}x{ROWS}":
            raise SystemExit(f"the control client changed the pane's size: {size}")

    def _block(self) -> str:
        """The answer to our next command (notifications, and blocks the server sends by itself,
        flags 0, are skipped)."""
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("tmux control client closed")
            if line.startswith(b"%begin "):
                tail = line.split(b" ", 1)[1].rstrip(b"\n")
                out = []
                while True:
                    line = self.proc.stdout.readline()
                    if not line:
                        raise SystemExit("tmux control client closed")
                    if line.rstrip(b"\n") in (b"%end " + tail, b"%error " + tail):
                        break
                    out.append(line)
                if tail.endswith(b" 1"):  # flags 1: the answer to a command of ours
                    return b"".join(out).decode(errors="replace")

    def command(self, text: str) -> str:
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        return self._block()

    def send(self, *keys: str, literal: bool = False) -> None:
        args = " ".join("'" + k.replace("'", "'\\''") + "'" for k in keys)
        self.command(f"send-keys -t t {'-l ' if literal else ''}{args}")

    def screen(self, escapes: bool = False) -> str:
        """The pane's screen as text; with `escapes`, with its SGR attributes (capture-pane -e)."""
        start = time.perf_counter()
        text = self.command("capture-pane -p -e -t t" if escapes else "capture-pane -p -t t")
        self.captures.append(time.perf_counter() - start)
        return text

    def wait(
        self, check: Callable[[str], object], timeout: float, escapes: bool = False
    ) -> tuple[float, str] | None:
        """(perf_counter when the first capture passing `check` returned, that screen), or None
        after `timeout`."""
        deadline = time.perf_counter() + timeout
        last = None
        while True:
            screen = self.screen(escapes)
            now = time.perf_counter()
            if last is not None:
                self.gaps.append(now - last)
            last = now
            if check(screen):
                return now, screen
            if now > deadline:
                return None
            time.sleep(POLL_S)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


# what the screen shows


def lines_of(screen: str) -> list[str]:
    return screen.split("\n")[:ROWS]


def header_at(screen: str, *words: str) -> int | None:
    for i, line in enumerate(lines_of(screen)):
        if all(w in line for w in words):
            return i
    return None


def jobs_ids(screen: str) -> list[str]:
    """The submission ids (or job ids) on the Jobs table's rows, top to bottom."""
    at = header_at(screen, "Submission id", "Status")
    if at is None:
        return []
    ids = []
    for line in lines_of(screen)[at + 1 :]:
        parts = line.split()
        if len(parts) >= 2 and parts[1] in JOB_STATES:
            ids.append(parts[0])
    return ids


def nodes_rows(screen: str) -> list[list[str]]:
    at = header_at(screen, "Host", "IP", "Head")
    if at is None:
        return []
    rows = []
    for line in lines_of(screen)[at + 1 :]:
        parts = line.split()
        if len(parts) >= 2 and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", parts[1]):
            rows.append(parts)
    return rows


def nav_shown(screen: str) -> bool:
    return "1 Overview" in screen and "5 Jobs" in screen


def footer(screen: str) -> str:
    return lines_of(screen)[-1].rstrip() if screen else ""


def filter_value(screen: str) -> str | None:
    """The filter bar's text, or None while it is closed."""
    lines = lines_of(screen)
    for i, line in enumerate(lines[:-1]):
        if "▔" * 8 in line:
            text = lines[i + 1].strip(" ▊▉█▋▌▍▎▏▕▐")
            return "" if text.startswith("filter: type") else text  # the placeholder
    return None


def job_text(job: dict) -> str:
    """What the Jobs filter matches (screens/jobs.py job_text), lower-cased."""
    ident = job.get("submission_id") or job.get("job_id") or ""
    return f"{ident} {job.get('status', '')} {job.get('entrypoint', '')} {job.get('message', '')}"


def filter_queries(jobs: list[dict], count: int, chars: int, seed: int) -> list[str]:
    """Pieces of submission ids of jobs deep in the list, each matching that job alone."""
    texts = [job_text(j).lower() for j in jobs]
    rng = random.Random(seed)
    out: list[str] = []
    if count <= 0:
        return out
    candidates = [j for j in jobs[len(jobs) // 3 :] if j.get("submission_id")]
    rng.shuffle(candidates)
    for job in candidates:
        tail = job["submission_id"].split("_", 1)[-1]
        query = tail[2 : 2 + chars]
        if len(query) == chars and sum(query.lower() in t for t in texts) == 1:
            out.append(query)
        if len(out) == count:
            break
    return out


# the cockpit in tmux


def cockpit_env(home: Path) -> dict[str, str]:
    return {**BASE_ENV, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}


class Cockpit:
    """`raycockpit --address URL` in a fresh tmux of COLS x ROWS, driven through Control."""

    def __init__(self, url: str, home: Path) -> None:
        self.started = time.perf_counter()
        self.term = Terminal(
            [RAYCOCKPIT, "--address", url], size=(COLS, ROWS), env=cockpit_env(home)
        )
        try:
            self.ctl = Control(self.term)
        except BaseException:
            self.term.close()  # stops the tmux server and the cockpit under it, by pid
            raise
        self.tree: dict[int, int] = {}
        self.pid = self.term.pane_pid()
        self.remember()

    def remember(self) -> None:
        self.tree.update(process_tree(self.pid))

    def rss_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) summed over the cockpit's process tree, in MiB."""
        self.remember()
        rss = hwm = 0
        for pid in still_running(self.tree):
            try:
                text = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            rss += int(fields.get("VmRSS", "0 kB").split()[0])
            hwm += int(fields.get("VmHWM", "0 kB").split()[0])
        return rss / 1024, hwm / 1024

    def wait(
        self, check: Callable[[str], object], timeout: float, what: str, escapes: bool = False
    ) -> str:
        got = self.ctl.wait(check, timeout, escapes)
        if got is None:
            raise SystemExit(f"no {what} in {timeout:.0f} s; the screen:\n{self.ctl.screen()}")
        return got[1]

    def quit(self) -> str:
        """q, then: did it exit, and is anything of its process tree left (stopped by pid)?"""
        self.remember()
        note = ""
        try:
            self.ctl.send("q")
            deadline = time.monotonic() + 20
            while not self.term.pane_dead() and time.monotonic() < deadline:
                time.sleep(0.05)
            note = (
                f"exit {self.term.exit_status()}"
                if self.term.pane_dead()
                else "still running 20 s after q"
            )
        except SystemExit as exc:
            note = f"could not send q ({exc})"
        finally:
            self.ctl.close()
            left = still_running(self.tree)
            closed = self.term.close()
        if left or closed:
            note += f"; LEFT RUNNING after q (stopped by pid): {sorted(left) or sorted(closed)}"
        else:
            note += ", nothing left"
        return note


# -- 2. key-to-screen latency ----------------------------------------------------------------------


@dataclass
class Keys:
    samples: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds
    timeouts: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, seconds: float | None) -> None:
        if seconds is None:
            self.timeouts[kind] += 1
        else:
            self.samples.setdefault(kind, []).append(seconds)

    def pooled(self, escape: bool = False) -> list[float]:
        return [
            s for kind, v in self.samples.items() if kind.startswith("escape") == escape for s in v
        ]


KEY_TIMEOUT = 15.0
SETTLE_S = 0.3


def press(
    cp: Cockpit,
    keys: Keys,
    kind: str,
    key: str,
    check: Callable[[str], object],
    *,
    literal: bool = False,
    settle: Callable[[str], object] | None = None,
    escapes: bool = False,
) -> str | None:
    """Send `key` after a random 0.1-0.3 s, and record under `kind` the time to the first capture
    that passes `check`. With `settle`: to the first capture that passes `check` AND shows the
    `settle(screen)` the screen then keeps for SETTLE_S (every capture is kept, so the settled
    state is known after the fact). Returns the last screen, or None after KEY_TIMEOUT."""
    time.sleep(random.uniform(0.1, 0.3))
    start = time.perf_counter()
    cp.ctl.send(key, literal=literal)
    seen: list[tuple[float, str]] = []
    since: tuple[float, object] | None = None
    while True:
        screen = cp.ctl.screen(escapes)
        now = time.perf_counter()
        if seen:
            cp.ctl.gaps.append(now - seen[-1][0])
        seen.append((now, screen))
        if check(screen):
            if settle is None:
                keys.add(kind, now - start)
                return screen
            value = settle(screen)
            if since is None or value != since[1]:
                since = (now, value)
            elif now - since[0] >= SETTLE_S:
                first = next(t for t, s in seen if check(s) and settle(s) == value)
                keys.add(kind, first - start)
                return screen
        if now - start > KEY_TIMEOUT:
            keys.add(kind, None)
            keys.notes.append(f"{kind}: not on screen in {KEY_TIMEOUT:.0f} s; screen:\n{screen}")
            return None
        time.sleep(POLL_S)


SGR = re.compile(r"\x1b\[[0-9;]*m")
BACKGROUND = re.compile(r"48;5;(\d+)")


def plain(screen: str) -> str:
    return SGR.sub("", screen)


def page_state(screen: str, first_row: Callable[[str], str | None]) -> tuple:
    """(the first visible row, the screen line of the cursor's row or None): with `capture-pane
    -e`, the cursor's row is the table line whose background no other line has (the others
    alternate two backgrounds)."""
    text = plain(screen)
    at = header_at(text, *("Submission id",) if "Submission id" in text else ("Host", "IP"))
    if at is None:
        return (None, None)
    backgrounds = []
    for line in screen.split("\n")[at + 1 : ROWS - 2]:
        found = BACKGROUND.findall(line[:40])
        backgrounds.append(found[0] if found else None)
    counts = Counter(backgrounds)
    unique = [i for i, bg in enumerate(backgrounds) if bg is not None and counts[bg] == 1]
    return (first_row(text), unique[0] if len(unique) == 1 else None)


def key_latency(
    cp: Cockpit, cluster: Cluster, reps: int, filters: int, opens: int, seed: int
) -> Keys:
    keys = Keys()

    # a capture can catch a frame half drawn, and the Jobs table's first paint has one row more
    # before its horizontal scrollbar comes: a table counts once it shows as many rows as it
    # settles on (learnt here: the most frequent count over 1.5 s on each pane)
    full = {}
    for key, rows_of in (("2", nodes_rows), ("5", jobs_ids)):
        cp.ctl.send(key)
        cp.wait(lambda s, r=rows_of: r(s), 60, f"pane {key} rows")
        counts: Counter = Counter()
        until = time.perf_counter() + 1.5
        while time.perf_counter() < until:
            counts[len(rows_of(cp.ctl.screen()))] += 1
            time.sleep(0.01)
        full[key] = counts.most_common(1)[0][0]

    def nodes_ok(s: str) -> bool:
        rows = nodes_rows(s)
        return len(rows) == full["2"] and filter_value(s) is None

    def jobs_ok(s: str) -> bool:
        return len(jobs_ids(s)) == full["5"] and filter_value(s) is None

    screen = cp.wait(jobs_ok, 60, "Jobs table")
    pane_footer = footer(screen)
    # pane switches: the new pane's header and rows
    for _ in range(reps):
        press(cp, keys, "switch to Nodes (2)", "2", nodes_ok)
        press(cp, keys, "switch to Jobs (5)", "5", jobs_ok)
    # scrolling: the page moves (first visible row) or the cursor's row moves on it
    panes = [("Jobs", "5", jobs_ok, lambda s: (jobs_ids(s) or [None])[0])]
    if cluster.nodes >= 2 * ROWS:
        panes.append(("Nodes", "2", nodes_ok, lambda s: (nodes_rows(s) or [[None]])[0][0]))
    for name, key, ok, first_row in panes:
        cp.ctl.send(key)
        screen = cp.wait(ok, 30, f"{name} table")
        state = page_state(cp.ctl.screen(escapes=True), first_row)
        for step in ("PageDown", "PageUp") * reps:
            screen = press(
                cp,
                keys,
                f"scroll {name} ({step.lower()})",
                step,
                lambda s, b=state, f=first_row, o=ok: o(plain(s)) and page_state(s, f) != b,
                escapes=True,
            )
            if screen is None:
                break
            state = page_state(screen, first_row)
    cp.ctl.send("5")
    cp.wait(jobs_ok, 30, "Jobs table")
    # filter: `/` opens the bar, each character shows in it and narrows the table, Escape clears
    for query in filter_queries(cluster.jobs, filters, 6, seed):
        if press(cp, keys, "filter: open (/)", "/", lambda s: filter_value(s) == "") is None:
            break
        for i in range(len(query)):
            press(
                cp,
                keys,
                "filter: type a character",
                query[i],
                lambda s, text=query[: i + 1]: filter_value(s) == text,
                literal=True,
                settle=jobs_ids,
            )
        press(
            cp,
            keys,
            "escape: clear the filter",
            "Escape",
            jobs_ok,
            settle=jobs_ids,
        )
    # open the cursor's job (its id on the job screen's first line), Escape back to the Jobs pane
    cp.ctl.send("Home")  # the cursor to the first row: on screen
    cp.wait(lambda s: page_state(s, lambda t: "top")[1] == 0, 10, "cursor on the first row", True)
    for _ in range(opens):
        visible = set(jobs_ids(cp.ctl.screen()))

        def job_screen(s: str, visible=visible) -> bool:
            parts = lines_of(s)[1].split() if len(lines_of(s)) > 1 else []
            return (
                len(parts) >= 2
                and parts[0] in visible
                and parts[1] in JOB_STATES
                and not nav_shown(s)
                and "esc Back" in footer(s)
            )

        if press(cp, keys, "open a job (enter)", "Enter", job_screen) is None:
            break
        press(
            cp,
            keys,
            "escape: back to Jobs",
            "Escape",
            lambda s: jobs_ok(s) and nav_shown(s) and footer(s) == pane_footer,
            settle=jobs_ids,
        )
        cp.ctl.send("Down")
    return keys


def report_keys(name: str, keys: Keys, resolution: tuple[float, float]) -> None:
    gap, capture = resolution
    print(
        f"\n  keys at {name}: screen polled every {gap * 1e3:.1f} ms on average "
        f"(a capture takes {capture * 1e3:.2f} ms; latency = send-keys -> end of the first "
        "capture showing the change)"
    )
    print(f"    {'key':34} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, values in keys.samples.items():
        print(
            f"    {kind:34} {len(values):4d} {median(values) * 1e3:8.1f} "
            f"{pct(values, 99) * 1e3:8.1f} {max(values) * 1e3:8.1f}"
            + (f"  ({keys.timeouts[kind]} timed out)" if keys.timeouts[kind] else "")
        )
    for kind, n in keys.timeouts.items():
        if kind not in keys.samples:
            print(f"    {kind:34} {0:4d} all {n} timed out")
    for note in keys.notes[:3]:
        print("    " + note.replace("\n", "\n    "))
    pooled = keys.pooled()
    if not pooled:
        return
    escape = keys.pooled(escape=True)
    print(
        f"    all keys but Escape: n={len(pooled)} p50 {median(pooled) * 1e3:.1f} ms, "
        f"p99 {pct(pooled, 99) * 1e3:.1f} ms"
        + (
            f"; Escape: n={len(escape)} p50 {median(escape) * 1e3:.1f} ms, "
            f"p99 {pct(escape, 99) * 1e3:.1f} ms"
            if escape
            else ""
        )
    )


# -- 3. time to first paint ------------------------------------------------------------------------


def first_paint(url: str, head_ip: str, home: Path, timeout: float = 120) -> tuple[float, float]:
    """(seconds to the nav line, seconds to the Nodes table with the head's row), from launch."""
    cp = Cockpit(url, home)
    try:
        up, _ = cp.ctl.wait(nav_shown, timeout) or (None, None)
        if up is None:
            raise SystemExit(f"the cockpit drew no nav line in {timeout:.0f} s")
        cp.ctl.send("2")
        got = cp.ctl.wait(lambda s: any(r[1] == head_ip for r in nodes_rows(s)), timeout)
        if got is None:
            raise SystemExit(f"no Nodes table with {head_ip} in {timeout:.0f} s")
        return up - cp.started, got[0] - cp.started
    finally:
        note = cp.quit()
        if "LEFT RUNNING" in note or "exit 0" not in note:
            print(f"    first paint run: {note}")


def ray_status(gcs: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [RAY, "status", "--address", gcs], env=env, capture_output=True, text=True, timeout=120
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"ray status failed ({done.returncode}): {done.stderr[-400:]}")
    return elapsed


def paint_vs_ray_status(rounds: int, home: Path) -> None:
    print("\n== 3. time to first painted Nodes table vs `ray status`, same real loopback head")
    head = own_head()
    try:
        env = ray_environment()
        get = lambda path: urllib.request.urlopen(head.dashboard_url + path, timeout=30).read()
        deadline = time.monotonic() + 60
        while True:  # the head's node reports its stats a moment after it starts
            try:
                cluster = read_cluster(get, bodies=False)
                break
            except (StopIteration, KeyError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        first_paint(head.dashboard_url, cluster.head_ip, home)  # warm the page cache for both
        ray_status(head.gcs_address, env)
        ours, up, theirs = [], [], []
        for _ in range(rounds):
            nav, paint = first_paint(head.dashboard_url, cluster.head_ip, home)
            ours.append(paint)
            up.append(nav)
            theirs.append(ray_status(head.gcs_address, env))
        m_ours, m_theirs = median(ours), median(theirs)
        print(
            f"  raycockpit (launch -> Nodes table with {cluster.head_ip}): median {m_ours:.3f} s "
            f"runs {' '.join(f'{t:.2f}' for t in ours)} (nav line drawn at median "
            f"{median(up):.3f} s)"
        )
        print(
            f"  ray status --address {head.gcs_address}: median {m_theirs:.3f} s "
            f"runs {' '.join(f'{t:.2f}' for t in theirs)}"
        )
        line = summary("scale_first_paint_vs_ray_status", m_ours / m_theirs, "x", "<=", PAINT_RATIO)
        if line.endswith("short"):
            print(
                f"  of which: {median(up):.2f} s to the nav line (process start, imports, Textual "
                f"up), {m_ours - median(up):.2f} s more to the first data on the Nodes table; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
    finally:
        head.stop()


# -- one size on the real binary: first paint, keys, memory ----------------------------------------


@dataclass
class BinaryRun:
    name: str
    paint_s: float | None
    keys: Keys
    resolution: tuple[float, float]
    rss: tuple[float, float]
    quit_note: str


def binary_run(
    name: str, rep: Replayer, cluster: Cluster, home: Path, reps: int, filters: int, opens: int
) -> BinaryRun:
    cp = Cockpit(rep.url, home)
    try:
        up = cp.ctl.wait(nav_shown, 120)
        if up is None:
            raise SystemExit("the cockpit drew no nav line in 120 s")
        cp.ctl.send("2")
        got = cp.ctl.wait(lambda s: any(r[1] == cluster.head_ip for r in nodes_rows(s)), 180)
        paint = None if got is None else got[0] - cp.started
        cp.ctl.send("5")
        cp.wait(lambda s: bool(jobs_ids(s)), 180, "Jobs table with data")
        cp.ctl.gaps.clear()
        cp.ctl.captures.clear()
        try:
            keys = key_latency(cp, cluster, reps, filters, opens, seed=rep.nodes)
        except SystemExit as exc:  # reported with the keys; memory and the quit still count
            keys = Keys()
            keys.timeouts["(the key run stopped)"] += 1
            keys.notes.append(f"the key run stopped: {exc}")
        resolution = (median(cp.ctl.gaps), median(cp.ctl.captures))
        cp.ctl.send("2")  # memory on the Nodes pane, the biggest section, after more refreshes
        time.sleep(4.5)
        rss = cp.rss_mb()
    finally:
        note = cp.quit()
    return BinaryRun(name, paint, keys, resolution, rss, note)


# -- 4. soak ---------------------------------------------------------------------------------------


def soak(seconds: float, size: tuple[int, int], pane: str, home: Path) -> None:
    rep = Replayer(*size)
    try:
        print(f"soak: {label(size)} x {GPUS} GPUs, {rep.url}, pane {pane}, {seconds:.0f} s")
        head_ip = read_cluster(rep.get, bodies=False).head_ip
        cp = Cockpit(rep.url, home)
        try:
            cp.wait(nav_shown, 120, "nav line")
            cp.ctl.send("2")
            cp.wait(lambda s: any(r[1] == head_ip for r in nodes_rows(s)), 180, "the Nodes table")
            cp.ctl.send({"overview": "1", "nodes": "2", "jobs": "5"}[pane])
            time.sleep(SOAK_WARMUP_S)  # the first refreshes grow the caches: not a leak
            samples: list[tuple[float, float, float]] = []
            # samples after which the screen changed at least once (it is read every second):
            # refreshes drawn. Not "differs from the previous sample": the replayer hands out a
            # ring of 4 node-summary frames, and a poll every 2.5 s comes back to the same frame
            # every 10 s
            moved = 0
            start = time.monotonic()
            last = cp.ctl.screen()
            changed = False
            while True:
                elapsed = time.monotonic() - start
                rss, hwm = cp.rss_mb()
                samples.append((elapsed, rss, hwm))
                screen = cp.ctl.screen()
                changed, last = changed or screen != last, screen
                moved += changed and len(samples) > 1  # the first is compared with itself
                print(
                    f"  {elapsed:7.0f} s  RSS {rss:7.1f} MiB  peak {hwm:7.1f} MiB  "
                    f"screen {'moved' if changed else 'SAME' if len(samples) > 1 else '-'}",
                    flush=True,
                )
                if elapsed >= seconds:
                    break
                changed = False
                # the control client is read every second: a client left unread makes tmux stop
                # reading the pane, and the cockpit then blocks writing to its terminal (a soak of
                # an app that no longer refreshes measures nothing; learnt the hard way)
                until = time.monotonic() + min(10.0, seconds - elapsed)
                while time.monotonic() < until:
                    time.sleep(min(1.0, max(0.05, until - time.monotonic())))
                    screen = cp.ctl.screen()
                    changed, last = changed or screen != last, screen
        finally:
            print(f"  cockpit: {cp.quit()}")
    finally:
        rep.stop()
    xs = [s[0] / 3600 for s in samples]
    ys = [s[1] for s in samples]
    slope = statistics.linear_regression(xs, ys).slope if len(samples) > 2 else float("nan")
    print(
        f"  RSS first {ys[0]:.1f} MiB, last {ys[-1]:.1f} MiB, max {max(ys):.1f} MiB, "
        f"peak (VmHWM) {samples[-1][2]:.1f} MiB; least-squares slope {slope:+.1f} MiB/h over "
        f"{len(samples)} samples; the screen moved between {moved} of {len(samples) - 1} pairs "
        "of samples (it must: the replayer's utilisation moves every answer)"
    )
    summary(f"scale_soak_rss_max_{label(size)}", max(ys), " MiB", "<", RSS_MB)
    summary(
        f"scale_soak_screen_moved_{label(size)}",
        moved / max(1, len(samples) - 1),
        "",
        ">=",
        0.9,
    )
    line = summary(f"scale_soak_rss_slope_{label(size)}", slope, " MiB/h", "<=", SOAK_SLOPE_MB_H)
    if line.endswith("short") and seconds < 1800:
        print(
            f"  a {seconds:.0f} s soak is short: RSS saws up and down by tens of MiB with each "
            "big answer, which a slope per hour over a few minutes magnifies; soak 3600 s"
        )


# -- main ------------------------------------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # the finally blocks stop what was started


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)  # kill PID stops the replayer and the cockpit too
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="two sizes, fewer samples (~2 min)")
    parser.add_argument("--soak", type=float, metavar="SECONDS", help="only the RSS soak")
    parser.add_argument("--soak-size", default="5000x10000", help="NODESxJOBS for --soak")
    parser.add_argument("--soak-pane", default="nodes", choices=("overview", "nodes", "jobs"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    home = Path(tempfile.mkdtemp(prefix="rc-scale-"))
    started = time.perf_counter()
    print(
        f"scale: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{subprocess.run(['tmux', '-V'], capture_output=True, text=True).stdout.strip()}, "
        f"terminal {COLS}x{ROWS}, load average {os.getloadavg()[0]:.1f} (other work on this box "
        "shares the cores)",
        flush=True,
    )
    if args.soak:
        nodes, jobs = (int(x) for x in args.soak_size.lower().split("x"))
        soak(args.soak, (nodes, jobs), args.soak_pane, home)
        return
    cpu_sizes = QUICK_SIZES if args.quick else SIZES
    key_sizes = (TARGET_SIZE,) if args.quick else SIZES
    reps, filters, opens = (3, 1, 3) if args.quick else (8, 2, 5)
    refresh: list[SizeCost] = []
    runs: list[BinaryRun] = []
    for size in cpu_sizes:
        rep = Replayer(*size)
        try:
            cluster = read_cluster(rep.get)
            print(
                f"\n-- {label(size)} x {GPUS} GPUs: replayer ready in {rep.ready_s:.1f} s; node "
                f"summary {len(cluster.bodies['node_summary_bytes']) / MB:.1f} MB, job list "
                f"{len(cluster.bodies['list_jobs_bytes']) / MB:.1f} MB; load average "
                f"{os.getloadavg()[0]:.1f}; at {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            refresh.append(measure_refresh(rep, cluster, 10 if size[0] <= 100 else 5))
            c = refresh[-1].costs
            print(
                f"   refresh CPU/cycle: nodes {c[0].cpu_s * 1e3:.0f} ms, jobs "
                f"{c[1].cpu_s * 1e3:.0f} ms",
                flush=True,
            )
            cluster.bodies = {}
            if size in key_sizes:
                runs.append(binary_run(label(size), rep, cluster, home, reps, filters, opens))
                print(
                    f"   binary: first paint {secs(runs[-1].paint_s)}, RSS {runs[-1].rss[0]:.0f} "
                    f"MiB; {runs[-1].quit_note}; at {time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        finally:
            rep.stop()
    rep = Replayer(*TARGET_SIZE, delay=5.0)
    try:
        cluster = read_cluster(rep.get, bodies=False)
        name = f"{label(TARGET_SIZE)} delay 5 s"
        print(
            f"\n-- {name}: every answer takes 5 s; at {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        runs.append(binary_run(name, rep, cluster, home, max(2, reps // 2), 1, 2))
        print(f"   binary: first paint {secs(runs[-1].paint_s)}; {runs[-1].quit_note}", flush=True)
    finally:
        rep.stop()

    report_refresh(refresh)
    print("\n== 2. key-to-screen latency, the real binary in tmux (p99 of < 100 samples = max)")
    for run in runs:
        report_keys(run.name, run.keys, run.resolution)
    for run in runs:
        tag = run.name.replace(" ", "_")
        pooled, escape = run.keys.pooled(), run.keys.pooled(escape=True)
        failed = sum(run.keys.timeouts.values())
        if pooled or failed:
            p99 = float("inf") if failed else pct(pooled, 99) * 1e3
            if summary(f"scale_key_p99_{tag}", p99, " ms", "<", KEY_P99_MS).endswith("short"):
                slow = sorted(
                    ((pct(v, 99), k) for k, v in run.keys.samples.items() if pct(v, 99) >= 0.1),
                    reverse=True,
                )
                print(
                    "  over 100 ms: "
                    + ", ".join(f"{k} p99 {t * 1e3:.0f} ms" for t, k in slow)
                    + (f"; {failed} keys never showed" if failed else "")
                )
        if escape:
            p99 = pct(escape, 99) * 1e3
            line = summary(f"scale_key_escape_p99_{tag}", p99, " ms", "<", KEY_P99_MS)
            if line.endswith("short"):
                kinds = [k for k in run.keys.samples if k.startswith("escape")]
                print(
                    f"  of which {ESCDELAY_MS:.0f} ms is the hold on a lone ESC; by key: "
                    + ", ".join(
                        f"{k} p50 {median(run.keys.samples[k]) * 1e3:.0f} / p99 "
                        f"{pct(run.keys.samples[k], 99) * 1e3:.0f} ms"
                        for k in kinds
                    )
                )
    print(
        f"  Escape: a lone ESC is held {ESCDELAY_MS:.0f} ms (ESCDELAY) to tell it from an escape "
        "sequence (tmux 3.3 offers no kitty keyboard protocol to avoid it), and let go when that "
        "is over (Textual's own driver let it go on its next 100 ms input tick: 100-200 ms); "
        "the hold is part of Escape's time, under the same target"
    )

    paint_vs_ray_status(2 if args.quick else 4, home)
    print("\n   raycockpit against the replayer (launch -> Nodes table with the head's row):")
    for run in runs:
        print(f"     {run.name:24} {secs(run.paint_s)}")

    print("\n== 4. RSS of the cockpit's process tree after the keys (tens of refreshes)")
    for run in runs:
        print(f"     {run.name:24} RSS {run.rss[0]:7.1f} MiB, peak (VmHWM) {run.rss[1]:7.1f} MiB")
    largest = max(
        (r for r in runs if "delay" not in r.name), key=lambda r: int(r.name.split("x")[0])
    )
    summary(f"scale_rss_mb_{largest.name}", largest.rss[0], " MiB", "<", RSS_MB)
    print(
        f"\nscale: done in {time.perf_counter() - started:.0f} s; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
