"""The app's workers for an actor's screen (a mixin of CockpitApp): while the screen is open they
fetch the actor's detail every few seconds and follow its stdout and stderr (through
screens/workers/log_streams.py), posting what they get as messages the handlers hand to the
screen; `ctrl+s` saves the shown log whole, `c` copies the actor's id."""

from __future__ import annotations

import asyncio
from functools import partial

from textual import work

from raycockpit.cockpit.actor_detail import actor_detail
from raycockpit.cockpit.actors import parse_actor
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.errors import CockpitError, NotFound
from raycockpit.cockpit.log_stream import MARKER
from raycockpit.cockpit.models import Actor
from raycockpit.cockpit.parse import parse_job
from raycockpit.cockpit.tail import ENDED, TailState
from raycockpit.cockpit.task_list import fetch_task_list
from raycockpit.screens.actor import SUFFIXES, ActorScreen
from raycockpit.screens.actors import ActorsPane
from raycockpit.screens.messages import ActorAction, ActorDetailLoaded, TasksLoaded
from raycockpit.screens.node_detail import NodeDetailScreen
from raycockpit.screens.node_logs import LogFileScreen
from raycockpit.screens.tasks import TasksScreen
from raycockpit.screens.workers.jobs import write_log_file

DETAIL_INTERVAL_S = 5.0  # the state API and the actor's process stats: a slow beat
TASK_LOG_SETTLE_S = 2.5  # a stream sends what was appended every second: all of it by then


