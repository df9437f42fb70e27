"""Heads left running on purpose (`--keep-cluster`), recognised by the next cockpit.

When the cockpit quits with --keep-cluster it writes a small record of the head it started (pid,
start time, addresses, log) under the state folder. A later `raycockpit` that attaches to the
same loopback dashboard finds the record, checks that the same process still runs (pid AND start
time, so a reused pid never counts), says so, and can stop that head (`:stop-head`) by its pid
and process tree, never by name. A record whose process is gone is deleted when seen.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from raycockpit.cockpit.local import LocalHead, start_time, stop_head_process

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "raycockpit" / "kept-heads"


def _loopback_port(address: str) -> int | None:
    parts = urlsplit(address if "://" in address else f"http://{address}")
    if parts.hostname not in LOOPBACK_NAMES:
        return None
    try:
        return parts.port or 80
    except ValueError:
        return None


@dataclass(frozen=True)
class KeptHead:
    pid: int
    started: int  # start time in clock ticks: with the pid, names exactly one process
    dashboard_url: str
    gcs_address: str
    log_path: str | None
    kept_at: float

    @staticmethod
    def path_for(port: int) -> Path:
        return state_dir() / f"{port}.json"

    @classmethod
    def record(cls, head: LocalHead) -> KeptHead | None:
        """Write the record of a head this cockpit started and leaves running."""
        started = start_time(head.pid) if head.pid else None
        if head.pid is None or started is None:
            return None
        kept = cls(
            head.pid,
            started,
            head.dashboard_url,
            head.gcs_address,
            str(head.log_path) if head.log_path else None,
            time.time(),
        )
        path = cls.path_for(head.ports.dashboard)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(asdict(kept)))
        except OSError:
            return None
        return kept

    @classmethod
    def find(cls, address: str) -> KeptHead | None:
        """The kept head serving this (loopback) dashboard address, if it still runs."""
        port = _loopback_port(address)
        if port is None:
            return None
        path = cls.path_for(port)
        try:
            kept = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if not kept.running():
            path.unlink(missing_ok=True)
            return None
        return kept

    def running(self) -> bool:
        return start_time(self.pid) == self.started

    def stop(self, timeout: float = 30.0) -> None:
        """Stop that head and everything it started, by pid; forget the record."""
        if self.running():
            stop_head_process(self.pid, timeout=timeout, started=self.started)
        self.forget()

    def forget(self) -> None:
        port = _loopback_port(self.dashboard_url)
        if port is not None:
            self.path_for(port).unlink(missing_ok=True)
