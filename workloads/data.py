"""Data processing: two Ray Data pipelines with checked results.

    python -m workloads.data [--preset smoke|full] [--pipeline both|range|csv] ...

1. range: `range(N)` -> `map_batches` (x = id mod 1000, y = x^2) -> `filter(x % 3 == 0)` ->
   `sum(y)` (checked against the exact closed form) -> `write_parquet`.
2. csv: `read_csv` (a labelled CSV it generates, or `--csv-path`) -> `StandardScaler` +
   `LabelEncoder` -> `train_test_split` -> `write_parquet` of both splits.

Output paths are parameters: local by default, `s3://` and other pyarrow filesystems pass
through. Emits rows processed and rows/s per pipeline and the parquet outputs as artifacts.
"""

from __future__ import annotations

import time
from typing import Any

from workloads import _args
from workloads._args import Param

WORKLOAD = "data"
FEATURES = ("f0", "f1", "f2", "f3")
CLASSES = ("alpha", "beta", "gamma")
MOD = 1000

PARAMS: tuple[Param, ...] = (
    Param(
        "pipeline", "choice", "both", "Which pipeline(s) to run.", choices=("both", "range", "csv")
    ),
    Param("num_rows", "int", 1000000, "Rows of the range pipeline (range(N)).", min=1, max=10**11),
    Param("batch_size", "int", 65536, "Rows per map_batches batch.", min=1, max=10**8),
    Param(
        "num_blocks",
        "int",
        0,
        "Blocks to split the range into (0: Ray decides).",
        min=0,
        max=100000,
    ),
    Param("cpus_per_task", "float", 1.0, "CPUs reserved per map_batches task.", min=0.1, max=64.0),
    Param(
        "csv_rows",
        "int",
        200000,
        "Rows of the generated CSV (when --csv-path is empty).",
        min=10,
        max=10**9,
    ),
    Param(
        "csv_path",
        "str",
        "",
        "CSV to read instead of a generated one (needs numeric "
        "columns f0..f3 and a 'label' column); local path or s3://...",
        path="file",
    ),
    Param("test_size", "float", 0.2, "Fraction of rows in the test split.", min=0.01, max=0.99),
    Param(
        "output_path",
        "str",
        "/tmp/raycockpit/data",
        "Where parquet outputs go (local path or s3://, gs://, ...).",
    ),
    Param(
        "seed", "int", 0, "Seed of the generated CSV and the split shuffle.", min=0, max=2**31 - 1
    ),
)

PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"num_rows": 100000, "csv_rows": 20000},
    "full": {"num_rows": 1000000, "csv_rows": 200000},
}


def expected_sum(n: int) -> int:
    """Exact sum of y = (id mod 1000)^2 over ids in range(n) with (id mod 1000) % 3 == 0."""
    full, rest = divmod(n, MOD)
    return sum(r * r * (full + (1 if r < rest else 0)) for r in range(0, MOD, 3))


def expected_count(n: int) -> int:
    full, rest = divmod(n, MOD)
    return sum(full + (1 if r < rest else 0) for r in range(0, MOD, 3))


def featurize(batch: dict[str, Any]) -> dict[str, Any]:
    """map_batches UDF: a derived key and its square, per row (vectorised numpy)."""
    ids = batch["id"]
    x = ids % MOD
    return {"id": ids, "x": x, "y": x * x}


