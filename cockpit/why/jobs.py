"""Why a job is PENDING (its entrypoint's resources, its runtime_env being set up or failing
to install, its driver starting), and why one FAILED in its runtime_env setup."""

from __future__ import annotations

import re
from dataclasses import replace

from raycockpit.cockpit.format import human_duration, local_time
from raycockpit.cockpit.models import Job, PendingWork, Snapshot, Why
from raycockpit.cockpit.why.capacity import NodeCap
from raycockpit.cockpit.why.place import place, waited_since, with_wait

SUPERVISOR_PREFIX = "_ray_internal_job_actor_"
SUPERVISOR_CLASS = "JobSupervisor"
# where a job's demand is set in the Job API (JobSubmitRequest), by resource
JOB_OPTIONS = {
    "CPU": "entrypoint_num_cpus",
    "GPU": "entrypoint_num_gpus",
    "memory": "entrypoint_memory",
}
SETUP_TIMEOUT_S = 600  # Ray's default runtime_env setup_timeout_seconds
JOB_START_TIMEOUT_S = 900  # Ray's default RAY_JOB_START_TIMEOUT_SECONDS (then the job FAILS)


def _requirement_names(runtime_env: dict) -> list[str]:
    """The package names of a runtime_env's pip/uv list ('torch==2.1' -> 'torch')."""
    packages = []
    for key in ("pip", "uv"):
        value = runtime_env.get(key)
        if isinstance(value, dict):
            value = value.get("packages")
        if isinstance(value, list):
            packages += [str(p) for p in value]
    names = []
    for package in packages:
        name = re.split(r"[\s=<>!~;\[@]", package.strip(), maxsplit=1)[0]
        if name:
            names.append(name)
    return names


def _setup_lines(job: Job, work: PendingWork) -> list[str]:
    names = [n.lower() for n in _requirement_names(job.runtime_env)]
    lines = []
    for line in work.setup_errors:
        low = line.lower()
        if any(n in low or n.replace("-", "_") in low for n in names):
            lines.append(line)
    return lines


def _message_error_lines(message: str) -> list[str]:
    return [ln.strip() for ln in message.splitlines() if ln.strip().startswith("ERROR:")]


def _pip_fix(job: Job, line: str) -> str:
    names = _requirement_names(job.runtime_env)
    what = ", ".join(names) if names else "the packages"
    then = (
        "submit it again"
        if job.terminal
        else "submit it again (Ray keeps this one PENDING while it retries the setup, about 5 "
        "tries, stopped or not)"
    )
    return (
        f"fix runtime_env.pip ({what}): a name or version the cluster's package index does "
        f"not have, or an index it cannot reach; then {then}"
    )


def explain_job(
    job: Job,
    snap: Snapshot,
    work: PendingWork,
    caps: list[NodeCap],
    now: float,
    stop_at: float | None = None,
) -> Why | None:
    """A job's answer; `stop_at` is when this cockpit last asked Ray to stop it (unix s)."""
    why = _explain_job(job, snap, work, caps, now)
    if why is None or job.status != "PENDING" or stop_at is None:
        return why
    return stop_not_delivered(why, job, stop_at, now)


def stop_not_delivered(why: Why, job: Job, stop_at: float, now: float) -> Why:
    """A PENDING job asked to stop stays PENDING: Ray's job stop is a call on the job's
    supervisor actor, and that actor is created only when the job can start (its entrypoint
    placed, its runtime_env set up); until then the stop waits, and Ray itself fails the job at
    its start timeout (RAY_JOB_START_TIMEOUT_SECONDS) or when its runtime_env setup gives up."""
    if why.category.startswith("runtime_env"):
        until = "Ray fails it when the runtime_env setup gives up"
    elif job.start_time_ms:
        left = max(0.0, JOB_START_TIMEOUT_S - (now - job.start_time_ms / 1000))
        until = f"Ray fails it at its start timeout, {human_duration(left)} from now"
    else:
        until = "Ray fails it at its start timeout"
    return replace(
        why,
        reason=(
            f"stop requested {human_duration(max(0.0, now - stop_at))} ago, not delivered: "
            "Ray hands a stop to the job's supervisor actor, which is created only when the "
            f"job starts; and {why.reason}"
        ),
        fix=(
            f"nothing more to do to stop it: it stops as soon as it starts, or {until}. "
            f"What would let it start: {why.fix}"
        ),
        evidence=(
            f"stop requested at {local_time(stop_at)} by this cockpit: POST "
            f"/api/jobs/{job.key}/stop (Ray: the stop waits for the supervisor actor)",
            *why.evidence,
        ),
        short=f"stop waits for the start; {why.short}",
    )


