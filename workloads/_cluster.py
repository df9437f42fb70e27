"""Connecting to the cluster the workload runs in, and the common run/exit wrapper.

ray is imported lazily here so that argument errors stay fast.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workloads._events import Emitter

PACKAGE_DIR = Path(__file__).resolve().parent


def connect() -> Any:
    """`ray.init()` to the cluster this process runs in.

    Inside a Job the supervisor sets RAY_ADDRESS and the job's runtime_env (its working_dir
    holds `workloads/`). Run by hand against a cluster (RAY_ADDRESS=host:port python -m
    workloads.x), the workers would not find the `workloads` package, so ship it as a
    py_module then.
    """
    import ray

    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    in_job = "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ
    runtime_env: dict[str, Any] = {}
    if not in_job:
        runtime_env["py_modules"] = [str(PACKAGE_DIR)]
    # Some of Ray's own actors (Train's placement-group cleaner, the state API) look the
    # cluster up by address; on a machine running several clusters that fails unless
    # RAY_ADDRESS is set in the workers too. env_vars merge with the job's own per key.
    address = os.environ.get("RAY_ADDRESS", "")
    if (
        address
        and "://" not in address
        and address not in ("auto", "local")
        and "RAY_ADDRESS" not in _job_env_vars()
    ):
        runtime_env["env_vars"] = {"RAY_ADDRESS": address}
    kwargs: dict[str, Any] = {"log_to_driver": True}
    if runtime_env:
        kwargs["runtime_env"] = runtime_env
    if not ray.is_initialized():
        ray.init(**kwargs)
    return ray


def _job_env_vars() -> dict[str, str]:
    import json

    try:
        cfg = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}"))
        return dict((cfg.get("runtime_env") or {}).get("env_vars") or {})
    except (ValueError, TypeError, AttributeError):
        return {}


def cluster_gpus() -> float:
    import ray

    return float(ray.cluster_resources().get("GPU", 0.0))


def resolve_gpu(choice: str) -> bool:
    """use_gpu 'auto' means: use GPUs when the cluster has any."""
    if choice == "true":
        if cluster_gpus() == 0:
            print(
                "use_gpu=true but the cluster has no GPUs right now: waiting for the "
                "autoscaler to add some",
                flush=True,
            )
        return True
    if choice == "false":
        return False
    return cluster_gpus() > 0


def cluster_summary() -> dict[str, float]:
    import ray

    res = ray.cluster_resources()
    return {
        "cluster_cpus": float(res.get("CPU", 0.0)),
        "cluster_gpus": float(res.get("GPU", 0.0)),
        "nodes": len([n for n in ray.nodes() if n.get("Alive")]),
    }


def run(workload: str, params: Mapping[str, Any], body: Callable[[Emitter], Mapping[str, Any]]):
    """Run `body(emitter)`; emit `end` with its summary metrics, or status error and exit 1."""
    em = Emitter(workload)
    t0 = time.perf_counter()
    try:
        summary = dict(body(em) or {})
    except KeyboardInterrupt:
        em.end("error", {"wall_s": time.perf_counter() - t0}, message="interrupted")
        raise SystemExit(130) from None
    except SystemExit:
        raise
    except BaseException as exc:  # report every failure as an end event, then fail the job
        traceback.print_exc()
        em.end(
            "error", {"wall_s": time.perf_counter() - t0}, message=f"{type(exc).__name__}: {exc}"
        )
        sys.stdout.flush()
        raise SystemExit(1) from None
    summary.setdefault("wall_s", time.perf_counter() - t0)
    message = summary.pop("_message", None)
    status = summary.pop("_status", "ok")
    extra = summary.pop("_extra", None) or {}
    em.end(status, summary, message=message, **extra)
    if status != "ok":
        raise SystemExit(1)
    return summary


def join(base: str, *parts: str) -> str:
    """Join a local path or a URI (s3://, gs://, ...) with sub-paths."""
    if "://" in base:
        return "/".join([base.rstrip("/")] + [p.strip("/") for p in parts])
    return str(Path(base, *parts))


def ensure_local_dir(path: str) -> None:
    if "://" not in path:
        Path(path).mkdir(parents=True, exist_ok=True)
