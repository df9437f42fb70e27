"""One demand's shape (resources on one node) against the cluster: infeasible, waiting for
scale-up, waiting for busy resources, or starting; with the autoscaler's part in it (nodes it
launches, its own infeasible verdicts in the feed) and how long the demand has waited."""

from __future__ import annotations

import re
from dataclasses import replace

from raycockpit.cockpit.format import human_duration
from raycockpit.cockpit.models import PendingWork, Snapshot, Why
from raycockpit.cockpit.why.capacity import (
    NodeCap,
    holders_of,
    largest_on_node,
    lower_ask,
    node_lines,
    num_text,
    shape_text,
    short_of,
)


def launching_text(snap: Snapshot) -> str:
    pending = snap.autoscaler.pending
    if not pending:
        return ""
    counts: dict[str, int] = {}
    for p in pending:
        counts[p.node_type or "node"] = counts.get(p.node_type or "node", 0) + 1
    return ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))


_FEED_SHAPE = re.compile(r"\{[^{}]*\}")
AUTOSCALED = frozenset({"node launched", "node up", "node idle-terminated"})


def _feed_shape(text: str) -> dict[str, float] | None:
    """The resource dict of an autoscaler feed line ("... {'CPU': 4.0} ..."), else None."""
    match = _FEED_SHAPE.search(text)
    if match is None:
        return None
    out = {}
    for key, value in re.findall(r"'([^']+)':\s*([0-9.eE+-]+)", match[0]):
        try:
            out[key] = float(value)
        except ValueError:
            return None
    return out or None


def _ray_infeasible(snap: Snapshot, shape: dict[str, float]) -> str:
    """The autoscaler feed's "no node type can fulfill <shape>" for this shape, else ""."""
    for event in snap.autoscaler_feed:
        if event.kind == "demand infeasible" and _feed_shape(event.text) == shape:
            return event.text
    return ""


def _autoscales(snap: Snapshot) -> bool:
    """The autoscaler has launched or removed nodes in this session (the feed says so): a
    shape no alive node holds may still get one."""
    return any(event.kind in AUTOSCALED for event in snap.autoscaler_feed)


def waited_since(since_ms: float | None, now: float) -> float | None:
    if not since_ms:
        return None
    return max(0.0, now - since_ms / 1000)


def with_wait(why: Why, waited: float | None) -> Why:
    evidence = why.evidence
    if waited is not None:
        evidence = (*evidence, f"waiting for {human_duration(waited)}")
    return replace(why, waited_s=waited, evidence=evidence)


# -- one shape against the cluster -----------------------------------------------------------


def place(
    what: str,
    shape: dict[str, float],
    snap: Snapshot,
    work: PendingWork,
    caps: list[NodeCap],
    ask: str = "",
) -> Why:
    """Why a demand of `shape` (resources on ONE node) is not placed. `what` names it in the
    texts ('the job's entrypoint', 'actor Trainer'); `ask` how to ask for less (an option
    name), when there is one."""
    evidence = [f"demand: {shape_text(shape)}", *node_lines(caps, shape)]
    failures = list(snap.autoscaler.failures)
    if not any(c.fits_total(shape) for c in caps):
        short = short_of(shape, caps, free=False)
        launching = launching_text(snap)
        if launching:
            return Why(
                "scale_up",
                f"{what} needs {shape_text(shape)}: no node has it; the autoscaler is "
                f"launching {launching}",
                f"wait for the new node; if it never joins, see the Autoscaler pane "
                f"(no node now has {'; '.join(short)})",
                (*evidence, f"autoscaler: launching {launching}"),
                short=f"scale-up: {launching} launching",
            )
        verdict = _ray_infeasible(snap, shape)
        if verdict:
            evidence.append(f"autoscaler: {verdict} (Ray's own verdict)")
        elif _autoscales(snap):
            return Why(
                "scale_up",
                f"{what} needs {shape_text(shape)}: no alive node has it; this cluster "
                "autoscales and its autoscaler has not called it infeasible: it waits for a node",
                "wait for the autoscaler to launch a node; if the Autoscaler pane says no node "
                f"type can fulfill it, {lower_ask(shape, caps)} or add a node type with "
                f"{shape_text(shape)}",
                (*evidence, "autoscaler: has launched nodes in this session"),
                short="scale-up: waits for the autoscaler",
            )
        lower = lower_ask(shape, caps) + (f" ({ask})" if ask else "")
        return Why(
            "infeasible",
            f"{what} needs {shape_text(shape)}; no node can ever hold it: " + "; ".join(short),
            f"{lower}, or add a node with {shape_text(shape)} "
            "(a worker type in the cluster config the autoscaler can launch)",
            (*evidence, *(f"autoscaler failure: {f}" for f in failures[:3])),
            short="infeasible: " + "; ".join(short),
        )
    if not any(c.fits_free(shape) for c in caps):
        launching = launching_text(snap)
        holders = holders_of(snap, work, caps, shape)
        short = short_of(shape, caps, free=True)
        evidence += [f"held: {h}" for h in holders]
        if launching:
            return Why(
                "scale_up",
                f"{what} needs {shape_text(shape)}: busy now; the autoscaler is launching "
                f"{launching}",
                "wait for the new node, or free resources: " + ("; ".join(holders) or "-"),
                (*evidence, f"autoscaler: launching {launching}"),
                short=f"scale-up: {launching} launching",
            )
        free_now = ", ".join(
            f"{r} {num_text(r, largest_on_node(caps, r, True))}" for r in sorted(shape)
        )
        fix = f"wait until {shape_text(shape)} is free on one node (now at most {free_now})"
        if holders:
            fix += f"; or stop what holds it ({'; '.join(holders[:3])})"
        if ask:
            fix += f"; or lower {ask}"
        return Why(
            "busy",
            f"{what} waits for busy resources: it needs {shape_text(shape)} on one node, "
            "and no node has that free now: " + "; ".join(short),
            fix,
            tuple(evidence),
            short="busy: " + "; ".join(short),
        )
    return Why(
        "starting",
        f"{what} fits ({shape_text(shape)} is free on a node): Ray is placing it or starting "
        "its worker process",
        "wait a few seconds; if it stays, look at the raylet log of the node",
        tuple(evidence),
        short="starting: resources are free",
    )
