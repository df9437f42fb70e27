"""The messages that cross between the app's workers and its screens: small dataclasses.

A worker never calls a pane or a screen: it posts one of these to the app, and the app's handler
(screens/app.py, screens/workers/*.py) hands the result to whoever shows it. Textual runs a
dataclass's generated `__init__` through `Message.__post_init__`; the handler names come from the
class names as usual (`SpecsLoaded` -> `on_specs_loaded`).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.screen import Screen

from raycockpit.cockpit.actor_detail import ActorDetail
from raycockpit.cockpit.clusters import ClusterConfig
from raycockpit.cockpit.fleet import FleetRow
from raycockpit.cockpit.launch import WorkloadSpec
from raycockpit.cockpit.models import Job, Node, Snapshot
from raycockpit.cockpit.node_work import NodeWork
from raycockpit.cockpit.serve_tester import LoadResult, Result
from raycockpit.cockpit.serve_traffic import AppTraffic
from raycockpit.cockpit.tail import TailState
from raycockpit.cockpit.task_list import TaskList

# -- the cluster ---------------------------------------------------------------------------------


@dataclass
class JobAction(Message):
    """stop | delete | resubmit | duplicate | copy (its id) of a job, from its screen or its Jobs
    pane row, for the app to confirm and carry out (screens/workers/jobs.py)."""

    action: str
    job: Job


@dataclass
class ActorAction(Message):
    """copy (its id) | save (the shown log, whole) of an actor, from its screen, for the app."""

    action: str
    actor_id: str
    suffix: str  # out | err: the log shown


@dataclass
class ActorDetailLoaded(Message):
    """An actor's detail (screens/workers/actors.py), or why it could not be fetched."""

    actor_id: str
    detail: ActorDetail | None
    error: str = ""


@dataclass
class TasksLoaded(Message):
    """The tasks of one function (cockpit/task_list.py), or why they could not be listed."""

    name: str
    tasks: TaskList | None
    error: str = ""


@dataclass
class LogStreamLines(Message):
    """New lines of a followed log file (cockpit/log_stream.py); `key` names which:
    `actor:<id>:out`, `actor:<id>:err`, `file:<node id>:<file name>`."""

    key: str
    lines: list[str]


@dataclass
class LogStreamState(Message):
    """What the follower of a log file is doing."""

    key: str
    state: TailState


@dataclass
class NodeLogsWanted(Message):
    """`l` on a node's screen: list its log files (screens/workers/nodes.py)."""

    node: Node


@dataclass
class NodeLogsListed(Message):
    """A node's log files by Ray's category, or why they could not be listed."""

    node: Node
    files: dict[str, list[str]]
    error: str = ""


@dataclass
class NodeLogWanted(Message):
    """Enter on a file of a node's log list: follow it on its own screen."""

    node: Node
    filename: str


@dataclass
class ClustersLoaded(Message):
    """The launcher's cluster configs found (screens/workers/clusters.py)."""

    configs: list[ClusterConfig]
    folders: list[str]


@dataclass
class LauncherLines(Message):
    """Lines of output from `ray up` / `down` / `exec`, as they come."""

    lines: list[str]


@dataclass
class LauncherEnded(Message):
    """The launcher command ended: its exit status (None: it did not start, `error` says why)."""

    name: str
    action: str
    code: int | None
    error: str


@dataclass
class FleetRowUpdated(Message):
    """A fresh line for one cluster of the fleet (cockpit/fleet.py's FleetWatcher)."""

    row: FleetRow


@dataclass
class SnapshotUpdated(Message):
    """A new snapshot from the poller. A newer one replaces an older one still in the queue."""

    snapshot: Snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotUpdated)


@dataclass
class NodeWorkLoaded(Message):
    """The tasks and actors on one node (screens/workers/nodes.py), or why they could not be
    listed (`error`: one line; the last listing shown stays)."""

    node_id: str
    work: NodeWork | None
    error: str = ""


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
class LinkChanged(Message):
    """The ssh tunnel's state: 'up', or why it is down and when it is tried again."""

    state: str


# -- jobs ------------------------------------------------------------------------------------------


@dataclass
class SpecsLoaded(Message):
    """The workload specs (bundled and the user's) and the problems found reading them."""

    specs: list[WorkloadSpec]
    problems: list[str]


@dataclass
class PreviewReady(Message):
    """A launch preview: the request body, the same as `ray job submit`, a note on the package."""

    body: str
    command: str
    note: str


@dataclass
class JobSubmitted(Message):
    """A job was submitted; `form` is the launch form it came from, if one is open."""

    job: Job
    form: Screen | None


@dataclass
class JobSubmitFailed(Message):
    """The cluster refused a job (or could not be reached); the form keeps its values."""

    error: str
    form: Screen | None


@dataclass
class JobDeleted(Message):
    job_id: str


@dataclass
class JobLogLines(Message):
    """New complete lines of a job's driver log, from its follower."""

    job_id: str
    lines: list[str]


@dataclass
class JobTailState(Message):
    job_id: str
    state: TailState


# -- Serve -----------------------------------------------------------------------------------------


@dataclass
class ServeAnswered(Message):
    """The answer to one request from the Serve pane's tester."""

    method: str
    url: str
    result: Result


@dataclass
class LoadTestDone(Message):
    """A load test ended: its result, or None and why it failed."""

    result: LoadResult | None
    error: str = ""


@dataclass
class ServeTrafficUpdated(Message):
    """One beat of the Serve applications' traffic from their proxies' metrics (by app name),
    and a line when some proxy could not be scraped."""

    traffic: dict[str, AppTraffic]
    note: str = ""


@dataclass
class ServeActionDone(Message):
    """What a Serve action (scale, delete, shut down) did, or why it was refused."""

    text: str
    error: bool = False
