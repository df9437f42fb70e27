"""A recording of what the cockpit received from the dashboard (`--record FILE`, `:record`): the
file's format, the scrubbing of secrets, and the writer (`Recorder`, fed by `TapTransport`).

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

No Textual, no ray: the app feeds a `Recorder` (through `TapTransport` and its log lines).
Reading a recording back and replaying it (`--replay FILE`) is cockpit/replay.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import queue
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from raycockpit.cockpit.replay import Recording

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
        from raycockpit.cockpit.replay import load_recording  # the reader; it imports this module

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
