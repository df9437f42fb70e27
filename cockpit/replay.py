"""A recording (cockpit/recording.py: its file and the writer) read back, and the same answers
given again at any moment of it (`--replay FILE`): `load_recording` reads the file (a post-mortem
bundle's too, and one cut short), a `ReplayClock` says which moment, `ReplayTransport` answers as
the dashboard did then, and `replay_client` is a DashboardClient on it, log tails included.

No Textual, no ray: the app replays through `ReplayTransport` driven by a `ReplayClock`.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import zlib
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from raycockpit.cockpit.models import TERMINAL_JOB_STATES
from raycockpit.cockpit.recording import (
    BUNDLE_RECORDING,
    FORMAT,
    VERSION,
    RecordingError,
    request_key,
)


@dataclass
class Answer:
    t: float
    status: int
    content_type: str
    sha: str

    def record(self, key: str) -> dict:
        return {"kind": "http", "t": self.t, "key": key, "status": self.status} | {
            "type": self.content_type,
            "sha": self.sha,
        }


@dataclass
class Recording:
    """A recording read back: answers by key and time, log lines by job and time."""

    path: Path
    header: dict
    bodies: dict[str, str] = field(default_factory=dict)
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    logs: dict[str, list[tuple[float, list[str]]]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return str(self.header.get("address") or "")

    @property
    def start(self) -> float:
        times = [a[0].t for a in self.answers.values() if a]
        times += [entries[0][0] for entries in self.logs.values() if entries]
        return min(times) if times else float(self.header.get("started") or 0.0)

    @property
    def end(self) -> float:
        times = [a[-1].t for a in self.answers.values() if a]
        times += [entries[-1][0] for entries in self.logs.values() if entries]
        return max(times) if times else self.start

    def answer(self, key: str, at: float) -> tuple[Answer, str] | None:
        """The answer to `key` last received at or before `at` (or, before its first, the
        first); with another query on the same path when the exact key was never asked."""
        answers = self.answers.get(key)
        if not answers:
            path = key.split("?", 1)[0]
            same_path = [k for k in self.answers if k.split("?", 1)[0] == path]
            if not same_path:
                return None
            answers = self.answers[min(same_path, key=len)]
        index = bisect_right([a.t for a in answers], at) - 1
        chosen = answers[max(index, 0)]
        return chosen, self.bodies.get(chosen.sha, "")

    def log_lines(self, job_id: str, at: float) -> list[str]:
        """Every log line the recorded tail of `job_id` had shown by `at`."""
        out: list[str] = []
        for t, lines in self.logs.get(job_id, []):
            if t > at:
                break
            out.extend(lines)
        return out

    def records(self) -> list[tuple[float, dict]]:
        """Every http and log record, oldest first (for trimming)."""
        out = [(a.t, a.record(key)) for key, answers in self.answers.items() for a in answers]
        out += [
            (t, {"kind": "log", "t": t, "job": job, "lines": lines})
            for job, entries in self.logs.items()
            for t, lines in entries
        ]
        out.sort(key=lambda pair: pair[0])
        return out


def load_recording(path: str | Path) -> Recording:
    """Read a recording; a RecordingError says what is wrong with the file and what to do."""
    path = Path(path).expanduser()
    if path.is_dir():  # a post-mortem bundle: the recording of its moment
        if not (path / BUNDLE_RECORDING).is_file():
            raise RecordingError(
                f"{path} holds no {BUNDLE_RECORDING} (not a post-mortem bundle, or one kept "
                "before bundles had recordings: raycockpit postmortem show ID prints it)"
            )
        path = path / BUNDLE_RECORDING
    try:
        raw = gzip.decompress(path.read_bytes())
    except FileNotFoundError:
        raise RecordingError(f"no recording at {path}: record one with --record FILE") from None
    except (OSError, EOFError, zlib.error) as exc:
        # a file cut short (the cockpit killed while writing) still gives its complete members
        raw = _complete_members(path) if isinstance(exc, (EOFError, zlib.error)) else None
        if raw is None:
            raise RecordingError(
                f"{path} is not a raycockpit recording (not gzip: {exc}); "
                "record one with raycockpit --record FILE"
            ) from None
    lines = raw.splitlines()
    try:
        header = json.loads(lines[0]) if lines else {}
    except ValueError:
        header = {}
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(
            f"{path} is not a raycockpit recording (no header line); "
            "record one with raycockpit --record FILE"
        )
    if header.get("version") != VERSION:
        raise RecordingError(
            f"{path} is a recording of format version {header.get('version')}; this raycockpit "
            f"reads version {VERSION}: replay it with the raycockpit that made it"
        )
    recording = Recording(path, header)
    for line in lines[1:]:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short at the end of a killed session
        kind = record.get("kind") if isinstance(record, dict) else None
        try:
            if kind == "body":
                recording.bodies[str(record["sha"])] = str(record["text"])
            elif kind == "http":
                recording.answers.setdefault(str(record["key"]), []).append(
                    Answer(
                        float(record["t"]),
                        int(record["status"]),
                        str(record.get("type") or ""),
                        str(record["sha"]),
                    )
                )
            elif kind == "log":
                lines_ = [str(x) for x in record["lines"]]
                recording.logs.setdefault(str(record["job"]), []).append(
                    (float(record["t"]), lines_)
                )
        except (KeyError, TypeError, ValueError):
            continue  # one malformed record loses only itself
    for answers in recording.answers.values():
        answers.sort(key=lambda a: a.t)
    for entries in recording.logs.values():
        entries.sort(key=lambda e: e[0])
    return recording


def _complete_members(path: Path) -> bytes | None:
    """The text of every complete gzip member of a file whose last member is cut short."""
    data, out = path.read_bytes(), []
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out.append(d.decompress(data))
        except zlib.error:
            break
        if not d.eof:
            break
        data = d.unused_data
    return b"".join(out) if out else None


class ReplayClock:
    """Where a replay stands: a moment of the recording, paused or playing at 1x or 10x."""

    def __init__(self, start: float, end: float, at: float | None = None) -> None:
        self.start, self.end = start, max(end, start)
        self._at = self._clip(start if at is None else at)
        self._since = time.monotonic()
        self.speed = 0.0  # 0: paused

    def _clip(self, t: float) -> float:
        return min(max(t, self.start), self.end)

    def now(self) -> float:
        if not self.speed:
            return self._at
        return self._clip(self._at + (time.monotonic() - self._since) * self.speed)

    def seek(self, t: float) -> None:
        self._at, self._since = self._clip(t), time.monotonic()
        if self._at >= self.end:
            self.speed = 0.0

    def step(self, seconds: float) -> None:
        self.seek(self.now() + seconds)

    def play(self, speed: float) -> None:
        """Play at `speed` (1 or 10); the same speed again pauses."""
        at = self.now()
        self.speed = 0.0 if self.speed == speed else speed
        if self.speed and at >= self.end:
            at = self.start  # played to the end: from the start again
        self._at, self._since = at, time.monotonic()

    @property
    def offset(self) -> float:
        return self.now() - self.start

    @property
    def length(self) -> float:
        return self.end - self.start


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers the client from a recording at the clock's moment. Nothing that would change a
    cluster is answered: a replay has none."""

    def __init__(self, recording: Recording, clock: ReplayClock) -> None:
        self.recording, self.clock = recording, clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            return httpx.Response(
                405, text="a replay changes nothing: this is a recording", request=request
            )
        found = self.recording.answer(request_key(request), self.clock.now())
        if found is None:
            return httpx.Response(
                404, text=f"{request.url.path}: not in the recording", request=request
            )
        answer, body = found
        headers = {"content-type": answer.content_type} if answer.content_type else {}
        return httpx.Response(
            answer.status, headers=headers, content=body.encode(), request=request
        )


