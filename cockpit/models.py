"""Typed, immutable value objects of what the cockpit shows. Built by parse.py, read by screens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A job in one of these states never changes again (Ray's JobStatus.is_terminal). The one
# definition: Job.terminal, the log follower (tail.is_terminal) and the tests use it.
TERMINAL_JOB_STATES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


@dataclass(frozen=True, slots=True)
class Usage:
    """A used/total pair of one resource (logical, or physical bytes)."""

    name: str
    used: float
    total: float

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else max(0.0, min(1.0, self.used / self.total))


@dataclass(frozen=True, slots=True)
class GpuProcess:
    """One process on a GPU, as the node's reporter lists it (`processesPids`)."""

    pid: int
    memory_mb: float = 0.0
    utilization: float | None = None  # percent; None when the driver does not say


@dataclass(frozen=True, slots=True)
class Gpu:
    node_id: str
    node_host: str
    index: int
    name: str
    uuid: str = ""
    utilization: float | None = None  # percent; None when not reported (-1 / null)
    memory_used_mb: float = 0.0
    memory_total_mb: float = 0.0
    temperature_c: float | None = None
    power_w: float | None = None
    processes: int = 0
    # the processes on it, by pid; None when the reporter did not list them (unknown, not none)
    procs: tuple[GpuProcess, ...] | None = ()

    @property
    def key(self) -> str:
        return f"{self.node_id}:{self.index}"

    @property
    def memory_fraction(self) -> float:
        return 0.0 if self.memory_total_mb <= 0 else self.memory_used_mb / self.memory_total_mb


@dataclass(frozen=True, slots=True)
class Node:
    node_id: str
    hostname: str
    ip: str
    is_head: bool
    state: str  # ALIVE | DEAD
    activity: str = ""  # ACTIVE | IDLE | DRAINING (stateSnapshot), "" when unknown
    node_type: str = ""
    state_message: str = ""
    cpu_percent: float | None = None
    cpus_physical: int | None = None
    cpu_logical: Usage | None = None  # Ray's logical CPUs in use / total
    gpu_logical: Usage | None = None  # Ray's logical GPUs reserved / total
    memory: Usage | None = None  # bytes
    object_store: Usage | None = None  # bytes
    disk: Usage | None = None  # bytes, root mount
    load_avg: tuple[float, ...] = ()
    gpus: tuple[Gpu, ...] = ()
    resources_total: dict[str, float] = field(default_factory=dict)
    logical_text: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    start_time_ms: int | None = None
    metrics_port: int | None = None  # raylet.metricsExportPort: the node's Prometheus text

    @property
    def name(self) -> str:
        return self.hostname or self.ip or self.node_id[:8]


@dataclass(frozen=True, slots=True)
class PendingNode:
    what: str  # ip or instance, or node type
    node_type: str
    status: str


@dataclass(frozen=True, slots=True)
class AutoscalerStatus:
    available: bool = False  # False until the autoscaler has reported once
    active: tuple[tuple[str, int], ...] = ()  # (node type, count)
    idle: tuple[tuple[str, int], ...] = ()
    pending: tuple[PendingNode, ...] = ()
    failures: tuple[str, ...] = ()
    usage: tuple[Usage, ...] = ()
    demands: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()
    timestamp: str = ""
    raw_text: str = ""
    error: str = ""  # the autoscaler's own error message, if any

    @property
    def pending_count(self) -> int:
        return len(self.pending)

    @property
    def active_count(self) -> int:
        return sum(n for _, n in self.active)

    @property
    def idle_count(self) -> int:
        return sum(n for _, n in self.idle)

    def usage_of(self, name: str) -> Usage | None:
        for usage in self.usage:
            if usage.name == name:
                return usage
        return None


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One line of the autoscaler's decision feed (cockpit/autoscaler_feed.py)."""

    at: float  # unix s (the head's clock, brought to this machine's)
    kind: str  # "node launched", "demand appeared" ... (autoscaler_feed's kinds)
    text: str
    source: str = "report"  # "report": two reports diffed; "ray": Ray's cluster event
    key: str = ""  # unique within the feed
    count: int = 1  # a repeated line (an infeasible demand, every 30 s) counted on one row
    last_at: float | None = None  # when it was last repeated


@dataclass(frozen=True, slots=True)
class Job:
    submission_id: str
    job_id: str
    type: str
    status: str
    entrypoint: str
    message: str = ""
    error_type: str = ""
    start_time_ms: int | None = None
    end_time_ms: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    runtime_env: dict[str, Any] = field(default_factory=dict)
    driver_exit_code: int | None = None
    driver_node_id: str = ""

    @property
    def key(self) -> str:
        return self.submission_id or self.job_id

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_JOB_STATES

    def duration_s(self, now_ms: float) -> float | None:
        if not self.start_time_ms:
            return None
        end = self.end_time_ms or now_ms
        return max(0.0, (end - self.start_time_ms) / 1000)


