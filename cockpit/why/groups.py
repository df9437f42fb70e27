"""Why a placement group is PENDING or RESCHEDULING (its bundles under its strategy against
the nodes, in all and free now), and why an actor or task inside one waits: for its group."""

from __future__ import annotations

from dataclasses import replace

from raycockpit.cockpit.models import PendingWork, PlacementGroup, Snapshot, Why
from raycockpit.cockpit.why.capacity import (
    EPS,
    NodeCap,
    amount_of,
    camel,
    holders_of,
    largest_on_node,
    node_lines,
    num_text,
    shape_text,
    short_of,
)
from raycockpit.cockpit.why.place import launching_text, waited_since, with_wait


def _group_fit(pg: PlacementGroup, caps: list[NodeCap], free: bool) -> tuple[bool, str]:
    """Whether the group's bundles fit the nodes (in all, or free now) under its strategy, and
    what falls short."""
    fits = (lambda c, s: c.fits_free(s)) if free else (lambda c, s: c.fits_total(s))
    strategy = pg.strategy or "PACK"
    if strategy == "STRICT_PACK":
        need: dict[str, float] = {}
        for bundle in pg.bundles:
            for r, v in bundle.items():
                need[r] = need.get(r, 0.0) + v
        ok = any(fits(c, need) for c in caps)
        short = "; ".join(short_of(need, caps, free))
        return ok, f"STRICT_PACK needs {shape_text(need)} on one node: {short}"
    if strategy == "STRICT_SPREAD":
        largest = max(pg.bundles, key=lambda b: sum(b.values()), default={})
        nodes = sum(1 for c in caps if fits(c, largest))
        ok = nodes >= len(pg.bundles)
        return ok, (
            f"STRICT_SPREAD needs {len(pg.bundles)} nodes with {shape_text(largest)}; "
            f"{nodes} {'have it free' if free else 'can hold it'}"
        )
    left = [dict(c.total) if not free else {r: c.free(r) for r in c.total} for c in caps]
    for i, bundle in enumerate(pg.bundles):
        for have in left:
            if all(amount_of(have, r) + EPS >= v for r, v in bundle.items()):
                for r, v in bundle.items():
                    key = r if r in have else camel(r)
                    have[key] = have.get(key, 0.0) - v
                break
        else:
            short = "; ".join(short_of(bundle, caps, free)) or "the other bundles took the room"
            return False, f"bundle {i} ({shape_text(bundle)}) fits no node: {short}"
    return True, ""


def explain_pg(pg: PlacementGroup, snap: Snapshot, caps: list[NodeCap], now: float) -> Why | None:
    if pg.state not in ("PENDING", "RESCHEDULING"):
        return None
    waited = waited_since(pg.created_ms, now)
    bundles = " + ".join(f"{{{shape_text(b)}}}" for b in pg.bundles)
    strategy = pg.strategy or "PACK (strategy not reported)"
    evidence = [f"bundles: {bundles}", f"strategy: {strategy}", *node_lines(caps, _sum(pg))]
    if pg.scheduling_state:
        evidence.append(f"Ray: scheduling state {pg.scheduling_state}")
    name = f"placement group {pg.name or pg.pg_id[:8]}"
    ok_total, short_total = _group_fit(pg, caps, free=False)
    launching = launching_text(snap)
    if not ok_total and launching:
        why = Why(
            "scale_up",
            f"{name} does not fit the nodes now ({short_total}); the autoscaler is launching "
            f"{launching}",
            "wait for the new nodes; if they never join, see the Autoscaler pane",
            (*evidence, f"autoscaler: launching {launching}"),
            short=f"scale-up: {launching} launching",
        )
        return with_wait(why, waited)
    if not ok_total:
        largest = ", ".join(
            f"{r} {num_text(r, largest_on_node(caps, r))}" for r in sorted(_sum(pg))
        )
        strict = pg.strategy == "STRICT_PACK"
        fix = (
            f"make it fit nodes of at most {largest}: smaller bundles"
            + (", or PACK/SPREAD instead of STRICT_PACK" if strict else "")
            + f", or add nodes with {shape_text(_sum(pg) if strict else _max(pg))}"
        )
        why = Why(
            "infeasible",
            f"{name} can never be placed: {short_total}",
            fix,
            tuple(evidence),
            short=f"infeasible: {short_total}",
        )
        return with_wait(why, waited)
    ok_free, short_free = _group_fit(pg, caps, free=True)
    if not ok_free:
        holders = holders_of(snap, PendingWork(), caps, _sum(pg))
        why = Why(
            "busy",
            f"{name} waits for busy resources: {short_free}",
            "wait for running work to finish, or remove what holds them"
            + (f" ({'; '.join(holders[:3])})" if holders else ""),
            (*evidence, *(f"held: {h}" for h in holders)),
            short=f"busy: {short_free}",
        )
        return with_wait(why, waited)
    why = Why(
        "starting",
        f"{name} fits the free resources: Ray is reserving its bundles",
        "wait a few seconds",
        tuple(evidence),
        short="starting: resources are free",
    )
    return with_wait(why, waited)


def _sum(pg: PlacementGroup) -> dict[str, float]:
    need: dict[str, float] = {}
    for bundle in pg.bundles:
        for r, v in bundle.items():
            need[r] = need.get(r, 0.0) + v
    return need


def _max(pg: PlacementGroup) -> dict[str, float]:
    return max(pg.bundles, key=lambda b: sum(b.values()), default={})


def in_group(
    what: str, pg_id: str, whys: dict[str, Why], groups: dict[str, PlacementGroup]
) -> Why | None:
    """A demand inside a placement group waits for its group when the group is pending."""
    pg = groups.get(pg_id)
    group_why = whys.get(f"pg:{pg_id}")
    if pg is None or group_why is None:
        return None
    return replace(
        group_why,
        reason=f"{what} waits for its placement group {pg.name or pg_id[:8]}: {group_why.reason}",
        short=f"placement group: {group_why.short}",
    )
