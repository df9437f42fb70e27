"""What each alive node has and what a demand's shape asks of it: logical resources in total,
used (placement-group reservations included) and free, as numbers and as the texts the
explanations quote ('CPU 64 (largest node: 2)', 'node n1: CPU 0 free of 2')."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from raycockpit.cockpit.format import human_bytes, is_bytes
from raycockpit.cockpit.models import PendingWork, Snapshot
from raycockpit.cockpit.parse import parse_usage_block

EPS = 1e-9


def camel(name: str) -> str:
    """The dashboard's camelCase of a resource name (`to_google_style`): custom_thing ->
    customThing, object_store_memory -> objectStoreMemory."""
    parts = name.split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def amount_of(resources: dict[str, float], name: str) -> float:
    if name in resources:
        return resources[name]
    return resources.get(camel(name), 0.0)


def amount_text(name: str, value: float) -> str:
    if is_bytes(name):
        return f"{name} {human_bytes(value)}"
    return f"{name} {value:g}"


def shape_text(shape: dict[str, float]) -> str:
    return ", ".join(amount_text(k, v) for k, v in sorted(shape.items())) or "no resources"


@dataclass(frozen=True)
class NodeCap:
    """One alive node's logical resources: total, used (reservations included) and, of the
    used, what placement groups reserve (group id -> resources)."""

    node_id: str
    name: str
    total: dict[str, float]
    used: dict[str, float]
    reserved: dict[str, dict[str, float]] = field(default_factory=dict)

    def free(self, name: str) -> float:
        return max(0.0, amount_of(self.total, name) - amount_of(self.used, name))

    def fits_total(self, shape: dict[str, float]) -> bool:
        return all(amount_of(self.total, r) + EPS >= v for r, v in shape.items())

    def fits_free(self, shape: dict[str, float]) -> bool:
        return all(self.free(r) + EPS >= v for r, v in shape.items())

    def copies(self, shape: dict[str, float], free: bool) -> int:
        """How many of `shape` this node holds (free now, or in all)."""
        counts = []
        for r, v in shape.items():
            have = self.free(r) if free else amount_of(self.total, r)
            counts.append(math.floor((have + EPS) / v) if v > 0 else 10**9)
        return min(counts) if counts else 0


def capacities(snap: Snapshot, work: PendingWork) -> list[NodeCap]:
    """Each alive node's resources: the autoscaler's per-node usage when it reports one, else
    the node's own logical text, else its totals (and, on a one-node cluster, the autoscaler's
    cluster-wide usage as its used)."""
    alive = snap.alive_nodes
    caps = []
    for node in alive:
        usage = work.usage_by_node.get(node.node_id)
        if usage:
            total = {k: t for k, (_, t) in usage.items()}
            used = {k: u for k, (u, _) in usage.items()}
        else:
            logical = parse_usage_block(node.logical_text)
            total = {k: u.total for k, u in logical.items()} or dict(node.resources_total)
            used = {k: u.used for k, u in logical.items()}
            if not logical and len(alive) == 1:
                used = {u.name: u.used for u in snap.autoscaler.usage}
        caps.append(NodeCap(node.node_id, node.name, total, used, {}))
    by_id = {c.node_id: c for c in caps}
    for pg in work.placement_groups:
        if pg.state != "CREATED":
            continue
        for bundle, node_id in zip(pg.bundles, pg.bundle_nodes, strict=False):
            cap = by_id.get(node_id)
            if cap is None:
                continue
            held = cap.reserved.setdefault(pg.pg_id, {})
            for r, v in bundle.items():
                held[r] = held.get(r, 0.0) + v
    return caps


def largest_on_node(caps: list[NodeCap], name: str, free: bool = False) -> float:
    values = [c.free(name) if free else amount_of(c.total, name) for c in caps]
    return max(values, default=0.0)


def short_of(shape: dict[str, float], caps: list[NodeCap], free: bool) -> list[str]:
    """The resources of `shape` no single node has enough of: 'CPU 64 (largest node: 2)'."""
    out = []
    for r, v in sorted(shape.items()):
        best = largest_on_node(caps, r, free)
        if best + EPS < v:
            what = "most free on a node" if free else "largest node"
            out.append(f"{amount_text(r, v)} ({what}: {num_text(r, best)})")
    return out


def lower_ask(shape: dict[str, float], caps: list[NodeCap]) -> str:
    """How to ask for what the nodes have: 'ask for at most CPU 2', 'do not ask for GPU (no
    node has any)'."""
    parts = []
    for r, v in sorted(shape.items()):
        best = largest_on_node(caps, r)
        if best + EPS >= v:
            continue
        parts.append(
            f"ask for at most {num_text(r, best)} {r}"
            if best > 0
            else f"drop {r} (no node has any)"
        )
    return ", ".join(parts) or "ask for less"


def num_text(name: str, value: float) -> str:
    return human_bytes(value) if is_bytes(name) else f"{value:g}"


def node_lines(caps: list[NodeCap], shape: dict[str, float]) -> list[str]:
    """One line per node (the first 5) with the resources the shape asks for: free of total."""
    lines = []
    for cap in caps[:5]:
        parts = [
            f"{r} {num_text(r, cap.free(r))} free of {num_text(r, amount_of(cap.total, r))}"
            for r in sorted(shape) or ["CPU"]
        ]
        lines.append(f"node {cap.name}: " + ", ".join(parts))
    if len(caps) > 5:
        lines.append(f"... and {len(caps) - 5} more nodes")
    return lines


def holders_of(snap: Snapshot, work: PendingWork, caps: list[NodeCap], shape: dict[str, float]):
    """Who holds the resources the shape needs: running jobs' entrypoints and placement-group
    reservations, as text ('job busy1 holds CPU 2')."""
    out = []
    running = {j.key for j in snap.jobs if j.status == "RUNNING"}
    for sid, held in sorted(work.running_jobs.items()):
        common = {r: v for r, v in held.items() if r in shape}
        if sid in running and common:
            out.append(f"job {sid} holds {shape_text(common)}")
    for cap in caps:
        for pg_id, held in sorted(cap.reserved.items()):
            common = {r: v for r, v in held.items() if r in shape}
            if common:
                out.append(
                    f"placement group {pg_id[:8]} reserves {shape_text(common)} on {cap.name}"
                )
    return out