def _explain_job(
    job: Job, snap: Snapshot, work: PendingWork, caps: list[NodeCap], now: float
) -> Why | None:
    if job.status == "FAILED" and job.error_type.startswith("RUNTIME_ENV_SETUP"):
        lines = _message_error_lines(job.message) or _setup_lines(job, work)
        line = lines[0] if lines else (job.message.strip().splitlines() or ["-"])[0]
        return Why(
            "runtime_env_failed",
            f"its runtime_env could not be set up: {line}",
            _pip_fix(job, line),
            tuple(lines[:4]),
            short=f"runtime_env failed: {line.removeprefix('ERROR: ')}",
        )
    if job.status != "PENDING":
        return None
    waited = waited_since(job.start_time_ms, now)
    sid = job.submission_id
    supervisor = next((a for a in work.actors if sid and a.name == SUPERVISOR_PREFIX + sid), None)
    packages = _requirement_names(job.runtime_env)
    env_wait = "runtime environment" in job.message
    if env_wait:
        lines = _setup_lines(job, work)
        if lines:
            line = lines[0]
            return with_wait(
                Why(
                    "runtime_env_failed",
                    f"its runtime_env cannot be installed: {line} (Ray keeps the job PENDING "
                    f"and retries the setup for up to {SETUP_TIMEOUT_S} s before it fails it)",
                    _pip_fix(job, line),
                    tuple(lines[:4]) + (f"runtime_env: {_env_keys(job)}",),
                    short=f"runtime_env failed: {line.removeprefix('ERROR: ')}",
                ),
                waited,
            )
        installing = f"pip: {', '.join(packages)}" if packages else _env_keys(job)
        return with_wait(
            Why(
                "runtime_env",
                f"its runtime_env is being set up ({installing}) for {human_duration(waited)}",
                f"wait: installs can take minutes; Ray fails the job after {SETUP_TIMEOUT_S} s "
                "(runtime_env setup_timeout_seconds); check the package names and that the "
                "cluster reaches its package index",
                (f"runtime_env: {_env_keys(job)}", f"Ray: {job.message}"),
                short=f"runtime_env: installing ({human_duration(waited)})",
            ),
            waited,
        )
    if supervisor is not None and supervisor.resources:
        ask = ", ".join(
            JOB_OPTIONS.get(r, f"entrypoint_resources[{r!r}]") for r in sorted(supervisor.resources)
        )
        why = place("the job's entrypoint", supervisor.resources, snap, work, caps, ask)
        evidence = [*why.evidence, f"Ray: {job.message}"]
        if why.category != "starting" and waited is not None:
            left = max(0.0, JOB_START_TIMEOUT_S - waited)
            evidence.append(
                f"Ray fails a job not started within {JOB_START_TIMEOUT_S} s "
                f"(RAY_JOB_START_TIMEOUT_SECONDS): {human_duration(left)} left"
            )
        return with_wait(replace(why, evidence=tuple(evidence)), waited)
    if supervisor is not None:
        reason = "its supervisor actor waits to be created (no resources asked)"
    else:
        reason = "its driver is starting (the job's supervisor actor is up)"
    return with_wait(
        Why(
            "starting",
            reason,
            "wait a few seconds; if it stays PENDING, read the job's driver log",
            (f"Ray: {job.message}",) if job.message else (),
            short="starting",
        ),
        waited,
    )


def _env_keys(job: Job) -> str:
    keys = sorted(k for k in job.runtime_env if not k.startswith("_"))
    return ", ".join(keys) or "-"
