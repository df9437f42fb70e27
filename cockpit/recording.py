"""A recording of what the cockpit received from the dashboard (`--record FILE`, `:record`), and
the same answers given again at any moment of it (`--replay FILE`).

The file is gzip (one member per flush, so it grows by appending) of JSON lines:

    {"kind": "header", "format": "raycockpit-recording", "version": 1, "address": ..., ...}
    {"kind": "body", "sha": "...", "text": "..."}        each distinct answer body once
    {"kind": "http", "t": 1795665120.5, "key": "/api/jobs/", "status": 200, "type": "...",
     "sha": "..."}                                       every GET answer, by its time
    {"kind": "log", "t": ..., "job": "raysubmit_...", "lines": [...]}   log lines a tail showed

Only GET answers are kept (never a request's headers: the auth token is not in the file), and
every body and log line is scrubbed first: the token's text wherever it appears, the values of
environment variables whose names look secret (`*TOKEN*`, `*KEY*`, `*SECRET*`, `*PASSWORD*`) in
`env_vars` maps and in `NAME=value` words. The file is bounded: past `max_bytes` the oldest half
is dropped and the rest written anew.

No Textual, no ray: the app feeds a `Recorder` (through `TapTransport` and its log lines) and
replays through `ReplayTransport` driven by a `ReplayClock`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import queue
import re
import threading
import time
import zlib
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from raycockpit.cockpit.models import TERMINAL_JOB_STATES

FORMAT = "raycockpit-recording"
VERSION = 1
REDACTED = "<redacted>"
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
# NAME=value words (entrypoints, log lines, command lines): the value of a secret-looking name
SECRET_WORD = re.compile(
    r"\b([A-Za-z_][A-Za-z0-9_]*(?:TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL)[A-Za-z0-9_]*=)"
    r"([^\s\"'\\]+)",
    re.IGNORECASE,
)
FLUSH_S = 1.0
MIN_LEARNED = 4  # a secret value shorter than this is not cut from other text (too common)
BUNDLE_RECORDING = "recording.rcrec"  # its name in a post-mortem bundle (cockpit/postmortem.py)
QUEUE_ITEMS = 256  # answers waiting for the writer thread; past that they are counted as lost


class RecordingError(Exception):
    """A recording that cannot be written or read: the message says which file and what to do."""


# -- scrubbing ---------------------------------------------------------------------------------


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return SECRET_WORD.sub(lambda m: m.group(1) + REDACTED, text)


def _scrub_env(value: Any, found: set[str]) -> Any:
    """Every `env_vars` map in a JSON value with its secret-looking values redacted (and added
    to `found`, so that the same text is cut wherever else it shows up: a log line)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ("env_vars", "envVars") and isinstance(item, dict):
                out[key] = {}
                for name, var in item.items():
                    if SECRET_NAME.search(str(name)):
                        if isinstance(var, str) and len(var) >= MIN_LEARNED:
                            found.add(var)
                        var = REDACTED
                    out[key][name] = var
            else:
                out[key] = _scrub_env(item, found)
        return out
    if isinstance(value, list):
        return [_scrub_env(item, found) for item in value]
    if isinstance(value, str) and ("env_vars" in value or "envVars" in value):
        try:  # a runtime_env serialized into a string (the state API's actors and tasks)
            inner = json.loads(value)
        except (ValueError, RecursionError):
            return value
        if isinstance(inner, (dict, list)):
            return json.dumps(_scrub_env(inner, found))
    return value


def scrub_body(body: bytes, secrets: Iterable[str] = (), found: set[str] | None = None) -> str:
    """A response body as text with every secret left out; the secret values seen in its
    `env_vars` go into `found` (and are cut from this body wherever else they appear)."""
    found = set() if found is None else found
    text = body.decode("utf-8", "replace")
    if "env_vars" in text or "envVars" in text:
        try:
            text = json.dumps(_scrub_env(json.loads(text), found))
        except (ValueError, RecursionError):
            pass  # not JSON: the word pattern below still applies
    return scrub_text(text, [*secrets, *found])


def request_key(request: httpx.Request) -> str:
    """What names an answer in the recording: the path and the query as sent."""
    query = request.url.query.decode() if isinstance(request.url.query, bytes) else ""
    return request.url.path + (f"?{query}" if query else "")


# -- writing -----------------------------------------------------------------------------------