def parse_at(text: str, clock: ReplayClock) -> float:
    """`--at`: seconds or [H:]MM:SS from the recording's start, or `end`; a ValueError says
    which forms it takes."""
    text = text.strip()
    if text == "end":
        return clock.end
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        parts = []
    if not parts or len(parts) > 3 or any(p < 0 for p in parts):
        raise ValueError(
            f"--at {text!r}: give seconds from the recording's start (90), MM:SS (1:30), "
            "H:MM:SS or end"
        )
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    if seconds > clock.length + 1e-6:
        raise ValueError(
            f"--at {text}: the recording is only {clock.length:.0f} s long (--at end for its end)"
        )
    return clock.start + seconds


def replay_client(recording: Recording, clock: ReplayClock, timeout: float = 10.0):
    """A DashboardClient answering from `recording` at `clock`'s moment, log tails included."""
    from raycockpit.cockpit.client import DashboardClient

    class ReplayClient(DashboardClient):
        replay = (recording, clock)

        async def tail_job_logs(self, job_id: str):
            """The lines the recorded tail had shown by the clock's moment, then more as the
            clock moves on; ends once the job is over at that moment and no line is left."""
            sent = 0
            while True:
                at = clock.now()
                lines = recording.log_lines(job_id, at)
                if len(lines) > sent:
                    yield "".join(line + "\n" for line in lines[sent:])
                    sent = len(lines)
                later = [t for t, _ in recording.logs.get(job_id, []) if t > at]
                if not later and _job_over(recording, job_id, at):
                    return
                await asyncio.sleep(0.5)

    address = recording.address or "http://recording.invalid:8265"
    transport = ReplayTransport(recording, clock)
    return ReplayClient(address, token=None, discover=False, timeout=timeout, transport=transport)


def _job_over(recording: Recording, job_id: str, at: float) -> bool:
    """Whether the job's recorded status at `at` is terminal (or it was never recorded)."""
    found = recording.answer(f"/api/jobs/{job_id}", at)
    if found is None:
        return True
    try:
        status = json.loads(found[1]).get("status")
    except (ValueError, AttributeError):
        return True
    return status in TERMINAL_JOB_STATES