def generate_csv(path: str, rows: int, seed: int) -> None:
    """Three Gaussian classes in four features, written as CSV (local or via pyarrow fs)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), size=rows)
    centers = np.array([[0.0, 5.0, -2.0, 10.0], [3.0, 4.0, 0.0, 12.0], [6.0, 3.0, 2.0, 14.0]])
    scales = np.array([1.0, 0.5, 2.0, 3.0])
    x = centers[labels] + rng.normal(size=(rows, len(FEATURES))) * scales
    df = pd.DataFrame(x, columns=list(FEATURES))
    df["label"] = np.array(CLASSES)[labels]
    if "://" in path:
        import pyarrow.fs as pafs

        fs, inner = pafs.FileSystem.from_uri(path)
        with fs.open_output_stream(inner) as out:
            out.write(df.to_csv(index=False).encode())
    else:
        df.to_csv(path, index=False)


def main(argv: list[str] | None = None) -> int:
    params = _args.parse(WORKLOAD, PARAMS, PRESETS, argv)
    from workloads import _cluster

    def run_range(em, ray, step: int) -> dict[str, Any]:
        from ray.data.expressions import col

        n = params["num_rows"]
        out = _cluster.join(params["output_path"], "range")
        t0 = time.perf_counter()
        ds = ray.data.range(n, override_num_blocks=params["num_blocks"] or None)
        ds = ds.map_batches(
            featurize,
            batch_format="numpy",
            batch_size=params["batch_size"],
            num_cpus=params["cpus_per_task"],
        )
        ds = ds.filter(expr=(col("x") % 3) == 0).materialize()  # run once, use twice
        total = int(ds.sum("y"))
        kept = ds.count()
        compute_s = time.perf_counter() - t0
        ds.write_parquet(out, mode="overwrite")
        total_s = time.perf_counter() - t0
        ok = total == expected_sum(n) and kept == expected_count(n)
        if not ok:
            raise RuntimeError(
                f"range pipeline result is wrong: sum {total} (expected "
                f"{expected_sum(n)}), rows {kept} (expected {expected_count(n)})"
            )
        em.artifact("range_parquet", path=out, type="parquet", rows=kept)
        m = {
            "range_rows": n,
            "range_rows_out": kept,
            "range_sum": total,
            "range_compute_s": compute_s,
            "range_s": total_s,
            "range_rows_per_s": n / compute_s,
            "range_sum_ok": 1,
        }
        em.metric(step, {"rows_processed": n, "rows_per_s": n / compute_s, **m}, stage="range")
        return m

    def run_csv(em, ray, step: int) -> dict[str, Any]:
        from ray.data.preprocessors import Chain, LabelEncoder, StandardScaler

        out = params["output_path"]
        src = params["csv_path"]
        t0 = time.perf_counter()
        if not src:
            src = _cluster.join(out, "input.csv")
            generate_csv(src, params["csv_rows"], params["seed"])
            em.artifact("input_csv", path=src, type="csv", rows=params["csv_rows"])
        gen_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        ds = ray.data.read_csv(src).materialize()  # read once: fitting makes two passes
        rows = ds.count()
        prep = Chain(StandardScaler(columns=list(FEATURES)), LabelEncoder(label_column="label"))
        ds = prep.fit_transform(ds)
        train, test = ds.train_test_split(
            test_size=params["test_size"], shuffle=True, seed=params["seed"]
        )
        train_path = _cluster.join(out, "csv", "train")
        test_path = _cluster.join(out, "csv", "test")
        train.write_parquet(train_path, mode="overwrite")
        test.write_parquet(test_path, mode="overwrite")
        n_train, n_test = train.count(), test.count()
        csv_s = time.perf_counter() - t1
        if n_train + n_test != rows:
            raise RuntimeError(f"split lost rows: {n_train} + {n_test} != {rows}")
        scaler = prep.preprocessors[0]
        means = {
            k.split("(")[-1].rstrip(")"): v
            for k, v in scaler.stats_.items()
            if k.startswith("mean(")
        }
        sample = train.take(1000)
        enc_ok = (
            all(r["label"] in range(len(CLASSES)) for r in sample)
            if not params["csv_path"]
            else True
        )
        em.artifact("train_parquet", path=train_path, type="parquet", rows=n_train)
        em.artifact("test_parquet", path=test_path, type="parquet", rows=n_test)
        m = {
            "csv_rows": rows,
            "csv_train_rows": n_train,
            "csv_test_rows": n_test,
            "csv_s": csv_s,
            "csv_generate_s": gen_s,
            "csv_rows_per_s": rows / csv_s,
            "csv_labels_ok": int(enc_ok),
            **{f"csv_mean_{k}": v for k, v in means.items()},
        }
        em.metric(step, {"rows_processed": rows, "rows_per_s": rows / csv_s, **m}, stage="csv")
        return m

    def body(em):
        t_start = time.perf_counter()
        _cluster.connect()  # returns the `ray` module, which the import below binds
        import ray.data

        ray.data.DataContext.get_current().enable_progress_bars = False
        em.start(params, {"cpus_per_task": params["cpus_per_task"], **_cluster.cluster_summary()})
        _cluster.ensure_local_dir(params["output_path"])
        summary: dict[str, Any] = {}
        step = 0
        if params["pipeline"] in ("both", "range"):
            step += 1
            summary.update(run_range(em, ray, step))
        if params["pipeline"] in ("both", "csv"):
            step += 1
            summary.update(run_csv(em, ray, step))
        rows = summary.get("range_rows", 0) + summary.get("csv_rows", 0)
        summary["rows_processed"] = rows
        summary["wall_s"] = time.perf_counter() - t_start
        return summary

    _cluster.run(WORKLOAD, params, body)
    return 0


if __name__ == "__main__":
    from workloads.data import main as _main

    raise SystemExit(_main())
