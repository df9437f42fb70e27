"""The messages that cross between the app's workers and its screens. Small dataclass-like classes."""

from __future__ import annotations

from textual.message import Message

from cockpit.models import Snapshot


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


class JobLogsWanted(Message):
    """A screen asks the app for a job's whole driver log."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id


class JobLogsLoaded(Message):
    def __init__(self, job_id: str, text: str, error: str = "") -> None:
        super().__init__()
        self.job_id = job_id
        self.text = text
        self.error = error
