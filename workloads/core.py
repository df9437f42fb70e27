"""Ray Core on its own: tasks fanned out over the cluster, an actor holding state, and a large
numpy array shared once through the object store.

    python -m workloads.core [--preset smoke|full] [--num-tasks N] [--array-mb MB] ...

1. `ray.put` one large array once; many tasks read slices of it (zero-copy) and push partial
   sums to an `Accumulator` actor; the result is checked against numpy's mean and std.
2. Waves of Monte Carlo tasks estimate pi; the actor keeps the running totals; each wave
   emits tasks/s, the estimate and how many nodes ran its tasks. Object store bytes used are
   reported along the way; the summary says how many tasks ran on each node (by IP).

`--scheduling SPREAD` spreads the tasks over the nodes (Ray's SPREAD strategy) instead of
packing them where there is room first. SPREAD is Ray's best effort: a node whose CPUs are busy,
or whose worker processes are still starting while the others drain a short wave, gets fewer
tasks or none; the summary's tasks per node says where they ran.
"""

from __future__ import annotations

import math
import time
from typing import Any

from workloads import _args
from workloads._args import Param

WORKLOAD = "core"

PARAMS: tuple[Param, ...] = (
    Param(
        "num_tasks",
        "int",
        2000,
        "Monte Carlo tasks in all (spread over the waves).",
        min=1,
        max=10**7,
    ),
    Param("waves", "int", 10, "Waves of tasks (one metric event each).", min=1, max=10000),
    Param(
        "samples_per_task",
        "int",
        20000,
        "Random points each Monte Carlo task draws.",
        min=1,
        max=10**9,
    ),
    Param(
        "array_mb",
        "float",
        128.0,
        "Size of the numpy array shared with ray.put (MiB).",
        min=0.01,
        max=1048576.0,
    ),
    Param(
        "readers", "int", 32, "Tasks that each read a slice of the shared array.", min=1, max=100000
    ),
    Param("cpus_per_task", "float", 1.0, "CPUs reserved per task.", min=0.01, max=64.0),
    Param(
        "scheduling",
        "choice",
        "DEFAULT",
        "Where tasks go: DEFAULT is Ray's (fill nodes in turn up to half, then spread); "
        "SPREAD over the nodes in turn (best effort: a busy node gets fewer).",
        choices=("DEFAULT", "SPREAD"),
    ),
    Param("seed", "int", 0, "Random seed.", min=0, max=2**31 - 1),
)

PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"num_tasks": 200, "waves": 4, "array_mb": 16.0, "readers": 8},
    "full": {"num_tasks": 2000, "waves": 10, "array_mb": 128.0, "readers": 32},
}


class Accumulator:
    """Actor: named running totals that tasks add to."""

    def __init__(self) -> None:
        self.totals: dict[str, dict[str, float]] = {}
        self.updates = 0

    def add(self, name: str, values: dict[str, float]) -> int:
        acc = self.totals.setdefault(name, {})
        for key, value in values.items():
            if key == "max":
                acc[key] = max(acc.get(key, -math.inf), value)
            else:
                acc[key] = acc.get(key, 0.0) + value
        self.updates += 1
        return self.updates

    def get(self, name: str) -> dict[str, float]:
        return dict(self.totals.get(name, {}))


def slice_stats(array, lo: int, hi: int, acc) -> int:
    """Task: statistics of one slice of the shared array (read in place, never copied)."""
    import ray

    part = array[lo:hi]
    ray.get(
        acc.add.remote(
            "array",
            {
                "sum": float(part.sum()),
                "sumsq": float((part * part).sum()),
                "count": float(len(part)),
                "max": float(part.max()),
            },
        )
    )
    return hi - lo


def monte_carlo_pi(samples: int, seed: int) -> tuple[dict[str, float], str]:
    """Task: points in the unit square that fall in the quarter circle, and the IP of the
    node that counted them."""
    import numpy as np
    import ray

    rng = np.random.default_rng(seed)
    xy = rng.random((samples, 2))
    counts = {"inside": float(((xy * xy).sum(1) <= 1.0).sum()), "total": float(samples)}
    return counts, ray.util.get_node_ip_address()


def object_store_bytes_used() -> int | None:
    """Bytes in the cluster's object stores (from the raylets' store stats)."""
    try:
        import ray
        from ray._private import internal_api

        state = internal_api.get_state_from_address(ray.get_runtime_context().gcs_address)
        reply = internal_api.get_memory_info_reply(state, timeout_seconds=10.0)
        return int(reply.store_stats.object_store_bytes_used)
    except Exception:  # internal API: a figure is nice to have, never fatal
        return None


