"""What a failed job's message says, in one line.

Ray's message for a failed entrypoint is "Job entrypoint command failed with exit code 1, last
available logs (truncated to 20,000 chars):" followed by the end of the log, so its first line
never names the error. `failure_line` puts the exit code and the error the program raised (the
traceback's last line) in one line for a table row or a screen's head.
"""

from __future__ import annotations

import re
from functools import lru_cache

from raycockpit.cockpit.models import Job

_LOGS_SUFFIX = re.compile(r",?\s*last available logs\b.*$", re.IGNORECASE)
_EXIT_CODE = re.compile(r"exit code (-?\d+)")
# a raised error as a traceback ends: `ValueError: bad`, `ray.exceptions.RayTaskError(...): ...`,
# `KeyboardInterrupt`, `SystemExit: 3`, `(TrainWorker pid=1) RuntimeError: ...`
_ERROR = re.compile(
    r"^(\([^)]*\)\s+)?[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Failure)(\(.*?\))?(:|$)"
)
SCAN_LINES = 40  # an error is among the log's last lines: what came after it is shutdown noise


def is_error_line(line: str) -> bool:
    """Whether a log line is a raised error as a traceback ends it (`ValueError: bad`)."""
    return bool(_ERROR.match(line.strip()))


def message_head(message: str) -> str:
    """Ray's job message without the log tail it appends ("..., last available logs (truncated
    to 20,000 chars):" and the lines after)."""
    lines = message.strip().splitlines()
    return _LOGS_SUFFIX.sub("", lines[0]).strip() if lines else ""


def error_line(text: str | None) -> str:
    """The error a log ends with: the last line of its last traceback among its last lines, else
    its last line."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for line in reversed(lines[-SCAN_LINES:]):
        if _ERROR.match(line):
            return line
    return lines[-1] if lines else ""


def failure_line(job: Job) -> str:
    """A failed job in one line: `exit code 1: FileNotFoundError: [Errno 2] ...` when Ray's
    message carries the log's end, else Ray's message's first line."""
    return _failure_line(job.status, job.message, job.driver_exit_code)


@lru_cache(maxsize=256)  # the job screen's head is drawn twice a second; a message is ~20 kB
def _failure_line(status: str, message: str, driver_exit_code: int | None) -> str:
    head = message_head(message)
    lines = message.strip().splitlines()
    if status != "FAILED" or len(lines) < 2 or not _LOGS_SUFFIX.search(lines[0]):
        return head
    error = error_line("\n".join(lines[1:]))
    code = _EXIT_CODE.search(head)
    exit_code = code.group(1) if code else driver_exit_code
    if not error:
        return head
    return f"exit code {exit_code}: {error}" if exit_code is not None else error