@dataclass(frozen=True, slots=True)
class ServeReplica:
    replica_id: str
    state: str
    pid: int | None = None
    node_ip: str = ""
    start_time_s: float | None = None


@dataclass(frozen=True, slots=True)
class ServeDeployment:
    name: str
    status: str
    message: str = ""
    target_replicas: int | None = None
    replicas: tuple[ServeReplica, ...] = ()
    resources: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServeApp:
    name: str
    status: str
    route_prefix: str = ""
    message: str = ""
    deployments: tuple[ServeDeployment, ...] = ()
    last_deployed_s: float | None = None


@dataclass(frozen=True, slots=True)
class ServeStatus:
    running: bool = False  # a controller exists
    http_host: str = ""
    http_port: int | None = None
    apps: tuple[ServeApp, ...] = ()
    proxies: tuple[tuple[str, str], ...] = ()  # (node ip/id, status)


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    address: str
    ray_version: str = ""
    session_name: str = ""
    auth_mode: str = ""
    # a new session_name behind the same address (the cluster was restarted): how many times the
    # poller saw one, and when (unix s) it last did; the UI drops what it kept of the old session
    session_changes: int = 0
    session_changed_at: float | None = None


@dataclass(frozen=True, slots=True)
class Why:
    """Why something waits (or why its setup failed): one reason, one fix, the facts behind them.

    `category`: infeasible | scale_up | busy | placement_group | runtime_env | runtime_env_failed
    | starting | scheduling | failed. `short` is the row's text; `waited_s` how long it has
    waited (None when Ray does not say)."""

    category: str
    reason: str
    fix: str
    evidence: tuple[str, ...] = ()
    short: str = ""
    waited_s: float | None = None


@dataclass(frozen=True, slots=True)
class PendingActor:
    """An actor in PENDING_CREATION (state API, detail=true)."""

    actor_id: str
    class_name: str
    name: str = ""
    job_id: str = ""
    resources: dict[str, float] = field(default_factory=dict)  # required_resources
    placement_group_id: str = ""
    created_ms: float | None = None  # its creation task's creation time, when listed


@dataclass(frozen=True, slots=True)
class PendingTask:
    """A task in PENDING_NODE_ASSIGNMENT (state API, detail=true): it waits for a node."""

    task_id: str
    name: str
    job_id: str = ""
    type: str = ""  # NORMAL_TASK | ACTOR_CREATION_TASK | ...
    actor_id: str = ""
    resources: dict[str, float] = field(default_factory=dict)
    placement_group_id: str = ""
    created_ms: float | None = None


@dataclass(frozen=True, slots=True)
class PlacementGroup:
    """A placement group not removed (state API, detail=true); `bundle_nodes[i]` is where bundle
    i is reserved ("" while pending)."""

    pg_id: str
    state: str  # PENDING | CREATED | RESCHEDULING
    name: str = ""
    job_id: str = ""
    bundles: tuple[dict[str, float], ...] = ()
    bundle_nodes: tuple[str, ...] = ()
    strategy: str = ""  # from the autoscaler's pgDemand ("" when it does not list the group)
    scheduling_state: str = ""  # Ray's own verdict, e.g. INFEASIBLE
    created_ms: float | None = None


@dataclass(frozen=True, slots=True)
class PendingWork:
    """What waits to be placed, and what the answers need beside the snapshot: per node used and
    total logical resources (`usage_by_node`: node id -> {resource: (used, total)}), the
    resources of running jobs' entrypoints (submission id -> resources), and the runtime_env
    setup error lines read from the head's setup logs. `why` maps "job:<id>", "actor:<id>",
    "task:<id>", "pg:<id>" and "serve:<app>/<deployment>" to their explanation."""

    fetched: bool = False
    actors: tuple[PendingActor, ...] = ()
    tasks: tuple[PendingTask, ...] = ()
    placement_groups: tuple[PlacementGroup, ...] = ()
    usage_by_node: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    running_jobs: dict[str, dict[str, float]] = field(default_factory=dict)
    setup_errors: tuple[str, ...] = ()  # "ERROR: ..." lines of the runtime_env setup logs
    cut: bool = False  # a list reached its limit: more waits than listed
    why: dict[str, Why] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Actor:
    """One row of the state API's actor list (`/api/v0/actors?detail=true`)."""

    actor_id: str
    class_name: str
    state: str  # DEPENDENCIES_UNREADY | PENDING_CREATION | ALIVE | RESTARTING | DEAD
    job_id: str = ""
    name: str = ""
    node_id: str = ""
    pid: int | None = None
    resources: dict[str, float] = field(default_factory=dict)  # required_resources
    restarts: int = 0
    death_cause: str = ""  # one line, "" while alive
    repr_name: str = ""

    @property
    def gpus(self) -> float:
        return self.resources.get("GPU", 0.0)