def main(argv: list[str] | None = None) -> int:
    params = _args.parse(WORKLOAD, PARAMS, PRESETS, argv)
    _args.not_above(WORKLOAD, params, "waves", "num_tasks")
    from workloads import _cluster

    def body(em):
        import numpy as np

        t_start = time.perf_counter()
        ray = _cluster.connect()
        em.start(params, {"cpus_per_task": params["cpus_per_task"], **_cluster.cluster_summary()})
        store_before = object_store_bytes_used()
        acc = ray.remote(Accumulator).options(num_cpus=0).remote()
        cpus = params["cpus_per_task"]
        placing = {"num_cpus": cpus, "scheduling_strategy": params["scheduling"]}

        # 1. One large array, put once, read by many tasks.
        n = max(1, int(params["array_mb"] * 1024 * 1024 / 8))
        arr = np.random.default_rng(params["seed"]).standard_normal(n)
        t0 = time.perf_counter()
        ref = ray.put(arr)
        put_s = time.perf_counter() - t0
        store_after_put = object_store_bytes_used()
        readers = min(params["readers"], n)
        bounds = np.linspace(0, n, readers + 1).astype(int)
        reader = ray.remote(**placing)(slice_stats)
        t0 = time.perf_counter()
        read = sum(
            ray.get(
                [
                    reader.remote(ref, int(lo), int(hi), acc)
                    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False)
                ]
            )
        )
        read_s = time.perf_counter() - t0
        st = ray.get(acc.get.remote("array"))
        mean = st["sum"] / st["count"]
        std = math.sqrt(max(st["sumsq"] / st["count"] - mean * mean, 0.0))
        ok = (
            read == n
            and math.isclose(mean, float(arr.mean()), abs_tol=1e-9)
            and math.isclose(std, float(arr.std()), rel_tol=1e-9)
            and st["max"] == float(arr.max())
        )
        if not ok:
            raise RuntimeError(
                f"shared-array statistics disagree with numpy: mean {mean} vs "
                f"{arr.mean()}, std {std} vs {arr.std()}"
            )
        shared = {
            "array_bytes": arr.nbytes,
            "put_s": put_s,
            "readers": readers,
            "read_s": read_s,
            "read_gb_per_s": arr.nbytes / read_s / 1e9,
            "array_mean": mean,
            "array_std": std,
            "array_check_ok": 1,
        }
        if store_after_put is not None:
            shared["object_store_bytes_used"] = store_after_put
        em.metric(0, shared, stage="shared_array")

        # 2. Waves of small tasks; the actor keeps the Monte Carlo totals.
        mc = ray.remote(**placing)(monte_carlo_pi)
        add = acc.add
        per_wave = np.array_split(np.arange(params["num_tasks"]), params["waves"])
        done, busy_s, peak_rate = 0, 0.0, 0.0
        by_node: dict[str, int] = {}
        for w, ids in enumerate(per_wave, start=1):
            t0 = time.perf_counter()
            results = ray.get(
                [
                    mc.remote(params["samples_per_task"], params["seed"] * 10**7 + int(i))
                    for i in ids
                ]
            )
            dt = time.perf_counter() - t0
            ray.get([add.remote("pi", counts) for counts, _ in results])
            for _, ip in results:
                by_node[ip] = by_node.get(ip, 0) + 1
            busy_s += dt
            done += len(ids)
            tot = ray.get(acc.get.remote("pi"))
            pi = 4.0 * tot["inside"] / tot["total"]
            rate = len(ids) / dt
            peak_rate = max(peak_rate, rate)
            em.metric(
                w,
                {
                    "tasks_done": done,
                    "tasks_per_s": rate,
                    "pi_estimate": pi,
                    "pi_error": abs(pi - math.pi),
                    "samples": tot["total"],
                    "nodes_used": len(by_node),
                },
                stage="tasks",
            )
        tot = ray.get(acc.get.remote("pi"))
        pi = 4.0 * tot["inside"] / tot["total"]
        # 4 sigma of the binomial estimate: a wrong pipeline fails, an unlucky seed does not.
        sigma = 4.0 * math.sqrt(math.pi / 4 * (1 - math.pi / 4) / tot["total"])
        if abs(pi - math.pi) > 4 * sigma + 1e-12:
            raise RuntimeError(f"pi estimate {pi} is too far from pi (> {4 * sigma:.2e})")
        updates = ray.get(acc.add.remote("meta", {}))
        del ref
        summary = {
            **shared,
            "tasks": done + readers,
            "mc_tasks": done,
            "tasks_per_s": done / busy_s,
            "peak_tasks_per_s": peak_rate,
            "pi_estimate": pi,
            "pi_error": abs(pi - math.pi),
            "actor_updates": updates,
            "nodes_used": len(by_node),
            # not a metric: rides on the end event as {"tasks_by_node": {ip: n}}
            "_extra": {
                "scheduling": params["scheduling"],
                "tasks_by_node": dict(sorted(by_node.items())),
            },
            "wall_s": time.perf_counter() - t_start,
        }
        if store_before is not None:
            summary["object_store_bytes_before"] = store_before
        return summary

    _cluster.run(WORKLOAD, params, body)
    return 0


if __name__ == "__main__":
    from workloads.core import main as _main

    raise SystemExit(_main())
