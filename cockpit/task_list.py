"""The tasks of one function (or actor method), for the Actors pane's drill-down: which ran where,
how long, and why the failed ones failed.

Asked of the state API with `detail=true` (`error_type`, `error_message`, times, worker pid):
`/api/v0/tasks?filter_keys=func_or_class_name&filter_predicates==&filter_values=NAME&limit=100`,
and the same with `state=FAILED`, so failures are never cut off by the limit behind thousands of
finished tasks. Ray 2.60 keeps no per-task log offsets by default (`task_log_info` is null), so a
task's output is its worker process's log (node + pid). No Textual; `fetch_task_list` asks, the
rest are pure functions.
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

    @property
    def key(self) -> str:
        return f"{self.task_id}:{self.attempt}"

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
    )


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
