"""A log file on a node (an actor's stdout or stderr, raylet.out, ...) followed live from the
dashboard's log stream.

How Ray serves it (2.60, `dashboard/modules/state/state_head.py` and `log/log_manager.py`):
`GET /api/v0/logs/stream?actor_id=ID&suffix=out|err&lines=N&interval=S&format=text` finds the
actor's worker process (its current incarnation first, then earlier ones: after a restart the
old log stays on the node it ran on), sends the last N lines of that worker's `.out` / `.err`
file, then looks at the file every S seconds and sends what was appended. It never ends by itself
and sends nothing while the file does not grow. A failure before the first byte is an HTTP 500
whose body is one line: "Actor ID ActorID(...) not found.", "Worker ID for Actor ID ... not found.
Actor is not scheduled yet." (a PENDING actor has no process), or why the node cannot be reached.
The file also holds Ray's marker lines (`:job_id:03000000`, `:actor_name:Trainer`, which the log
monitor uses to prefix the driver's copy); they are dropped here.

A stream carries no offsets to resume from. After a drop (or a read that waits longer than
`quiet_reopen_s`, which is also how a silently dead connection shows) the follower asks for the
last N lines again and skips those it already delivered: the replay comes in 64 KiB blocks back
to back, and the follower holds it back until it finds the end of what it delivered (its last
`ANCHOR` lines, `unseen`), then delivers what follows. When the anchor never comes (more than N
lines were written while it was away, or the file was replaced), it delivers the replay, once it
has gone quiet for `settle_s` or passed N lines, after one line saying lines may be missing:
never silently. A log whose last `ANCHOR` lines repeat exactly could hide a repeat of them
written during a drop.

A task's own output (`TaskLogFollower`): Ray keeps where a normal task's stdout and stderr
start in its worker's files, and where they end once it has ended (`task_log_info`), and both
calls take `task_id` + `attempt_number` + `suffix` for them. The file call stops at the end
offset; the stream does not (measured: a finished task's stream went on into the next task the
worker ran). So an ended task is read once, and a running one is followed from its start until
the first marker line: a worker runs one normal task at a time and writes `:task_name:NEXT`
before the next one's output.

No Textual, no ray: the app runs a follower's `run` in a worker and hands the lines over.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import Any

from raycockpit.cockpit.errors import (
    AuthForbidden,
    AuthRequired,
    BadResponse,
    CockpitError,
    DashboardTimeout,
    NotFound,
    RequestRejected,
)
from raycockpit.cockpit.tail import (
    ENDED,
    FOLLOWING,
    RECONNECTING,
    LinesCallback,
    StateCallback,
    TailState,
    call_back,
    split_log,
)

ANCHOR = 20  # lines matched to find where a re-opened stream picks up
TASK_LINES = 20_000  # a task's own output is asked for up to this many (last) lines
MARKER = re.compile(r"^:(job_id|actor_name|task_name):")
GAP_LINE = "@@cockpit log stream re-opened: lines written meanwhile may be missing"


def unseen(held: list[str], replay: list[str]) -> list[str] | None:
    """The lines of `replay` (a re-opened stream's last N lines) after the end of `held` (the
    last lines already delivered); None when `held`'s last lines are not in it (too much was
    written meanwhile, or the file was replaced). The last match wins: never a line twice."""
    if not held:
        return list(replay)
    anchor = held[-ANCHOR:]
    size = len(anchor)
    for end in range(len(replay), size - 1, -1):
        if replay[end - size : end] == anchor:
            return replay[end:]
    return None


def stream_problem(error: CockpitError) -> tuple[str, bool]:
    """(one line for the status, final?) of a stream that failed. Final: retrying cannot help
    (the actor or file is unknown, the node is gone, the token is refused)."""
    text = error.one_line()
    body = getattr(error, "body", "") or ""
    if "not scheduled yet" in body:
        return "the actor has no process yet (not scheduled): waiting for it to start", False
    if "not found" in body and "Actor ID" in body:
        return "Ray does not know this actor (it may have been cleaned up)", True
    if "Could not find log file for task" in body or "For actor task" in body:
        return "Ray has no log of this task's own (its worker's log has it)", True
    if "A file is not found at" in body:
        return f"no such file on the node ({body.strip().split('at: ', 1)[-1]})", True
    if "Agent for node id" in body:
        return "the node's agent does not answer: the node is gone or not up", True
    if isinstance(error, (NotFound, RequestRejected, AuthRequired, AuthForbidden)):
        return text, True
    if isinstance(error, BadResponse) and error.status is not None and 400 <= error.status < 500:
        return text, True
    return text, False


class LogStreamFollower:
    """Follows one log file until cancelled; `target` names it as Ray's log API does:
    `{"actor_id": ID, "suffix": "out" | "err"}` or `{"node_id": ID, "filename": NAME}`.

    `await LogStreamFollower(client, target, on_state=cb).run(on_lines)`: `on_lines` gets lists
    of complete lines in order (each once, see the module's note on re-opening); `on_state` a
    TailState on each change: FOLLOWING, RECONNECTING (with why and when it tries again; also
    while an actor has no process yet), or ENDED with `error` when retrying cannot help.
    Failures never raise. Both callbacks may be plain functions or coroutines.
    """

    def __init__(
        self,
        client: Any,
        target: dict[str, str],
        *,
        on_state: StateCallback | None = None,
        lines: int = 1000,
        interval: float = 1.0,
        quiet_reopen_s: float = 300.0,
        settle_s: float = 0.5,
        backoff_initial: float = 1.0,
        backoff_max: float = 10.0,
    ) -> None:
        self.client = client
        self.target = dict(target)
        self._on_state = on_state
        self._lines = lines
        self._interval = interval
        self._quiet_reopen_s = quiet_reopen_s
        self._settle_s = settle_s
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._held: deque[str] = deque(maxlen=ANCHOR)
        self._delivered_any = False
        self._over = ""  # why the file is done for this follower (a task's next marker came)
        self.status = TailState(FOLLOWING, "connecting")
        self.reopens = 0

    def params(self) -> dict[str, str]:
        return {
            **self.target,
            "lines": str(self._lines),
            "interval": f"{self._interval:g}",
        }

    async def run(self, on_lines: LinesCallback) -> TailState:
        attempt = 0
        while True:
            try:
                got = await self._follow_once(on_lines)
                if self._over:
                    return await self._set(TailState(ENDED, self._over, self.reopens))
            except CockpitError as exc:
                reason, final = stream_problem(exc)
                if final:
                    return await self._set(TailState(ENDED, reason, self.reopens, error=True))
                if isinstance(exc, DashboardTimeout):  # nothing came for a while: open again
                    self.reopens += 1
                    attempt = 0
                    continue
                got = False
            else:  # the server closed the stream: Ray does not, a proxy or a restart may
                reason = "the log stream closed"
            attempt = 0 if got else attempt + 1
            delay = min(self._backoff_initial * 2 ** max(attempt - 1, 0), self._backoff_max)
            await self._set(
                TailState(RECONNECTING, reason, self.reopens, retry_in=delay, attempt=attempt + 1)
            )
            await asyncio.sleep(delay)
            self.reopens += 1

    async def _follow_once(self, on_lines: LinesCallback) -> bool:
        """One stream, read until it ends or fails; True when it came up (its first byte, or
        a quiet start: an empty file sends nothing)."""
        queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        reader = asyncio.create_task(self._read(queue))
        catching_up = self._delivered_any  # a re-opened stream replays what was delivered
        caught: list[str] = []
        partial = ""
        up = False
        try:
            while True:
                try:
                    if catching_up and caught:
                        item = await asyncio.wait_for(queue.get(), self._settle_s)
                    elif not up:
                        item = await asyncio.wait_for(queue.get(), self._interval + 1.0)
                    else:
                        item = await queue.get()
                except TimeoutError:
                    if not up:  # connected, nothing sent: an empty file, or no new lines
                        up = True
                        await self._set(TailState(FOLLOWING, "", self.reopens))
                    elif caught:  # the replay is over and the anchor never came
                        catching_up = False
                        lines, caught = [GAP_LINE, *caught], []
                        await self._deliver(on_lines, lines)
                    continue
                if item is None:
                    return up
                if isinstance(item, BaseException):
                    raise item
                if not up:
                    up = True
                    await self._set(TailState(FOLLOWING, "", self.reopens))
                parts = (partial + item).split("\n")
                partial = parts.pop()
                parts = self._cut(parts)
                lines = [line for line in parts if not MARKER.match(line)]
                if catching_up:
                    caught += lines
                    new = unseen(list(self._held), caught)
                    if new is not None:
                        lines = new
                    elif self._over or len(caught) > self._lines + ANCHOR:  # no anchor
                        lines = [GAP_LINE, *caught]
                    else:
                        continue
                    catching_up, caught = False, []
                await self._deliver(on_lines, lines)
                if self._over:
                    return up
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _read(self, queue: asyncio.Queue[str | BaseException | None]) -> None:
        """The stream's chunks into `queue`, then None at its end or the error that ended it
        (a task of its own: waiting on the queue with a timeout never cancels the stream)."""
        try:
            async for chunk in self.client.stream_log(
                self.params(), read_timeout=self._quiet_reopen_s
            ):
                queue.put_nowait(chunk)
        except CockpitError as exc:
            queue.put_nowait(exc)
        else:
            queue.put_nowait(None)

    def _cut(self, lines: list[str]) -> list[str]:
        """The lines of this file's subject among newly read ones (all of them here; a task's
        end where its worker's next task begins, see TaskLogFollower); sets `_over` there."""
        return lines

    async def _deliver(self, on_lines: LinesCallback, lines: list[str]) -> None:
        if lines:
            self._held.extend(line for line in lines if line != GAP_LINE)
            self._delivered_any = True
            await call_back(on_lines, lines)

    async def _set(self, state: TailState) -> TailState:
        if state != self.status:
            self.status = state
            if self._on_state is not None:
                await call_back(self._on_state, state)
        return state


class ActorLogFollower(LogStreamFollower):
    """An actor's stdout (`out`) or stderr (`err`)."""

    def __init__(self, client: Any, actor_id: str, suffix: str = "out", **kwargs: Any) -> None:
        super().__init__(client, {"actor_id": actor_id, "suffix": suffix}, **kwargs)


class TaskLogFollower(LogStreamFollower):
    """One task attempt's own stdout (`out`) or stderr (`err`), by Ray's offsets in its worker's
    file (the module's note): an `ended` task read once, a running one followed until its worker
    begins another task; either way cut at the next task's marker. `lines` bounds what is read
    (its last lines; 20,000 unless given, what a log view keeps: a task's output is wanted
    whole)."""

    def __init__(
        self,
        client: Any,
        task_id: str,
        attempt: int,
        suffix: str = "out",
        *,
        ended: bool = False,
        **kwargs: Any,
    ) -> None:
        target = {"task_id": task_id, "attempt_number": str(attempt), "suffix": suffix}
        kwargs.setdefault("lines", TASK_LINES)
        super().__init__(client, target, **kwargs)
        self.ended = ended

    async def run(self, on_lines: LinesCallback) -> TailState:
        if not self.ended:
            return await super().run(on_lines)
        try:
            text = await self.client.task_log(self.target, lines=self._lines)
        except CockpitError as exc:
            reason, _final = stream_problem(exc)
            return await self._set(TailState(ENDED, reason, error=True))
        # without an end offset (a worker's last task) the file goes on to EOF: cut at the next
        lines = [line for line in self._cut(split_log(text)) if not MARKER.match(line)]
        await self._deliver(on_lines, lines)
        count = f"{len(lines):,} line" + ("" if len(lines) == 1 else "s")
        if len(lines) >= self._lines:
            return await self._set(TailState(ENDED, f"the task's last {count} (Ray sent no more)"))
        return await self._set(TailState(ENDED, f"the task's whole output, {count}"))

    def _cut(self, lines: list[str]) -> list[str]:
        at = next((i for i, line in enumerate(lines) if MARKER.match(line)), None)
        if at is None:
            return lines
        self._over = "the task ended (its worker began another task)"
        return lines[:at]
