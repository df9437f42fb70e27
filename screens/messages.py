"""The messages that cross between the app's workers and its screens: small dataclasses.

Textual runs a dataclass's generated `__init__` through `Message.__post_init__`; the handler names
come from the class names as usual (`JobLogLines` -> `on_job_log_lines`).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from raycockpit.cockpit.models import Snapshot
from raycockpit.cockpit.tail import TailState


@dataclass
class SnapshotUpdated(Message):
    """A new snapshot from the poller. A newer one replaces an older one still in the queue."""

    snapshot: Snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotUpdated)


@dataclass
class HeadProgress(Message):
    text: str


@dataclass
class HeadReady(Message):
    address: str


@dataclass
class HeadFailed(Message):
    error: str


@dataclass
class JobLogLines(Message):
    """New complete lines of a job's driver log, from its follower."""

    job_id: str
    lines: list[str]


@dataclass
class JobTailState(Message):
    job_id: str
    state: TailState
