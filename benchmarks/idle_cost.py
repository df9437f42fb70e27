"""Idle cost over a slow link: what raycockpit writes to the terminal, and the CPU it burns, while
it sits on the Nodes pane of an idle cluster, against `watch -n 2 ray status` on the same cluster.

    .venv/bin/python benchmarks/idle_cost.py [--seconds 60] [--warmup 5] [--raw FILE] [--breakdown]

One loopback head of its own (isolated ports, a fresh temp dir), started and stopped by this
script (by its pid). On that idle cluster, one after the other, each for `--seconds` (default 60):

1. the real console script `raycockpit --address <dashboard>` in a pseudo-terminal of 100x30
   (TERM=xterm-256color, default settings: XDG_CONFIG_HOME points at an empty folder). Once it
   shows "connected" and its output has paused, the key `2` switches it to the Nodes pane; after
   `--warmup` seconds more (so start-up drawing and the pane switch are not counted) the window
   opens. At the end `q` quits it (SIGTERM by pid if it has not exited within 10 s).
2. `watch -n 2 ray status --address <gcs>` in the same kind of pseudo-terminal, measured the
   same way once the first `ray status` answer is on screen, then stopped by pid.

Bytes: every byte the program writes to the terminal during the window (the pty master is read
continuously by a thread; each read is stamped on arrival). Nothing answers the program's
terminal queries (Textual's synchronized-output probe stays unanswered, so no 2026 brackets).
CPU: the process tree's Σ(utime + stime + cutime + cstime) from /proc/PID/stat over the program
and every descendant alive (or zombie) at the sample, at the window's end minus at its start, in
clock ticks -> seconds, as a % of one core over the window's wall time. A child that started and
was reaped inside the window (each `ray status` under watch) shows in its parent's cutime/cstime;
one alive at a sample is counted by its own fields. 1 KB = 1000 bytes.

`--raw FILE` keeps the cockpit's window bytes in FILE (and `FILE.times`: one `offset seconds`
line per read); `--breakdown` prints which screen rows and regions they rewrote and how often.

Every figure is one line: `bench <name>: <value> (target <op> <target>) ok|short`.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import summary  # noqa: E402

from raycockpit.cockpit.local import HeadPorts, LocalHead, ray_environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 100, 30
TICK = os.sysconf("SC_CLK_TCK")
KB = 1000

COCKPIT_BYTES_PER_MIN = 20 * KB  # target: <= 20 KB a minute on the Nodes pane of an idle cluster
COCKPIT_CPU_PERCENT = 2.0  # target: < 2% of one core
CPU_RATIO = 0.1  # target: at most a tenth of the CPU `watch -n 2 ray status` burns
BYTES_RATIO = 50.0  # target: at most 50x watch's bytes (watch's curses sends only the changed
# characters, ~0.4 KB/min here: 50x is about the 20 KB/min target; the cockpit also draws bars)


# -- a program in a pseudo-terminal ------------------------------------------------------------


@dataclass
class PtyProgram:
    cmd: list[str]
    env: dict[str, str]
    cols: int = COLS
    rows: int = ROWS
    proc: subprocess.Popen | None = None
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    _master: int = -1
    _reader: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        env = {
            **self.env,
            "TERM": "xterm-256color",
            "COLUMNS": str(self.cols),
            "LINES": str(self.rows),
        }
        try:
            self.proc = subprocess.Popen(
                self.cmd,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                cwd=str(Path.home()),
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(slave)
        self._master = master
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: every slave end is closed (the program exited)
                return
            if not data:
                return
            with self._lock:
                self.chunks.append((time.monotonic(), data))

    def output(self, since: float = 0.0, until: float = float("inf")) -> bytes:
        with self._lock:
            return b"".join(d for t, d in self.chunks if since <= t < until)

    def last_output_at(self) -> float:
        with self._lock:
            return self.chunks[-1][0] if self.chunks else 0.0

    def send(self, data: bytes) -> None:
        os.write(self._master, data)

    def wait_for(self, needle: bytes, timeout: float, since: float = 0.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.output(since):
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"{self.cmd[0]} exited ({self.proc.returncode}):\n{self.plain_tail()}"
                )
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{self.cmd[0]}: no {needle!r} on screen in {timeout:.0f} s:\n"
                    f"{self.plain_tail()}"
                )
            time.sleep(0.05)

    def wait_quiet(self, gap: float, timeout: float) -> None:
        """Until the program has written nothing for `gap` seconds (or `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and time.monotonic() - self.last_output_at() < gap:
            time.sleep(0.02)

    def plain_tail(self, n: int = 1500) -> str:
        return ANSI.sub(b"", self.output()).decode(errors="replace")[-n:]

    def stop(self, quit_key: bytes | None = None, grace: float = 10.0) -> str:
        """Quit with `quit_key` (else SIGTERM); SIGTERM, then SIGKILL, by pid whatever of the
        program's process tree still runs after `grace` seconds. Says how it ended."""
        if self.proc is None:
            return "never started"
        procs = tree(self.proc.pid)
        how = f"had exited ({self.proc.returncode})" if self.proc.poll() is not None else ""
        if not how:
            if quit_key:
                self.send(quit_key)
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
                how_quit = "quit on " + repr(quit_key.decode()) if quit_key else "SIGTERM"
                how = f"{how_quit}, exit {self.proc.returncode}"
            except subprocess.TimeoutExpired:
                how = f"did not exit in {grace:.0f} s: SIGTERM"
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = still_running(procs)  # same pid and start time: never a reused pid
            for pid in left:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            while left and time.monotonic() < deadline:
                time.sleep(0.1)
                left = still_running(left)
        if self._reader is not None:
            self._reader.join(timeout=5)
        os.close(self._master)
        return f"pid {self.proc.pid}: {how}"


def proc_table() -> dict[int, tuple[int, int, int, str]]:
    """pid -> (ppid, start time, utime + stime + cutime + cstime, state) from /proc/PID/stat;
    times in clock ticks."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # fields[0] is stat field 3 (state)
        ppid, start = int(fields[1]), int(fields[19])  # fields 4 and 22
        table[int(entry)] = (ppid, start, sum(int(x) for x in fields[11:15]), fields[0])  # 14..17
    return table


def tree(root: int, table: dict[int, tuple[int, int, int, str]] | None = None) -> dict[int, int]:
    """`root` and its descendants (zombies included): pid -> start time, to tell a reused pid."""
    table = proc_table() if table is None else table
    found, grew = {root} & set(table), True
    while grew:
        grew = False
        for pid, (ppid, *_) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return {pid: table[pid][1] for pid in found}


def tree_cpu_ticks(root: int) -> int:
    """Σ(utime + stime + cutime + cstime) over `root` and its descendants (zombies included)."""
    table = proc_table()
    return sum(table[pid][2] for pid in tree(root, table))


def still_running(procs: dict[int, int]) -> dict[int, int]:
    """Those of `procs` (pid -> start time) that still run as the same process (not zombies)."""
    table = proc_table()
    return {
        pid: t
        for pid, t in procs.items()
        if pid in table and table[pid][1] == t and table[pid][3] not in "ZX"
    }


@dataclass
class Measured:
    name: str
    seconds: float
    nbytes: int
    cpu_s: float
    raw: bytes
    times: list[tuple[int, float]]

    @property
    def bytes_per_min(self) -> float:
        return self.nbytes * 60 / self.seconds

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu_s / self.seconds


def measure(prog: PtyProgram, name: str, seconds: float) -> Measured:
    assert prog.proc is not None
    t0 = time.monotonic()
    c0 = tree_cpu_ticks(prog.proc.pid)
    time.sleep(seconds)
    c1 = tree_cpu_ticks(prog.proc.pid)
    t1 = time.monotonic()
    if prog.proc.poll() is not None:
        raise SystemExit(f"{name} exited during the window ({prog.proc.returncode})")
    with prog._lock:
        window = [(t, d) for t, d in prog.chunks if t0 <= t < t1]
    times, offset = [], 0
    for t, d in window:
        times.append((offset, t - t0))
        offset += len(d)
    raw = b"".join(d for _, d in window)
    return Measured(name, t1 - t0, len(raw), (c1 - c0) / TICK, raw, times)


# -- the two programs --------------------------------------------------------------------------


def run_cockpit(head: LocalHead, seconds: float, warmup: float, env: dict[str, str]) -> Measured:
    cmd = [str(Path(sys.executable).with_name("raycockpit")), "--address", head.dashboard_url]
    prog = PtyProgram(cmd, env)
    prog.start()
    try:
        prog.wait_for(b"connected", timeout=60)
        prog.wait_quiet(gap=0.3, timeout=10)  # start-up drawing done
        switched = time.monotonic()
        prog.send(b"2")
        prog.wait_for(b"Object store", timeout=10, since=switched)  # the Nodes table's header
        time.sleep(warmup)
        return measure(prog, "raycockpit", seconds)
    finally:
        print(f"raycockpit {prog.stop(quit_key=b'q')}", flush=True)


def run_watch(head: LocalHead, seconds: float, warmup: float, env: dict[str, str]) -> Measured:
    ray = str(Path(sys.executable).with_name("ray"))
    prog = PtyProgram(["watch", "-n", "2", ray, "status", "--address", head.gcs_address], env)
    prog.start()
    try:
        prog.wait_for(b"Resources", timeout=90)  # the first `ray status` answer is on screen
        time.sleep(warmup)
        return measure(prog, "watch ray status", seconds)
    finally:
        print(f"watch {prog.stop()}", flush=True)


# -- what the bytes redraw -----------------------------------------------------------------------

ANSI = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
CUP = re.compile(rb"\x1b\[(\d+);(\d+)H")


def frames(m: Measured, gap: float = 0.05) -> list[bytes]:
    """The window's output cut into frames: reads less than `gap` seconds apart belong together."""
    out: list[bytes] = []
    bounds = [*m.times, (len(m.raw), float("inf"))]
    start = 0
    for (_, t), (nxt, t_next) in zip(bounds, bounds[1:], strict=False):
        if t_next - t > gap:
            out.append(m.raw[start:nxt])
            start = nxt
    return out


def regions(frame: bytes) -> list[tuple[int, int, bytes]]:
    """(row, column, bytes) for each cursor move in a frame: the bytes it writes up to the next
    move (Textual moves the cursor to the start of each line segment it rewrites)."""
    out, moves = [], list(CUP.finditer(frame))
    if not moves or moves[0].start() > 0:
        out.append((0, 0, frame[: moves[0].start() if moves else len(frame)]))
    for m, nxt in zip(moves, [*moves[1:], None], strict=False):
        out.append(
            (
                int(m.group(1)),
                int(m.group(2)),
                frame[m.start() : nxt.start() if nxt else len(frame)],
            )
        )
    return out


def plain(data: bytes) -> str:
    return ANSI.sub(b"", data).decode(errors="replace")


SCROLLBAR_GLYPHS = set(" ▁▂▃▄▅▆▇█▏▎▍▌▋▊▉")


def row_label(row: int, text: str, rows: int = ROWS) -> str:
    """What a row of the Nodes pane is, guessed from where it is and what was written there.
    Row 2 holds the pane tabs; Textual parks the cursor there (ESC[2;5H) after every frame."""
    if row == 0:
        return "frame start"
    if row == 1:
        return "status line"
    if row == 2:
        return "cursor park"
    if row == rows:
        return "Footer"
    if set(text) <= SCROLLBAR_GLYPHS and text.strip():
        return "table scrollbar"
    if not text.strip():
        return "blank table rows"
    return "table row: " + text.strip()[:40]


def breakdown(m: Measured, label_rows: bool = True) -> None:
    """Bytes per screen row and per rewritten region, per minute, and how often each is written."""
    per_min = 60 / m.seconds
    fs = frames(m)
    print(
        f"\n{m.name}: {m.nbytes} bytes in {len(fs)} frames over {m.seconds:.1f} s "
        f"({m.bytes_per_min / KB:.2f} KB/min, {len(fs) * per_min:.0f} frames/min, "
        f"{m.nbytes / max(1, len(fs)):.0f} bytes/frame)"
    )
    by_region: dict[tuple[int, int], list[int]] = {}  # -> [bytes, frames written in, text bytes]
    last_text: dict[tuple[int, int], str] = {}
    text_bytes = 0
    for frame in fs:
        seen = set()
        for row, col, data in regions(frame):
            entry = by_region.setdefault((row, col), [0, 0, 0])
            text = plain(data)
            entry[0] += len(data)
            entry[2] += len(text.encode())
            text_bytes += len(text.encode())
            if (row, col) not in seen:
                entry[1] += 1
                seen.add((row, col))
            last_text[(row, col)] = text
    escapes = m.nbytes - text_bytes
    print(
        f"  of which escape sequences (cursor moves, colours): {escapes * per_min / KB:.2f} KB/min "
        f"({100 * escapes / max(1, m.nbytes):.0f}%)"
    )
    groups: dict[str, list] = {}  # label -> [bytes, max writes, rows]
    for (row, _col), (nbytes, nframes, _) in by_region.items():
        text = " ".join(last_text[k] for k in sorted(by_region) if k[0] == row)
        label = row_label(row, text) if label_rows else f"row {row}"
        group = groups.setdefault(label, [0, 0, set()])
        group[0] += nbytes
        group[1] = max(group[1], nframes)
        group[2].add(row)
    print(f"  {'KB/min':>8} {'share':>6} {'writes/min':>10}  rows   what")
    for label, (nbytes, nframes, rows) in sorted(groups.items(), key=lambda g: -g[1][0]):
        span = f"{min(rows)}" if len(rows) == 1 else f"{min(rows)}-{max(rows)}"
        print(
            f"  {nbytes * per_min / KB:8.2f} {100 * nbytes / max(1, m.nbytes):5.1f}% "
            f"{nframes * per_min:10.1f}  {span:6} {label}"
        )
    kinds: dict[str, list[int]] = {}  # what a frame rewrote -> [frames, bytes]
    for frame in fs:
        labels = set()
        for row, _, data in regions(frame):
            label = row_label(row, plain(data)) if label_rows else f"row {row}"
            if row not in (0, 2) or not label_rows:  # frame starts and the cursor park go with any
                labels.add("table rows" if label.startswith("table row: ") else label)
        kind = kinds.setdefault(" + ".join(sorted(labels)) or "(cursor only)", [0, 0])
        kind[0] += 1
        kind[1] += len(frame)
    print(
        f"  frames by what they rewrote:{'':40} "
        f"{'frames/min':>10} {'bytes/frame':>11} {'KB/min':>7}"
    )
    for kind, (n, nbytes) in sorted(kinds.items(), key=lambda k: -k[1][1]):
        print(
            f"  {'':4}{kind:66} {n * per_min:10.1f} {nbytes / n:11.0f} {nbytes * per_min / KB:7.2f}"
        )
    print(
        f"  top regions: {'row,col':>8} {'KB/min':>7} {'writes/min':>10} "
        f"{'bytes/write':>11} {'chars/write':>11}"
    )
    for key in sorted(by_region, key=lambda k: -by_region[k][0])[:8]:
        nbytes, nframes, tbytes = by_region[key]
        print(
            f"  {'':12} {key[0]:>4},{key[1]:<3} {nbytes * per_min / KB:7.2f} "
            f"{nframes * per_min:10.1f} "
            f"{nbytes / max(1, nframes):11.0f} {tbytes / max(1, nframes):11.0f}  "
            f"{last_text[key].strip()[:30]!r}"
        )


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="length of each measured window"
    )
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds after the pane switch before measuring"
    )
    parser.add_argument("--raw", type=Path, help="keep the cockpit's window bytes in this file")
    parser.add_argument(
        "--breakdown", action="store_true", help="print which screen regions the bytes rewrote"
    )
    args = parser.parse_args()

    temp = tempfile.mkdtemp(prefix="rc-idle-")
    env = ray_environment()
    env.pop("RAYCOCKPIT_CONFIG", None)
    env["XDG_CONFIG_HOME"] = str(Path(temp) / "config")  # no settings file: the defaults
    head = LocalHead(ports=HeadPorts.isolated(), temp_dir=temp, workdir=str(ROOT))
    head.start()
    try:
        print(
            f"head {head.dashboard_url} (gcs {head.gcs_address}, pid {head.pid}); "
            f"{args.seconds:.0f} s windows after a {args.warmup:.0f} s warm-up; "
            f"terminal {COLS}x{ROWS}",
            flush=True,
        )
        ours = run_cockpit(head, args.seconds, args.warmup, env)
        theirs = run_watch(head, args.seconds, args.warmup, env)
    finally:
        head.stop()

    if args.raw:
        args.raw.write_bytes(ours.raw)
        args.raw.with_name(args.raw.name + ".times").write_text(
            "".join(f"{o} {t:.4f}\n" for o, t in ours.times)
        )
        print(f"raw bytes of the cockpit's window: {args.raw}")
    print(f"\n{'':24}{'bytes':>9} {'KB/min':>8} {'CPU s':>7} {'CPU % core':>10}")
    for m in (ours, theirs):
        print(
            f"{m.name:24}{m.nbytes:9d} {m.bytes_per_min / KB:8.2f} {m.cpu_s:7.2f} "
            f"{m.cpu_percent:10.2f}"
        )
    bytes_ratio = ours.bytes_per_min / max(1.0, theirs.bytes_per_min)
    cpu_ratio = ours.cpu_percent / theirs.cpu_percent if theirs.cpu_percent else float("inf")
    print(f"{'raycockpit / watch':24}{'':9} {bytes_ratio:7.2f}x {'':7} {cpu_ratio:9.3f}x")
    if args.breakdown:
        breakdown(ours)
        breakdown(theirs, label_rows=False)
    print()
    summary(
        "idle_bytes_per_min", ours.bytes_per_min / KB, " KB/min", "<=", COCKPIT_BYTES_PER_MIN / KB
    )
    summary("idle_cpu_percent", ours.cpu_percent, "%", "<", COCKPIT_CPU_PERCENT)
    summary("idle_bytes_vs_watch_ray_status", bytes_ratio, "x", "<=", BYTES_RATIO)
    summary("idle_cpu_vs_watch_ray_status", cpu_ratio, "x", "<=", CPU_RATIO)


if __name__ == "__main__":
    main()