class ActorWorkers:
    """Mixed into CockpitApp: uses its client, settings, snapshot and screen stack."""

    client: DashboardClient | None

    def _actor_screens(self, actor_id: str) -> list[ActorScreen]:
        stack = self.screen_stack  # type: ignore[attr-defined]
        return [s for s in stack if isinstance(s, ActorScreen) and s.actor_id == actor_id]

    def open_actor(self, actor: Actor, node_name: str = "") -> None:
        """The actor's screen, its detail fetched now and every few seconds, both logs followed
        from their last 1,000 lines; all of it stops when the screen leaves the stack."""
        self._stop_actor(actor.actor_id)  # a Closed of an earlier screen of it may be queued
        screen = ActorScreen(actor, node_name=node_name)
        self.push_screen(screen)  # type: ignore[attr-defined]
        snapshot = getattr(self, "snapshot", None)
        if snapshot is not None:
            screen.show_snapshot(snapshot)
        owner = f"actor:{actor.actor_id}"
        self.keep_worker(owner, self._watch_actor(actor))  # type: ignore[attr-defined]
        for suffix in SUFFIXES:
            target = {"actor_id": actor.actor_id, "suffix": suffix}
            self.follow_stream(owner, f"{owner}:{suffix}", target)  # type: ignore[attr-defined]

    def _stop_actor(self, actor_id: str) -> None:
        self.stop_streams(f"actor:{actor_id}")  # type: ignore[attr-defined]

    @work(group="actor", exit_on_error=False)
    async def _watch_actor(self, actor: Actor) -> None:
        while self.client is not None and self._actor_screens(actor.actor_id):
            try:
                row, logical = await self.client.actor_detail(actor.actor_id)
            except CockpitError as exc:
                message = ActorDetailLoaded(actor.actor_id, None, exc.one_line())
            else:
                message = ActorDetailLoaded(actor.actor_id, actor_detail(row, logical, actor))
            self.post_message(message)  # type: ignore[attr-defined]
            await asyncio.sleep(DETAIL_INTERVAL_S)

    def on_actor_detail_loaded(self, message: ActorDetailLoaded) -> None:
        for screen in self._actor_screens(message.actor_id):
            screen.show_detail(message.detail, message.error)

    def on_actor_screen_closed(self, message: ActorScreen.Closed) -> None:
        if not self._actor_screens(message.actor_id):
            self._stop_actor(message.actor_id)

    def on_actor_action(self, message: ActorAction) -> None:
        if message.action == "copy":
            self.copy_to_clipboard(message.actor_id)  # type: ignore[attr-defined]
            self.notify(  # type: ignore[attr-defined]
                f"copied {message.actor_id} (e.g. ray logs actor --id {message.actor_id})",
                timeout=4,
            )
        elif message.action == "save":
            self._save_actor_log(message.actor_id, message.suffix)

    @work(group="save", exit_on_error=False)
    async def _save_actor_log(self, actor_id: str, suffix: str) -> None:
        if self.client is None:
            return
        try:
            text = await self.client.actor_log(actor_id, suffix)
            lines = [line for line in text.splitlines() if not MARKER.match(line)]
            text = "".join(f"{line}\n" for line in lines)
            name = f"actor-{actor_id[:8]}.{suffix}"  # ./raycockpit-actor-<id8>.<out|err>.log
            path = await asyncio.to_thread(write_log_file, name, text)
        except (CockpitError, OSError) as exc:
            self.notify(f"log not saved: {exc}", severity="error", timeout=8)  # type: ignore[attr-defined]
            return
        self.notify(  # type: ignore[attr-defined]
            f"saved the whole {SUFFIXES[suffix]} ({len(lines):,} lines) to {path}", timeout=8
        )

    # -- the tasks of one function ----------------------------------------------------------------

    def _tasks_screens(self, name: str) -> list[TasksScreen]:
        stack = self.screen_stack  # type: ignore[attr-defined]
        return [s for s in stack if isinstance(s, TasksScreen) and s.function == name]

    def open_tasks(
        self, name: str, kind: str, node_names: dict[str, str], filter_text: str = ""
    ) -> None:
        """The function's tasks, listed now and every 5 s while its screen is open (filtered
        to `filter_text` from the start: a node's name, from its screen)."""
        self.stop_streams(f"tasks:{name}")  # type: ignore[attr-defined]
        screen = TasksScreen(name, kind, node_names, filter_text=filter_text)
        self.push_screen(screen)  # type: ignore[attr-defined]
        self.keep_worker(f"tasks:{name}", self._watch_tasks(name))  # type: ignore[attr-defined]

    @work(group="tasks", exit_on_error=False)
    async def _watch_tasks(self, name: str) -> None:
        while self.client is not None and self._tasks_screens(name):
            try:
                listing = await fetch_task_list(self.client, name)
            except CockpitError as exc:
                message = TasksLoaded(name, None, exc.one_line())
            else:
                message = TasksLoaded(name, listing)
            self.post_message(message)  # type: ignore[attr-defined]
            await asyncio.sleep(DETAIL_INTERVAL_S)

    def on_node_detail_screen_open_tasks(self, message: NodeDetailScreen.OpenTasks) -> None:
        snap = getattr(self, "snapshot", None)
        names = {n.node_id: n.name for n in snap.nodes} if snap is not None else {}
        kind = "actor method" if "." in message.name else "task"
        self.open_tasks(message.name, kind, names, filter_text=message.node_name)

    def on_node_detail_screen_open_actors(self, message: NodeDetailScreen.OpenActors) -> None:
        self.action_show_pane("actors")  # type: ignore[attr-defined]
        self.query_one(ActorsPane).filter_to(message.class_name)  # type: ignore[attr-defined]

    def on_tasks_loaded(self, message: TasksLoaded) -> None:
        for screen in self._tasks_screens(message.name):
            screen.show_tasks(message.tasks, message.error)
        if message.tasks is not None:
            self._settle_task_logs(message.tasks.rows)

    def _settle_task_logs(self, rows) -> None:
        """A task followed while it ran has ended, and its worker began no other task (which
        would have ended the stream at its marker): once the stream's last lines are in, stop
        it and say so, instead of following an idle worker's file."""
        ended = {row.key: row.state for row in rows if row.output_complete}
        for screen in self.screen_stack:  # type: ignore[attr-defined]
            if isinstance(screen, LogFileScreen) and not screen.ended:
                state = ended.get(screen.task_key or "")
                if state is not None:
                    screen.ended = True
                    self.set_timer(  # type: ignore[attr-defined]
                        TASK_LOG_SETTLE_S, partial(self._task_log_ended, screen, state)
                    )

    def _task_log_ended(self, screen: LogFileScreen, state: str) -> None:
        self.stop_streams(screen.key)  # type: ignore[attr-defined]
        screen.set_stream_state(screen.key, TailState(ENDED, f"the task ended ({state})"))

    def on_tasks_screen_closed(self, message: TasksScreen.Closed) -> None:
        if not self._tasks_screens(message.name):
            self.stop_streams(f"tasks:{message.name}")  # type: ignore[attr-defined]

    def on_tasks_screen_task_log_wanted(self, message: TasksScreen.TaskLogWanted) -> None:
        task, suffix = message.task, message.suffix
        pid = str(task.worker_pid or "?")
        name = {"out": "stdout", "err": "stderr"}[suffix]
        if task.own_log:  # Ray's offsets: the task's own lines, read once or followed
            how = "its whole output" if task.output_complete else "followed while it runs"
            screen = LogFileScreen(
                f"task {task.name} {name}",
                f"try {task.attempt}, {how} (worker {pid} on node {message.node_name})",
                {"task_id": task.task_id, "attempt_number": str(task.attempt), "suffix": suffix},
                stem=f"task-{task.task_id[:16]}-{task.attempt}.{suffix}",
                ended=task.output_complete,
            )
        else:
            screen = LogFileScreen(
                f"worker {pid} {name}",
                f"on node {message.node_name}: the process that ran {task.name} (and other tasks)",
                {"node_id": task.node_id, "pid": pid, "suffix": suffix},
                stem=f"{task.node_id[:8]}-worker-{pid}.{suffix}",
            )
        self.open_log_file(screen)  # type: ignore[attr-defined]

    # -- :actor ID, :job ID -----------------------------------------------------------------------

    def open_by_id(self, kind: str, wanted: str) -> None:
        """`:actor ID` / `:job ID` (ids come in error messages and logs): the one listed with
        that id or a unique start of it, else asked of the cluster by its whole id."""
        snap = getattr(self, "snapshot", None)
        if kind == "actors":
            listed = {a.actor_id: a for a in snap.actors.actors} if snap is not None else {}
        else:
            listed = {j.key: j for j in snap.jobs} if snap is not None else {}
        matches = [key for key in listed if key == wanted] or [
            key for key in listed if key.startswith(wanted)
        ]
        if len(matches) == 1:
            self._open_found(kind, listed[matches[0]])
            return
        if len(matches) > 1:
            self.notify(  # type: ignore[attr-defined]
                f"{len(matches)} {kind} start with {wanted}: give more of the id",
                severity="warning",
            )
            return
        self._fetch_by_id(kind, wanted)

    @work(group="open-by-id", exclusive=True, exit_on_error=False)
    async def _fetch_by_id(self, kind: str, wanted: str) -> None:
        if self.client is None:
            return
        what = "actor" if kind == "actors" else "job"
        try:
            if kind == "actors":
                row, _ = await self.client.actor_detail(wanted)
                found = parse_actor(row) if row else None
            else:
                found = parse_job(await self.client.get_job(wanted))
        except NotFound:
            found = None
        except CockpitError as exc:
            self.notify(f"cannot look up {what} {wanted}: {exc.one_line()}", severity="error")  # type: ignore[attr-defined]
            return
        if found is None:
            self.notify(  # type: ignore[attr-defined]
                f"no {what} {wanted} on this cluster (give its whole id, or open the "
                f"{'Actors' if kind == 'actors' else 'Jobs'} pane to pick one)",
                severity="warning",
                timeout=8,
            )
        else:
            self._open_found(kind, found)

    def _open_found(self, kind: str, found) -> None:
        if kind == "actors":
            self.open_actor(found)
        else:
            self.open_job(found)  # type: ignore[attr-defined]
