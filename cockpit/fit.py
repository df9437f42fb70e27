"""What a launch asks of the cluster, and whether it fits: the entrypoint's CPUs, GPUs and
memory and the workload's parameters (workers x CPUs per worker, GPUs, trials at a time ...)
against the nodes of the latest snapshot (each node, all of them, what is free now), and whether
an autoscaler with node types could add more. The form's checks before submit (preflight.py)
warn with these numbers; the Launch pane's preview (launch_preview.py) says what a preset asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from raycockpit.cockpit.format import human_bytes
from raycockpit.cockpit.models import Snapshot


@dataclass(frozen=True)
class Finding:
    level: str  # "warn" (shown, submit allowed) | "refuse" (not sent)
    text: str


@dataclass(frozen=True)
class NodeShape:
    cpus: float
    gpus: float
    memory: float  # bytes of Ray's logical memory
    free_cpus: float
    free_gpus: float


@dataclass(frozen=True)
class Capacity:
    """What the cluster has (alive nodes) and whether it could scale (autoscaler node types)."""

    nodes: tuple[NodeShape, ...] = ()
    node_types: tuple[str, ...] = ()  # the autoscaler's named node types seen (may add nodes)
    known: bool = False  # False before the first snapshot with nodes

    @classmethod
    def from_snapshot(cls, snap: Snapshot | None) -> Capacity:
        if snap is None:
            return cls()
        shapes = []
        for node in snap.alive_nodes:
            res = node.resources_total
            cpus = float(res.get("CPU", node.cpu_logical.total if node.cpu_logical else 0) or 0)
            gpus = float(res.get("GPU", node.gpu_logical.total if node.gpu_logical else 0) or 0)
            used_cpu = node.cpu_logical.used if node.cpu_logical else 0.0
            used_gpu = node.gpu_logical.used if node.gpu_logical else 0.0
            shapes.append(
                NodeShape(
                    cpus=cpus,
                    gpus=gpus,
                    memory=float(res.get("memory", 0) or 0),
                    free_cpus=max(0.0, cpus - used_cpu),
                    free_gpus=max(0.0, gpus - used_gpu),
                )
            )
        scaler = snap.autoscaler
        names = [name for name, _ in (*scaler.active, *scaler.idle)]
        names += [p.node_type for p in scaler.pending]
        # without a cluster config Ray names each node `node_<id>`: no types to scale by
        types = tuple(sorted({n for n in names if n and not n.startswith("node_")}))
        return cls(tuple(shapes), types, bool(shapes))

    @property
    def cpus(self) -> float:
        return sum(n.cpus for n in self.nodes)

    @property
    def gpus(self) -> float:
        return sum(n.gpus for n in self.nodes)

    @property
    def free_cpus(self) -> float:
        return sum(n.free_cpus for n in self.nodes)

    @property
    def free_gpus(self) -> float:
        return sum(n.free_gpus for n in self.nodes)

    def biggest(self, what: str) -> float:
        return max((getattr(n, what) for n in self.nodes), default=0.0)

    def scale_note(self) -> str:
        if self.node_types:
            return (
                f"; the autoscaler may add nodes of type {', '.join(self.node_types)} "
                "(their limits are not reported by the dashboard)"
            )
        return " and cannot scale (no autoscaler node types)"


@dataclass(frozen=True)
class Group:
    """Workload parameters that ask for a number of units with resources each."""

    label: str  # "workers"
    count: str | None  # the param with the number of units (None: one unit at a time)
    cpus: str | None  # the param with CPUs per unit
    gpus: str | None  # the param with GPUs per unit
    together: bool  # all units at once (a gang), or queued (tasks, trials)


GROUPS = (
    Group("workers", "num_workers", "cpus_per_worker", "gpus_per_worker", True),
    Group("replicas", "num_replicas", "cpus_per_replica", "gpus_per_replica", True),
    Group("env runners", "num_env_runners", "cpus_per_env_runner", None, True),
    Group("learners", "num_learners", None, "gpus_per_learner", True),
    Group("trials", "max_concurrent_trials", "cpus_per_trial", "gpus_per_trial", False),
    Group("tasks", None, "cpus_per_task", None, False),
)


def _num(values: dict[str, str], name: str | None) -> float | None:
    if name is None or name not in values:
        return None
    try:
        return float(values[name])
    except (TypeError, ValueError):
        return None


def _n(x: float) -> str:
    return f"{x:g}"


def _uses_gpu(values: dict[str, str], capacity: Capacity) -> bool:
    choice = str(values.get("use_gpu", "true")).lower()
    if choice == "auto":
        return capacity.gpus > 0
    return choice == "true"


def check_resources(
    values: dict[str, str],
    *,
    entrypoint_cpus: float | None,
    entrypoint_gpus: float | None,
    entrypoint_memory: int | None,
    capacity: Capacity,
) -> list[Finding]:
    """Warnings naming the numbers when what the launch asks for exceeds one node, the whole
    cluster, or what is free now. Nothing when the cluster is not known yet."""
    if not capacity.known:
        return []
    findings: list[Finding] = []
    scale = capacity.scale_note()
    driver_cpus = entrypoint_cpus or 0.0
    driver_gpus = entrypoint_gpus or 0.0
    for amount, what, resource in (
        (entrypoint_cpus, "CPU", "cpus"),
        (entrypoint_gpus, "GPU", "gpus"),
    ):
        biggest = capacity.biggest(resource)
        if amount and amount > biggest:
            findings.append(
                Finding(
                    "warn",
                    f"the entrypoint asks {_n(amount)} {what}; the largest node has "
                    f"{_n(biggest)} {what}{scale}",
                )
            )
    biggest_memory = capacity.biggest("memory")
    if entrypoint_memory and biggest_memory and entrypoint_memory > biggest_memory:
        findings.append(
            Finding(
                "warn",
                f"the entrypoint asks {human_bytes(entrypoint_memory)} of memory; the largest "
                f"node has {human_bytes(biggest_memory)}{scale}",
            )
        )
    gpus_used = _uses_gpu(values, capacity)
    total_cpus, total_gpus, parts_cpu, parts_gpu = driver_cpus, driver_gpus, [], []
    for group in GROUPS:
        count = _num(values, group.count) if group.count else 1.0
        cpus = _num(values, group.cpus) or 0.0
        gpus = (_num(values, group.gpus) or 0.0) if gpus_used else 0.0
        if count is None or count <= 0 or (cpus <= 0 and gpus <= 0):
            continue
        unit = group.label.rstrip("s")
        for per, what, resource in ((cpus, "CPU", "cpus"), (gpus, "GPU", "gpus")):
            biggest = capacity.biggest(resource)
            if per > biggest:
                findings.append(
                    Finding(
                        "warn",
                        f"each {unit} asks {_n(per)} {what}; the largest node has "
                        f"{_n(biggest)} {what}{scale}",
                    )
                )
        if group.together:
            if cpus:
                total_cpus += count * cpus
                parts_cpu.append(f"{_n(count)} {group.label} x {_n(cpus)} CPU")
            if gpus:
                total_gpus += count * gpus
                parts_gpu.append(f"{_n(count)} {group.label} x {_n(gpus)} GPU")
    for parts, total, have, free, what, driver in (
        (parts_cpu, total_cpus, capacity.cpus, capacity.free_cpus, "CPU", driver_cpus),
        (parts_gpu, total_gpus, capacity.gpus, capacity.free_gpus, "GPU", driver_gpus),
    ):
        if not parts:
            continue
        asks = " + ".join(parts)
        if driver:
            asks += f" + {_n(driver)} {what} for the entrypoint"
        asks += f" = {_n(total)} {what}"
        if total > have:
            findings.append(
                Finding("warn", f"asks {asks}; the cluster has {_n(have)} {what}{scale}")
            )
        elif total > free:
            findings.append(
                Finding(
                    "warn",
                    f"asks {asks}; the cluster has {_n(have)} {what}, {_n(free)} free now: "
                    "it waits until enough is free",
                )
            )
    return findings


def _units(count: float, group: Group) -> str:
    return f"{_n(count)} {group.label if count != 1 else group.label.rstrip('s')}"


def asks(values: dict[str, str], capacity: Capacity) -> list[str]:
    """What a workload's parameters ask of the cluster, a phrase per group of units it starts,
    e.g. `1 worker x 1 CPU at once`, `trials of 1 CPU each, as many at a time as fit`."""
    gpus_used = _uses_gpu(values, capacity)
    phrases = []
    for group in GROUPS:
        count = _num(values, group.count) if group.count else None
        cpus = _num(values, group.cpus) or 0.0
        gpus = (_num(values, group.gpus) or 0.0) if gpus_used else 0.0
        if (cpus <= 0 and gpus <= 0) or (group.count and count is None):
            continue
        size = " + ".join(
            f"{_n(amount)} {what}" for amount, what in ((cpus, "CPU"), (gpus, "GPU")) if amount
        )
        if group.together:
            if count and count > 0:
                phrases.append(f"{_units(count, group)} x {size} at once")
        elif count and count > 0:
            phrases.append(f"{group.label} of {size} each, {_n(count)} at a time")
        else:
            phrases.append(f"{group.label} of {size} each, as many at a time as fit")
    return phrases
