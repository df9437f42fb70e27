"""A job's driver log, followed live: complete lines, each exactly once, across dropped sockets.

How Ray serves the tail (checked on 2.60, `job/utils.py::file_tail_iterator`): every websocket on
`/api/jobs/{id}/logs/tail` opens the driver log file and replays it FROM THE BEGINNING, in chunks
of at most 10 lines (a chunk may end inside a line), then follows it, and closes once the job is
terminal and the file is read to its end. `GET /api/jobs/{id}/logs` reads the same file the same
way, so both give the same text and a character offset into that text names the same place in
each. The follower keeps that offset (`chars_seen`): after a drop it fills the gap from
`job_logs()[chars_seen:]`, and on the new socket it skips the first `chars_seen` characters of the
replay. Nothing is delivered twice and nothing is skipped.

No Textual, no ray: the app runs `JobLogFollower.run` in a worker and hands the lines to the view.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from raycockpit.cockpit.errors import (
    AuthForbidden,
    AuthRequired,
    BadResponse,
    CockpitError,
    NotFound,
    RequestRejected,
)
from raycockpit.cockpit.models import TERMINAL_JOB_STATES

FOLLOWING = "following"
RECONNECTING = "reconnecting"
ENDED = "ended"

LinesCallback = Callable[[list[str]], "Awaitable[Any] | None"]
StateCallback = Callable[["TailState"], "Awaitable[Any] | None"]


@dataclass(frozen=True)
class TailState:
    """What the follower is doing, for a status line: `state` plus a one-line `reason`."""

    state: str  # FOLLOWING | RECONNECTING | ENDED
    reason: str = ""
    reconnects: int = 0  # how many times the socket dropped and the follower came back
    job_status: str | None = None  # the job's status when known (always set once ENDED normally)
    error: bool = False  # ENDED because of an error (job gone, auth refused, retries used up)
    retry_in: float | None = None  # while RECONNECTING: seconds until the next try
    attempt: int = 0  # while RECONNECTING: which try this is (1, 2, ...)

    def one_line(self) -> str:
        """E.g. 'following', 'reconnecting (try 2, in 1.0 s): log tail dropped',
        'ended: job SUCCEEDED'."""
        if self.state == RECONNECTING:
            wait = f", in {self.retry_in:.1f} s" if self.retry_in else ""
            return f"reconnecting (try {self.attempt}{wait}): {self.reason}"
        if self.state == ENDED:
            return f"ended: {self.reason}" if self.reason else "ended"
        return "following"


def split_log(text: str) -> list[str]:
    """A whole log as its lines, split on newlines only (the way the follower splits a stream)."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def is_terminal(status: str | None) -> bool:
    return isinstance(status, str) and status in TERMINAL_JOB_STATES


def is_final(error: CockpitError) -> bool:
    """True for failures that retrying cannot fix: job gone, token refused, request rejected."""
    if isinstance(error, (NotFound, RequestRejected, AuthRequired, AuthForbidden)):
        return True
    if isinstance(error, BadResponse) and error.status is not None:
        return 400 <= error.status < 500  # e.g. 400 "Can only get logs of submission type jobs"
    return False  # DashboardUnreachable, DashboardTimeout, 5xx, odd answers: retried


async def call_back(callback: Callable[[Any], Any], value: Any) -> None:
    """Call a follower's callback, a plain function or a coroutine function."""
    result = callback(value)
    if inspect.isawaitable(result):
        await result


class _Reconnect(Exception):
    """Internal: the socket is gone (or closed early) and the job may still run."""


