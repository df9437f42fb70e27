"""The app's followers of log files on the nodes (a mixin of CockpitApp): an actor's stdout and
stderr, a node's raylet.out, ... Each runs cockpit/log_stream.py's follower in a worker and posts
what it gets as LogStreamLines / LogStreamState with the stream's key; the handlers hand them to
every screen in the stack that shows that key (`stream_keys`). Followers are kept per owner (an
actor's screen, a file's screen) and stopped together when their screen leaves the stack."""

from __future__ import annotations

from typing import Protocol

from textual import work
from textual.worker import Worker

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.log_stream import LogStreamFollower, TaskLogFollower
from raycockpit.cockpit.tail import TailState
from raycockpit.screens.messages import LogStreamLines, LogStreamState


class ShowsStreams(Protocol):
    """A screen that shows followed logs: the keys it shows and where their lines go."""

    stream_keys: frozenset[str]

    def add_stream_lines(self, key: str, lines: list[str]) -> None: ...

    def set_stream_state(self, key: str, state: TailState) -> None: ...


class LogStreamWorkers:
    """Mixed into CockpitApp: uses its client and screen stack."""

    client: DashboardClient | None
    _stream_workers: dict[str, list[Worker]]

    def follow_stream(
        self, owner: str, key: str, target: dict[str, str], *, ended: bool = False
    ) -> None:
        """Follow the file `target` names (Ray's log API: actor_id + suffix, node_id + filename
        or pid, or a task's task_id + attempt_number + suffix, `ended`: read once) as `key`,
        until `stop_streams(owner)`."""
        worker = self._follow_stream(key, target, ended)
        self._stream_workers.setdefault(owner, []).append(worker)

    def keep_worker(self, owner: str, worker: Worker) -> None:
        """Another worker of `owner`'s (an actor's detail), stopped with its streams."""
        self._stream_workers.setdefault(owner, []).append(worker)

    def stop_streams(self, owner: str) -> None:
        for worker in self._stream_workers.pop(owner, []):
            worker.cancel()

    @work(group="logstream", exit_on_error=False)
    async def _follow_stream(self, key: str, target: dict[str, str], ended: bool) -> None:
        if self.client is None:
            return
        post = self.post_message  # type: ignore[attr-defined]

        def on_state(state):
            post(LogStreamState(key, state))

        if "task_id" in target:
            follower = TaskLogFollower(
                self.client,
                target["task_id"],
                int(target.get("attempt_number", "0")),
                target.get("suffix", "out"),
                ended=ended,
                on_state=on_state,
            )
        else:
            follower = LogStreamFollower(self.client, target, on_state=on_state)
        await follower.run(lambda lines: post(LogStreamLines(key, lines)))

    def _stream_screens(self, key: str) -> list[ShowsStreams]:
        stack = self.screen_stack  # type: ignore[attr-defined]
        return [s for s in stack if key in getattr(s, "stream_keys", ())]

    def on_log_stream_lines(self, message: LogStreamLines) -> None:
        for screen in self._stream_screens(message.key):
            screen.add_stream_lines(message.key, message.lines)

    def on_log_stream_state(self, message: LogStreamState) -> None:
        for screen in self._stream_screens(message.key):
            screen.set_stream_state(message.key, message.state)
