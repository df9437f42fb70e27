"""The tasks of one function (or actor method), for the Actors pane's drill-down: which ran where,
how long, and why the failed ones failed.

Asked of the state API with `detail=true` (`error_type`, `error_message`, times, worker pid):
`/api/v0/tasks?filter_keys=func_or_class_name&filter_predicates==&filter_values=NAME&limit=100`,
and the same with `state=FAILED`, so failures are never cut off by the limit behind thousands of
finished tasks. Ray 2.60 records where a normal task's output starts and ends in its worker's
files (`task_log_info`: `stdout_start`, and `stdout_end` once it ended), so its own lines can be
asked for (cockpit/log_stream.py's TaskLogFollower); an actor's method has none (Ray records them
only with RAY_ENABLE_RECORD_ACTOR_TASK_LOGGING=1), and its output is the worker's whole log
(node + pid). No Textual; `fetch_task_list` asks, the rest are pure functions.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from raycockpit.cockpit.actor_detail import user_traceback

LIMIT = 100
LIVE = ("RUNNING", "RUNNING_IN_RAY_GET", "RUNNING_IN_RAY_WAIT")


@dataclass(frozen=True, slots=True)
class TaskRow:
    task_id: str
    attempt: int
    name: str
    state: str
    job_id: str = ""
    node_id: str = ""
    worker_pid: int | None = None
    actor_id: str = ""
    start_s: float | None = None
    end_s: float | None = None
    error_type: str = ""
    error: str = ""  # the user's part of the traceback (or Ray's message when it has none)
    own_log: bool = False  # Ray knows where its stdout / stderr start in its worker's files
    log_closed: bool = False  # ... and where they end (written when its worker goes on)

    @property
    def key(self) -> str:
        return f"{self.task_id}:{self.attempt}"

    @property
    def output_complete(self) -> bool:
        """Its output is all written: Ray has its end offset, or the task has ended (the end
        offset of a worker's last task may never come)."""
        return self.log_closed or self.state in ("FINISHED", "FAILED")

    @property
    def error_line(self) -> str:
        """One line: the exception's own line, else Ray's error type."""
        lines = [line for line in self.error.splitlines() if line.strip()]
        return lines[-1].strip() if lines else self.error_type


@dataclass(frozen=True, slots=True)
class TaskList:
    name: str
    rows: tuple[TaskRow, ...]
    total: int  # tasks of this function Ray knows of (its summary can count more: GC'd events)
    failed_total: int


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return float(value) / 1000.0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_task(raw: Any) -> TaskRow | None:
    if not isinstance(raw, dict) or not _str(raw.get("task_id")):
        return None
    message = _str(raw.get("error_message"))
    info = raw.get("task_log_info")
    # "User exception:\nray::f() (pid=..)\n  File ...\nValueError: ...": a traceback's shape
    error = user_traceback(message) if "\n" in message.strip() else message.strip()
    return TaskRow(
        task_id=_str(raw.get("task_id")),
        attempt=_int(raw.get("attempt_number")) or 0,
        name=_str(raw.get("func_or_class_name")) or _str(raw.get("name")) or "?",
        state=_str(raw.get("state")) or "?",
        job_id=_str(raw.get("job_id")),
        node_id=_str(raw.get("node_id")),
        worker_pid=_int(raw.get("worker_pid")) or None,
        actor_id=_str(raw.get("actor_id")),
        start_s=_seconds(raw.get("start_time_ms")),
        end_s=_seconds(raw.get("end_time_ms")),
        error_type=_str(raw.get("error_type")),
        error=error,
        own_log=_offset(info, "stdout_start") or _offset(info, "stderr_start"),
        log_closed=_offset(info, "stdout_end") or _offset(info, "stderr_end"),
    )


def _offset(info: Any, key: str) -> bool:
    return isinstance(info, dict) and _int(info.get(key)) is not None


def _listing(data: Any) -> tuple[list[TaskRow], int]:
    """The rows and total of one state API answer's `data` (an odd answer: none, 0)."""
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        return [], 0
    raws = result.get("result") if isinstance(result.get("result"), list) else []
    rows = [row for row in map(parse_task, raws) if row is not None]
    total = _int(result.get("num_filtered"))
    return rows, total if total is not None else len(rows)


def task_list(name: str, everything: Any, failed: Any) -> TaskList:
    """Both answers merged, each task attempt once: failed first, then running, then the rest,
    the newest first within each."""
    rows, total = _listing(everything)
    failed_rows, failed_total = _listing(failed)
    merged = {row.key: row for row in rows}
    merged.update({row.key: row for row in failed_rows})

    def order(row: TaskRow) -> tuple[int, float]:
        rank = 0 if row.state == "FAILED" else 1 if row.state in LIVE else 2
        return rank, -(row.start_s or row.end_s or 0.0)

    return TaskList(name, tuple(sorted(merged.values(), key=order)), total, failed_total)


async def fetch_task_list(client: Any, name: str) -> TaskList:
    """Both listings of `name`'s tasks, asked together (`client`: a DashboardClient)."""
    by_name = ("func_or_class_name", "=", name)
    everything, failed = await asyncio.gather(
        client.list_state_detail("tasks", [by_name], limit=LIMIT),
        client.list_state_detail("tasks", [by_name, ("state", "=", "FAILED")], limit=LIMIT),
    )
    return task_list(name, everything, failed)