@dataclass(frozen=True, slots=True)
class StateGroup:
    """A summary row: the actors of one class or the tasks of one function, counted by state."""

    name: str
    kind: str  # "actor", or the task type (NORMAL_TASK, ACTOR_TASK, ACTOR_CREATION_TASK ...)
    states: tuple[tuple[str, int], ...] = ()

    @property
    def total(self) -> int:
        return sum(n for _, n in self.states)


@dataclass(frozen=True, slots=True)
class ActorGpu:
    """What an actor's process does on the GPUs of its node (cockpit/gpu_alerts.py)."""

    actor_id: str
    reserved: float  # GPUs reserved (Ray's logical GPU)
    utilization: float | None  # percent, mean over the GPUs its process is on; None: unknown
    memory_mb: float  # GPU memory of its process, summed over its GPUs
    gpus: tuple[str, ...] = ()  # the GPUs (node:index) its process is on
    idle_for_s: float | None = None  # how long it has been seen idle; None: not idle
    alerts: tuple[str, ...] = ()

    @property
    def on_gpu(self) -> bool:
        return bool(self.gpus)


@dataclass(frozen=True, slots=True)
class ActorsStatus:
    """The Actors pane's data: a bounded list of actors (live ones first) and the summaries.

    `listed` actors of `total` are in `actors` (`listed < total`: the list was cut at the limit;
    the summaries still count every actor); `tasks_total` counts the tasks Ray still keeps."""

    fetched: bool = False
    actors: tuple[Actor, ...] = ()
    listed: int = 0
    total: int = 0
    classes: tuple[StateGroup, ...] = ()
    tasks: tuple[StateGroup, ...] = ()
    tasks_total: int = 0
    tasks_at: float | None = None  # unix s of the task summary shown (fetched on a slower beat)
    warnings: tuple[str, ...] = ()
    gpu: dict[str, ActorGpu] = field(default_factory=dict)  # actor id -> GPU use, GPU alerts

    @property
    def cut(self) -> bool:
        return self.listed < self.total


SECTIONS = ("nodes", "autoscaler", "jobs", "serve", "actors", "pending")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one poll knows. A section that failed keeps its last value; errors say why."""

    info: ClusterInfo
    fetched_at: float = 0.0  # unix seconds of this snapshot
    nodes: tuple[Node, ...] = ()
    autoscaler: AutoscalerStatus = field(default_factory=AutoscalerStatus)
    jobs: tuple[Job, ...] = ()
    serve: ServeStatus = field(default_factory=ServeStatus)
    actors: ActorsStatus = field(default_factory=ActorsStatus)
    pending: PendingWork = field(default_factory=PendingWork)
    updated_at: dict[str, float] = field(default_factory=dict)  # section -> unix s of last success
    errors: dict[str, str] = field(default_factory=dict)  # section -> one-line error
    connected: bool = False
    connection_error: str = ""
    history: dict[str, tuple[float, ...]] = field(
        default_factory=dict
    )  # series key -> recent values
    # the autoscaler's decisions, newest first (the Poller's AutoscalerFeed, kept across polls)
    autoscaler_feed: tuple[FeedEvent, ...] = ()

    @property
    def gpus(self) -> tuple[Gpu, ...]:
        return tuple(g for n in self.nodes for g in n.gpus)

    def age(self, section: str, now: float) -> float | None:
        at = self.updated_at.get(section)
        return None if at is None else max(0.0, now - at)

    def stale(self, section: str) -> bool:
        return section in self.errors

    @property
    def alive_nodes(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.state == "ALIVE")

    def totals(self) -> dict[str, Usage]:
        """Cluster-wide CPU, GPU, memory and object store (logical, from the autoscaler when
        known)."""
        out: dict[str, Usage] = {}
        for usage in self.autoscaler.usage:
            out[usage.name] = usage
        alive = self.alive_nodes

        def summed(name: str, pick) -> None:
            parts = [pick(n) for n in alive if pick(n) is not None]
            if parts and name not in out:
                out[name] = Usage(name, sum(p.used for p in parts), sum(p.total for p in parts))

        summed("CPU", lambda n: n.cpu_logical)
        summed("GPU", lambda n: n.gpu_logical)
        summed("host_memory", lambda n: n.memory)
        summed("object_store_memory", lambda n: n.object_store)
        return out
