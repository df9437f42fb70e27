"""Actors: the cluster's actors (state, class, node, pid, resources, GPU use, restarts, death
cause or GPU alert) and a summary of actor classes and task functions counted by state.

The data is `snapshot.actors` (cockpit/actors.py: a bounded list, live actors first, and Ray's
summaries), fetched only while this pane is shown; the GPU columns and alerts
(`snapshot.actors.gpu`) are matched by cockpit/gpu_alerts.py in the poller's thread with each
fetch of the nodes. `/` filters both tables, `s`/`S` sort the focused one, Tab moves between
them, Enter opens the selected actor's screen (its detail and logs), or on a task function its tasks
(screens/tasks.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import human_duration
from raycockpit.cockpit.models import Actor, ActorGpu, ActorsStatus, Snapshot, StateGroup
from raycockpit.screens.base import Pane
from raycockpit.screens.styles import BAD, BAD_STRONG, OK, WARN
from raycockpit.screens.widgets.filter_bar import FilterBar
from raycockpit.screens.widgets.keyed_table import Column, KeyedTable
from raycockpit.screens.widgets.render import gpu_text, resources_text, status_text

ACTOR_COLUMNS = [
    Column("class", "Class", width=22),
    Column("state", "State"),
    Column("node", "Node"),
    Column("pid", "PID"),
    Column("gpu", "GPU use", width=15),
    Column("note", "GPU alert / death cause", width=60),
    Column("resources", "Resources", width=14),
    Column("restarts", "Restarts"),
    Column("id", "Actor id", width=10),
]

SUMMARY_COLUMNS = [
    Column("name", "Class / function", width=40),
    Column("kind", "Kind"),
    Column("total", "Total"),
    Column("states", "By state", width=50),
]

LIVE = {"ALIVE", "RUNNING", "RUNNING_IN_RAY_GET", "RUNNING_IN_RAY_WAIT"}
KINDS = {
    "actor": "actor",
    "NORMAL_TASK": "task",
    "ACTOR_TASK": "actor task",
    "ACTOR_CREATION_TASK": "actor creation",
    "DRIVER_TASK": "driver",
}


def states_text(states: tuple[tuple[str, int], ...]) -> Text:
    text = Text()
    for i, (state, n) in enumerate(states):
        if i:
            text.append("  ")
        text.append_text(status_text(state)).append(f" {n:,}")
    return text


class ActorsPane(Pane):
    TITLE = "Actors"
    SECTIONS = ("actors",)  # a new object whenever the actors or their GPU use change
    POLLS = ("actors", "nodes")  # the nodes: the GPUs' process lists (and the nodes' names)

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="table.filter"),
        Binding("enter", "open", "Detail", id="table.open"),
    ]

    DEFAULT_CSS = """
    ActorsPane > .heading { height: auto; padding: 0 1; }
    ActorsPane #actors-table { height: 2fr; }
    ActorsPane #actors-summary { height: 1fr; }
    """

    @dataclass
    class OpenActor(Message):
        """Enter on an actor: the app opens its screen (screens/actor.py)."""

        actor: Actor
        node_name: str

    @dataclass
    class OpenTasks(Message):
        """Enter on a task function in the summary: the app opens its tasks (screens/tasks.py)."""

        name: str
        kind: str
        node_names: dict[str, str]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._gpu: dict[str, ActorGpu] = {}
        self._names: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield self.compose_stale()
        yield Static(
            Text("listing actors (Ray state API)…", style="dim"),
            classes="heading",
            id="actors-heading",
            markup=False,
        )
        yield FilterBar()
        # live actors first, then by class (the order the section keeps); s sorts by a column
        yield KeyedTable(ACTOR_COLUMNS, sort_column=None, id="actors-table")
        yield Static("", classes="heading", id="actors-summary-heading", markup=False)
        yield KeyedTable(SUMMARY_COLUMNS, sort_column=None, id="actors-summary")

    # -- rows ----------------------------------------------------------------------------

    def actor_row(self, actor: Actor) -> tuple[str, list, dict]:
        use = self._gpu.get(actor.actor_id)
        if use is not None and use.alerts:
            note = Text(" · ".join(use.alerts), style=BAD_STRONG)
        elif actor.death_cause:
            note = Text(actor.death_cause, style=BAD if actor.state != "DEAD" else "")
        else:
            note = Text("")
        note.no_wrap, note.overflow = True, "ellipsis"
        label = actor.class_name + (f" ({actor.name})" if actor.name else "")
        cells = [
            Text(label, no_wrap=True, overflow="ellipsis"),
            status_text(actor.state),
            self._names.get(actor.node_id, actor.node_id[:8] or "-"),
            str(actor.pid) if actor.pid else "-",
            gpu_text(use),
            note,
            resources_text(actor.resources),
            str(actor.restarts),
            actor.actor_id[:10],
        ]
        util = -1 if use is None or use.utilization is None else use.utilization
        sort = {"pid": actor.pid or 0, "restarts": actor.restarts, "gpu": util}
        return actor.actor_id, cells, sort

    @staticmethod
    def actor_key(actor: Actor) -> str:
        return actor.actor_id

    def actor_search(self, actor: Actor) -> str:
        use = self._gpu.get(actor.actor_id)
        alerts = " ".join(use.alerts) if use is not None else ""
        node = self._names.get(actor.node_id, actor.node_id)
        return (
            f"{actor.class_name} {actor.name} {actor.state} {node} {actor.pid or ''} "
            f"{actor.actor_id} {actor.job_id} {actor.death_cause} {alerts}"
        )

    @staticmethod
    def actor_settled(actor: Actor) -> bool:
        """An actor with a GPU reserved shows its process's use, which moves with the nodes."""
        return actor.gpus <= 0

    @staticmethod
    def group_row(group: StateGroup) -> tuple[str, list, dict]:
        cells = [
            Text(group.name, no_wrap=True, overflow="ellipsis"),
            KINDS.get(group.kind, group.kind.lower()),
            f"{group.total:,}",
            states_text(group.states),
        ]
        return f"{group.kind}:{group.name}", cells, {"total": group.total}

    @staticmethod
    def group_key(group: StateGroup) -> str:
        return f"{group.kind}:{group.name}"

    # -- rendering -------------------------------------------------------------------------

    def render_snapshot(self, snap: Snapshot) -> None:
        status = snap.actors
        self._names = {n.node_id: n.name for n in snap.nodes}
        self._gpu = status.gpu  # matched in the poller's thread (cockpit/gpu_alerts.py)
        self.query_one("#actors-heading", Static).update(self._heading(status))
        table = self.query_one("#actors-table", KeyedTable)
        # the actors whose GPUs alert first, then the section's order (live first, by class)
        alerting = {key for key, use in self._gpu.items() if use.alerts}
        records = status.actors
        if alerting:
            records = sorted(records, key=lambda a: a.actor_id not in alerting)
        table.set_records(
            records,
            row=self.actor_row,
            key=self.actor_key,
            text=self.actor_search,
            stable=self.actor_settled,
        )
        groups = (*status.classes, *status.tasks)
        self.query_one("#actors-summary-heading", Static).update(self._summary_heading(status))
        self.query_one("#actors-summary", KeyedTable).set_records(
            groups, row=self.group_row, key=self.group_key
        )

    def _heading(self, status: ActorsStatus) -> Text:
        if not status.fetched:
            return Text("listing actors (Ray state API)…", style="dim")
        text = Text("Actors ", style="bold")
        if status.cut:
            text.append(f"{status.listed:,} listed of {status.total:,}", style=WARN)
            text.append(" (live first)", style="dim")
        elif status.total:
            text.append(f"{status.total:,}")
        else:
            text.append("none in this cluster yet", style="dim")
        alive = sum(n for g in status.classes for s, n in g.states if s == "ALIVE")
        if status.total:
            text.append(f" · {alive:,} alive", style=OK)
        alerting = [u for u in self._gpu.values() if u.alerts]
        reserved = len(self._gpu)
        if reserved:
            text.append(f" · {reserved:,} with GPUs")
        if alerting:
            text.append(f" · {len(alerting):,} GPU alert(s)", style=BAD_STRONG)
        for warning in status.warnings[:2]:
            text.append(f"\n{warning}", style=WARN)
        return text

    def _summary_heading(self, status: ActorsStatus) -> Text:
        if not status.fetched:
            return Text("")
        text = Text("Summary ", style="bold")
        text.append(f"{len(status.classes):,} actor classes · ")
        if status.tasks_at is None:
            text.append("tasks: waiting for Ray's task summary", style="dim")
            return text
        text.append(f"{status.tasks_total:,} tasks by function")
        age = max(0.0, clock.now() - status.tasks_at)
        text.append(f" (summary {human_duration(age)} old)", style="dim")
        return text

    # -- keys ------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def filter_to(self, text: str) -> None:
        """Both tables filtered to `text`, kept in the filter bar (Esc in it clears it)."""
        self.query_one(FilterBar).keep(text)

    def on_filter_bar_filter_changed(self, event: FilterBar.FilterChanged) -> None:
        for table in self.query(KeyedTable):
            table.set_filter(event.value)

    def on_filter_bar_filter_done(self, event: FilterBar.FilterDone) -> None:
        """Enter in the filter: to the actors, or to the summary when only it has matches (a
        task function's name typed to open its tasks)."""
        actors = self.query_one("#actors-table", KeyedTable)
        summary = self.query_one("#actors-summary", KeyedTable)
        (summary if summary.row_count and not actors.row_count else actors).focus()

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        if event.table.id == "actors-table":
            self.action_open()
        else:
            self.open_group(event.key)

    def open_group(self, key: str) -> None:
        """A task function's (or actor method's) row: its tasks' screen; an actor class's row
        says where its actors are."""
        kind, _, name = key.partition(":")
        if kind == "actor":
            self.app.notify(f"{name}'s actors are in the table above: Enter on one opens it")
            return
        self.post_message(self.OpenTasks(name, KINDS.get(kind, kind.lower()), dict(self._names)))

    def action_open(self) -> None:
        """The selected actor's screen: its detail, GPU use and its own stdout and stderr."""
        key = self.query_one("#actors-table", KeyedTable).selected_key
        if self.snapshot is None or key is None:
            return
        for actor in self.snapshot.actors.actors:
            if actor.actor_id == key:
                self.post_message(self.OpenActor(actor, self._names.get(actor.node_id, "")))
                return
