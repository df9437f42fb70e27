"""GPUs an actor reserved next to what its process does on them, and two alerts (ray #46213,
#31998, #45755: GPUs reserved by actors but idle).

Where the numbers come from (Ray 2.60): the actor list gives each actor's `required_resources`
(`GPU: 1`, `GPU: 0.5` ...), its node and its pid; each node's reporter lists, per GPU, the
processes on it (`gpus[].processesPids[]`: pid, `gpuMemoryUsage` MB, `gpuUtilization` %) in the
node summary. An actor's process is found by (node id, pid). No Ray call names the GPU an actor
was given: the GPUs its pid shows up on are the ones it uses.

- **idle**: an ALIVE actor with a GPU reserved whose process shows 0% utilisation (or is on none
  of its node's GPUs, when the node lists the processes of every GPU) in every observation for
  IDLE_AFTER_S (a minute). A GPU whose processes are not listed (`processesPids: null`, old
  drivers, containers without NVML) makes the use unknown: no alert.
- **over share**: an actor with a fractional GPU (0 < GPU < 1) whose process uses more memory on
  a GPU than that fraction of the GPU's total: it crowds the actors that share the GPU with it.

`GpuAlerts.observe` is given the time of each observation (the nodes' fetch time), so a test
feeds a minute of history in microseconds. No Textual here; the Actors pane shows the result.
"""

from __future__ import annotations

from collections.abc import Iterable

from raycockpit.cockpit.format import human_duration
from raycockpit.cockpit.models import Actor, ActorGpu, Gpu, GpuProcess, Node

IDLE_AFTER_S = 60.0
MAX_GAP_S = 30.0  # looks further apart than this start the idle minute over (the pane was hidden)

__all__ = ["ActorGpu", "GpuAlerts", "actor_gpu_use", "gpu_index", "over_share"]


Index = dict[tuple[str, int], list[tuple[Gpu, GpuProcess]]]


def gpu_index(nodes: Iterable[Node]) -> tuple[Index, set[str]]:
    """(node id, pid) -> the GPUs that pid is on; and the nodes whose every GPU lists its
    processes (there, a pid on no GPU is known not to use one)."""
    index: Index = {}
    known: set[str] = set()
    for node in nodes:
        if node.state != "ALIVE" or not node.gpus:
            continue
        listed = True
        for gpu in node.gpus:
            if gpu.procs is None:
                listed = False
                continue
            for proc in gpu.procs:
                index.setdefault((node.node_id, proc.pid), []).append((gpu, proc))
        if listed:
            known.add(node.node_id)
    return index, known


def actor_gpu_use(actor: Actor, index: Index, known: set[str]) -> ActorGpu | None:
    """What `actor`'s process does on its node's GPUs (no alerts yet); None for an actor with no
    GPU reserved, or not ALIVE with a pid."""
    reserved = actor.gpus
    if reserved <= 0 or actor.state != "ALIVE" or not actor.pid:
        return None
    found = index.get((actor.node_id, actor.pid), [])
    if not found:
        util = 0.0 if actor.node_id in known else None
        return ActorGpu(actor.actor_id, reserved, util, 0.0)
    utils = []
    for gpu, proc in found:
        if proc.utilization is not None:
            utils.append(proc.utilization)
        elif gpu.utilization is not None and gpu.procs is not None and len(gpu.procs) == 1:
            utils.append(gpu.utilization)  # the only process: the device's utilisation is its
    util = sum(utils) / len(utils) if len(utils) == len(found) else None
    return ActorGpu(
        actor.actor_id,
        reserved,
        util,
        sum(proc.memory_mb for _, proc in found),
        tuple(gpu.key for gpu, _ in found),
    )


def over_share(actor: Actor, index: Index) -> list[str]:
    """The alert lines of a fractional-GPU actor using more GPU memory than its share."""
    fraction = actor.gpus
    if not 0 < fraction < 1 or not actor.pid:
        return []
    out = []
    for gpu, proc in index.get((actor.node_id, actor.pid), []):
        share = fraction * gpu.memory_total_mb
        if gpu.memory_total_mb > 0 and proc.memory_mb > share:
            out.append(
                f"over share: {proc.memory_mb / 1024:.1f} > {share / 1024:.1f} GiB "
                f"({fraction:g} of GPU {gpu.index}'s {gpu.memory_total_mb / 1024:.1f} GiB)"
            )
    return out


class GpuAlerts:
    """Keeps, per actor, since when its reserved GPU has been seen idle, and says which actors
    alert. `observe` once per observation; the same `at` twice counts once. Not thread-safe."""

    def __init__(self, idle_after_s: float = IDLE_AFTER_S, max_gap_s: float = MAX_GAP_S) -> None:
        self.idle_after_s = idle_after_s
        self.max_gap_s = max_gap_s
        self._idle_since: dict[str, float] = {}
        self._last: dict[str, ActorGpu] = {}
        self._last_at: float | None = None

    def clear(self) -> None:
        self._idle_since.clear()
        self._last = {}
        self._last_at = None

    def observe(
        self, actors: Iterable[Actor], nodes: Iterable[Node], at: float
    ) -> dict[str, ActorGpu]:
        """actor id -> its GPU use and alerts, for each actor with a GPU reserved."""
        if self._last_at is not None and abs(at - self._last_at) > self.max_gap_s:
            self._idle_since.clear()  # not looked at in between: no claim about that time
        self._last_at = at
        index, known = gpu_index(nodes)
        out: dict[str, ActorGpu] = {}
        idle_since: dict[str, float] = {}
        for actor in actors:
            use = actor_gpu_use(actor, index, known)
            if use is None:
                continue
            alerts = over_share(actor, index)
            idle_for = None
            if use.utilization is not None and use.utilization <= 0:
                since = self._idle_since.get(actor.actor_id, at)
                idle_since[actor.actor_id] = since
                idle_for = max(0.0, at - since)
                if idle_for >= self.idle_after_s:
                    where = "at 0%" if use.on_gpu else "on no GPU"
                    alerts.insert(
                        0,
                        f"idle {human_duration(idle_for)}, {use.reserved:g} GPU: process {where}",
                    )
            out[actor.actor_id] = ActorGpu(
                use.actor_id,
                use.reserved,
                use.utilization,
                use.memory_mb,
                use.gpus,
                idle_for,
                tuple(alerts),
            )
        self._idle_since = idle_since  # actors gone, or busy again, start over
        self._last = out
        return out

    @property
    def last(self) -> dict[str, ActorGpu]:
        return self._last
