"""Why a Serve deployment is not HEALTHY: replicas waiting for room (infeasible, scale-up,
busy), starting, or failing their constructor or health check."""

from __future__ import annotations

from raycockpit.cockpit.models import PendingWork, ServeApp, ServeDeployment, Snapshot, Why
from raycockpit.cockpit.why.capacity import NodeCap, holders_of, node_lines, shape_text
from raycockpit.cockpit.why.place import launching_text, with_wait

UNHEALTHY_SERVE = frozenset({"UPDATING", "UPSCALING", "UNHEALTHY", "DEPLOY_FAILED"})


def explain_deployment(
    app: ServeApp,
    dep: ServeDeployment,
    snap: Snapshot,
    work: PendingWork,
    caps: list[NodeCap],
    now: float,
) -> Why | None:
    if dep.status not in UNHEALTHY_SERVE:
        return None
    running = sum(1 for r in dep.replicas if r.state == "RUNNING")
    target = dep.target_replicas if dep.target_replicas is not None else running
    missing = max(0, target - running)
    shape = {r: v for r, v in dep.resources.items() if v > 0}
    waited = None if app.last_deployed_s is None else max(0.0, now - app.last_deployed_s)
    name = f"{app.name}/{dep.name}"
    evidence = [f"replicas: {running} running of {target}"]
    if shape:
        evidence.append(f"each replica: {shape_text(shape)}")
    evidence += node_lines(caps, shape) if shape else []
    if dep.message:
        evidence.append(f"Serve: {dep.message.strip().splitlines()[0][:300]}")
    if missing and shape:
        # what the cluster holds: the running replicas keep their share
        held_total = sum(c.copies(shape, free=False) for c in caps)
        fit_free = sum(c.copies(shape, free=True) for c in caps)
        launching = launching_text(snap)
        if fit_free >= missing:
            why = Why(
                "starting",
                f"{name}: {missing} replica(s) starting ({shape_text(shape)} each is free)",
                "wait for the replicas to start; if they do not, read a replica's log",
                tuple(evidence),
                short=f"starting {missing} replica(s)",
            )
        elif launching:
            why = Why(
                "scale_up",
                f"{name}: {missing} replica(s) wait for the autoscaler, launching {launching}",
                "wait for the new nodes; if they never join, see the Autoscaler pane",
                (*evidence, f"autoscaler: launching {launching}"),
                short=f"scale-up: {missing} replica(s) wait",
            )
        elif held_total < target:
            need = {r: v * target for r, v in shape.items()}
            why = Why(
                "infeasible",
                f"{name} wants {target} replicas x {shape_text(shape)} = {shape_text(need)}; "
                f"the cluster holds at most {held_total}",
                f"set num_replicas (or autoscaling max_replicas) to at most {held_total}, "
                f"lower each replica's resources (ray_actor_options), or add nodes for "
                f"{target - held_total} more replica(s) of {shape_text(shape)}",
                tuple(evidence),
                short=f"infeasible: {target} replicas, room for {held_total}",
            )
        else:
            holders = holders_of(snap, work, caps, shape)
            why = Why(
                "busy",
                f"{name}: {missing} replica(s) wait for busy resources: room for {fit_free} "
                f"more replica(s) of {shape_text(shape)} now",
                "wait for other work to finish, or free resources"
                + (f" ({'; '.join(holders[:3])})" if holders else "")
                + f", or lower num_replicas to {running + fit_free}",
                (*evidence, *(f"held: {h}" for h in holders)),
                short=f"busy: {missing} replica(s) wait",
            )
        return with_wait(why, waited)
    first = (dep.message.strip().splitlines() or [""])[0][:300]
    if dep.status in ("UNHEALTHY", "DEPLOY_FAILED"):
        why = Why(
            "failed",
            f"{name} is {dep.status}: {first or 'its replicas fail their health checks'}",
            "read a replica's log (its constructor or health check raised), fix the "
            "deployment and deploy it again",
            tuple(evidence),
            short=f"{dep.status.lower()}: {first[:60]}" if first else dep.status.lower(),
        )
        return with_wait(why, waited)
    why = Why(
        "starting",
        f"{name} is {dep.status}: {first or 'Serve is bringing its replicas up'}",
        "wait for the update to finish",
        tuple(evidence),
        short=dep.status.lower(),
    )
    return with_wait(why, waited)