class JobLogFollower:
    """Follows one job's driver log until the job is terminal and the log is complete.

    Use: `final = await JobLogFollower(client, job_id, on_state=cb).run(on_lines)`. `on_lines`
    receives lists of complete lines (no newline), in order, every line exactly once; the last
    line of the log is delivered at the end even without a trailing newline. Both callbacks may
    be plain functions or coroutines. Expected failures (dropped sockets, a dashboard that is down
    for a while, a job that disappears, a refused token) never raise: they become `state` and a
    one-line `reason`. Cancel the task to stop following early.
    """

    def __init__(
        self,
        client: Any,
        job_id: str,
        *,
        on_state: StateCallback | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        max_attempts: int | None = None,
        verify_end: bool = True,
    ) -> None:
        """
        Args:
            client: a `DashboardClient` (or anything with `tail_job_logs`, `job_logs`, `get_job`).
            job_id: the submission id.
            on_state: called with a `TailState` on every change of state.
            backoff_initial: first wait after a drop, seconds; doubles per failed try.
            backoff_max: longest wait between tries.
            max_attempts: consecutive failed reconnects before giving up (None: never give up).
            verify_end: when the socket closes normally, compare with one `job_logs()` fetch and
                deliver anything the socket did not (a proxy that closes cleanly mid-stream).
        """
        self.client = client
        self.job_id = job_id
        self._on_state = on_state
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._max_attempts = max_attempts
        self._verify_end = verify_end
        self._on_lines: LinesCallback | None = None
        self._partial = ""
        self.chars_seen = 0  # characters of the log accepted so far (complete lines + partial)
        self.reconnects = 0
        self.status = TailState(FOLLOWING, "connecting")
        self._socket_live = False

    # -- public state -------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self.status.state

    @property
    def reason(self) -> str:
        return self.status.reason

    # -- the loop -------------------------------------------------------------------------------

    async def run(self, on_lines: LinesCallback) -> TailState:
        """Follow the log to its end; returns the final `TailState` (state ENDED)."""
        self._on_lines = on_lines
        await self._set(TailState(FOLLOWING, "connecting", self.reconnects))
        attempt = 0  # failed tries since the last socket that delivered anything
        while True:
            self._socket_live = False
            try:
                await self._follow_socket()
                # The socket closed normally: Ray does that only once the job is terminal.
                job = await self.client.get_job(self.job_id)
                status = str(job.get("status", ""))
                if not is_terminal(status):
                    raise _Reconnect(f"log tail closed while the job is {status or 'unknown'}")
                if self._verify_end:
                    await self._fill_from_full_log()
                return await self._end(f"job {status}", status)
            except _Reconnect as exc:
                reason = str(exc)
            except CockpitError as exc:
                if is_final(exc):
                    return await self._end(exc.one_line(), None, error=True)
                reason = exc.message
            if self._socket_live:
                attempt = 0
            # The socket is gone: wait, fill the gap from the full log, then open a new one.
            while True:
                attempt += 1
                if self._max_attempts is not None and attempt > self._max_attempts:
                    return await self._end(
                        f"gave up after {attempt - 1} tries: {reason}", None, error=True
                    )
                delay = min(self._backoff_initial * 2 ** (attempt - 1), self._backoff_max)
                await self._set(
                    TailState(
                        RECONNECTING, reason, self.reconnects, retry_in=delay, attempt=attempt
                    )
                )
                await asyncio.sleep(delay)
                try:
                    job = await self.client.get_job(self.job_id)  # status first: then a terminal
                    status = str(job.get("status", ""))  # status means the log below is complete
                    await self._fill_from_full_log()
                except CockpitError as exc:
                    if is_final(exc):
                        return await self._end(exc.one_line(), None, error=True)
                    reason = exc.message
                    continue
                self.reconnects += 1
                if is_terminal(status):
                    return await self._end(f"job {status}", status)
                await self._set(TailState(FOLLOWING, "reconnected", self.reconnects, status))
                break

    async def _follow_socket(self) -> None:
        """Read one websocket to its end; skip what was seen already (Ray replays the file)."""
        pos = 0  # characters of this socket's stream read so far
        async for chunk in self.client.tail_job_logs(self.job_id):
            if not self._socket_live:
                self._socket_live = True
                await self._set(TailState(FOLLOWING, "live", self.reconnects))
            end = pos + len(chunk)
            if end > self.chars_seen:
                await self._accept(chunk[max(0, self.chars_seen - pos) :])
            pos = end

    async def _fill_from_full_log(self) -> None:
        text = await self.client.job_logs(self.job_id)
        if len(text) > self.chars_seen:
            await self._accept(text[self.chars_seen :])

    # -- lines ------------------------------------------------------------------------------------

    async def _accept(self, text: str) -> None:
        if not text:
            return
        self.chars_seen += len(text)
        if "\n" not in text:  # a long line arriving in pieces: no re-splitting of the buffer
            self._partial += text
            return
        parts = (self._partial + text).split("\n")
        self._partial = parts.pop()
        if parts:
            await self._deliver(parts)

    async def _flush_partial(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            await self._deliver([line])

    async def _deliver(self, lines: list[str]) -> None:
        assert self._on_lines is not None
        await call_back(self._on_lines, lines)

    # -- state ------------------------------------------------------------------------------------

    async def _set(self, status: TailState) -> None:
        if status == self.status:
            return
        self.status = status
        if self._on_state is not None:
            await call_back(self._on_state, status)

    async def _end(self, reason: str, job_status: str | None, *, error: bool = False) -> TailState:
        await self._flush_partial()
        await self._set(TailState(ENDED, reason, self.reconnects, job_status, error=error))
        return self.status


__all__ = [
    "ENDED",
    "FOLLOWING",
    "RECONNECTING",
    "JobLogFollower",
    "TailState",
    "is_final",
    "is_terminal",
    "split_log",
]