class Recorder:
    """Takes answers and log lines from the event loop (cheap: a queue put) and writes them from
    a thread of its own: scrub, deduplicate bodies, compress, append, drop the oldest past the
    limit."""

    def __init__(
        self,
        path: str | Path,
        *,
        address: str,
        max_bytes: int,
        secrets: Iterable[str] = (),
    ) -> None:
        self.path = Path(path).expanduser()
        self.address = address
        self.max_bytes = max_bytes
        self._secrets = tuple(s for s in secrets if s)
        self._queue: queue.Queue = queue.Queue(QUEUE_ITEMS)
        self._written: set[str] = set()  # body shas in the file
        self._learned: set[str] = set()  # secret values seen in env_vars: cut everywhere
        self.answers = 0  # answers handed in
        self.lost = 0  # answers dropped because the writer fell behind
        self.dropped_before: float | None = None  # oldest time kept after a trim
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self.started = time.time()

    def start(self) -> Recorder:
        """Create the file (or say why not, as a RecordingError) and start the writer."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "wb") as out:
                out.write(gzip.compress(_line(self._header())))
        except OSError as exc:
            raise RecordingError(
                f"cannot write the recording {self.path}: {exc.strerror or exc}; "
                "name a file in a folder you can write to"
            ) from None
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()
        return self

    def _header(self) -> dict:
        from raycockpit import __version__

        header = {
            "kind": "header",
            "format": FORMAT,
            "version": VERSION,
            "address": self.address,
            "started": self.started,
            "raycockpit": __version__,
            "max_bytes": self.max_bytes,
        }
        if self.dropped_before is not None:
            header["dropped_before"] = self.dropped_before
        return header

    # fed from the event loop
    def http(self, key: str, status: int, content_type: str, body: bytes) -> None:
        self.answers += 1
        self._put(("http", time.time(), key, status, content_type, body))

    def log_lines(self, job_id: str, lines: list[str]) -> None:
        if lines:
            self._put(("log", time.time(), job_id, list(lines)))

    def _put(self, item: tuple) -> None:
        if self._thread is None:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.lost += 1

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    # the writer thread
    def _run(self) -> None:
        pending: list[bytes] = []
        last = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=FLUSH_S)
            except queue.Empty:
                item = ()
            if item is None:
                self._flush(pending)
                return
            if item:
                pending.extend(self._lines(item))
            if pending and (time.monotonic() - last >= FLUSH_S or len(pending) > 2000):
                self._flush(pending)
                pending = []
                last = time.monotonic()

    def _lines(self, item: tuple) -> list[bytes]:
        secrets = [*self._secrets, *self._learned]
        if item[0] == "log":
            _, t, job_id, lines = item
            clean = [scrub_text(line, secrets) for line in lines]
            return [_line({"kind": "log", "t": t, "job": job_id, "lines": clean})]
        _, t, key, status, content_type, body = item
        text = scrub_body(body, secrets, self._learned)
        sha = hashlib.sha1(text.encode()).hexdigest()
        out = []
        if sha not in self._written:
            self._written.add(sha)
            out.append(_line({"kind": "body", "sha": sha, "text": text}))
        out.append(
            _line(
                {
                    "kind": "http",
                    "t": t,
                    "key": scrub_text(key, self._secrets),
                    "status": status,
                    "type": content_type,
                    "sha": sha,
                }
            )
        )
        return out

    def _flush(self, lines: list[bytes]) -> None:
        if not lines or self.error:
            return
        try:
            with open(self.path, "ab") as out:
                out.write(gzip.compress(b"".join(lines), compresslevel=6))
            if self.path.stat().st_size > self.max_bytes:
                self._trim()
        except OSError as exc:
            self.error = f"the recording {self.path} stopped: {exc.strerror or exc}"

    def _trim(self) -> None:
        """Drop the oldest records until what is left is about half the limit, then write the
        file anew (its bodies only where still used)."""
        size = self.path.stat().st_size
        recording = load_recording(self.path)
        records = recording.records()  # (t, line dict), oldest first
        weights = [len(json.dumps(r)) + _body_weight(r, recording) for _, r in records]
        budget = sum(weights) * (self.max_bytes / 2) / max(size, 1)
        kept, total = [], 0.0
        for (t, record), weight in zip(reversed(records), reversed(weights), strict=True):
            if total + weight > budget and kept:
                break
            kept.append((t, record))
            total += weight
        kept.reverse()
        if kept:
            self.dropped_before = kept[0][0]
        lines, self._written = [_line(self._header())], set()
        for _, record in kept:
            sha = record.get("sha")
            if sha and sha not in self._written:
                self._written.add(sha)
                lines.append(_line({"kind": "body", "sha": sha, "text": recording.bodies[sha]}))
            lines.append(_line(record))
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as out:
            out.write(gzip.compress(b"".join(lines), compresslevel=6))
        os.replace(tmp, self.path)


def _line(record: dict) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def _body_weight(record: dict, recording: Recording) -> int:
    sha = record.get("sha")
    return len(recording.bodies.get(sha, "")) if sha else 0


class TapTransport(httpx.AsyncBaseTransport):
    """The client's transport: hands every GET answer to the recorder while one is set (`:record`
    sets it, `:stop-record` clears it) and to the short recordings of a moment (`moments`: a
    post-mortem's); a plain pass-through otherwise."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.recorder: Recorder | None = None
        self.moments: list[Recorder] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        recorders = [r for r in (self.recorder, *self.moments) if r is not None]
        if not recorders or request.method != "GET":
            return response
        body = await response.aread()
        for recorder in recorders:
            recorder.http(
                request_key(request),
                response.status_code,
                response.headers.get("content-type", ""),
                body,
            )
        return httpx.Response(
            response.status_code,
            headers=[(k, v) for k, v in response.headers.items() if k != "content-encoding"],
            content=body,
            request=request,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- reading and replaying ---------------------------------------------------------------------


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
