"""The messages that cross between the app's workers and its screens. Small dataclass-like classes."""

from __future__ import annotations

from textual.message import Message

from raycockpit.cockpit.models import Snapshot
from raycockpit.cockpit.tail import TailState


class SnapshotUpdated(Message):
    """A new snapshot from the poller. A newer one replaces an older one still in the queue."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotUpdated)


class HeadProgress(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class HeadReady(Message):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address


class HeadFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class JobLogLines(Message):
    """New complete lines of a job's driver log, from its follower."""

    def __init__(self, job_id: str, lines: list[str]) -> None:
        super().__init__()
        self.job_id = job_id
        self.lines = lines


class JobTailState(Message):
    def __init__(self, job_id: str, state: TailState) -> None:
        super().__init__()
        self.job_id = job_id
        self.state = state
