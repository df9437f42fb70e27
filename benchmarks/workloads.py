"""Benchmark of the bundled workloads' `full` presets, on a loopback Ray head of its own.

    .venv/bin/python benchmarks/workloads.py [--only train,tune,rl,data,core,serve]

Runs each workload's `full` preset as its own process against the head (like a job's driver),
reads its progress events, and prints every figure as one line:

    bench <name>: <value> (target <op> <target>) ok|short

Quality targets come from the workloads' issue (train accuracy >= 0.97 in < 60 s, tune >= 0.975,
CartPole return >= 450 within 90 s of training, Serve p50 < 20 ms and >= 0.25x plain uvicorn's
concurrent throughput). Serve is measured against the same FastAPI app and model under plain
uvicorn; the Ray Data range pipeline against the same computation in numpy (and the CSV
pipeline against pandas + scikit-learn). All traffic goes to 127.0.0.1; request loops are
bounded in count and time. The head is stopped by its pid at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from raycockpit.cockpit.events import parse_event_line  # noqa: E402
from raycockpit.cockpit.local import HeadPorts, LocalHead, free_port, ray_environment  # noqa: E402

PY = sys.executable
LINES: list[str] = []


def report(
    name: str, value: float, op: str, target: float, unit: str = "", fmt: str = "{:.3f}"
) -> None:
    ok = {">=": value >= target, "<=": value <= target, "<": value < target, ">": value > target}[
        op
    ]
    line = (
        f"bench {name}: {fmt.format(value)}{unit} (target {op} {fmt.format(target)}{unit}) "
        f"{'ok' if ok else 'short'}"
    )
    LINES.append(line)
    print(line, flush=True)


def missing(name: str, why: str) -> None:
    line = f"bench {name}: n/a ({why}) short"
    LINES.append(line)
    print(line, flush=True)


class Workload:
    """One workload process: stdout parsed for events as it runs."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.events: list = []
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [PY, "-m", f"workloads.{name}", "--preset", "full", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._log.write(line)
            ev = parse_event_line(line)
            if ev is not None and ev.workload == self.name:
                self.events.append(ev)
        self._log.flush()

    def wait(self, timeout: float) -> float:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
        self._reader.join(timeout=10)
        return time.perf_counter() - self.t0

    def wait_for_artifact(self, name: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            for e in self.events:
                if e.kind == "artifact" and e.data.get("name") == name:
                    return e.data
            time.sleep(0.2)
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def end(self) -> dict:
        for e in reversed(self.events):
            if e.kind == "end":
                return e.data
        tail = "".join(self.log_path.read_text().splitlines(True)[-20:])
        raise RuntimeError(f"{self.name}: no end event (rc {self.proc.returncode})\n{tail}")

    def artifact(self, name: str) -> dict | None:
        return next(
            (e.data for e in self.events if e.kind == "artifact" and e.data.get("name") == name),
            None,
        )


# ---------------------------------------------------------------------------- HTTP load
async def _load(url: str, rows: list, requests: int, concurrency: int, budget_s: float):
    import httpx

    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.monotonic() + budget_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        for _ in range(3):  # warm up connections and the model
            await client.post(url, json=rows)

        async def worker() -> None:
            nonlocal sent, errors
            while sent < requests and time.monotonic() < deadline:
                sent += 1
                t0 = time.perf_counter()
                resp = await client.post(url, json=rows)
                latencies.append(time.perf_counter() - t0)
                if resp.status_code != 200 or len(resp.json()["predictions"]) != len(rows):
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "rps": n / wall,
        "p50_ms": 1000 * latencies[n // 2],
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))],
    }


def measure_http(url: str, label: str) -> dict[str, dict]:
    from workloads import _digits

    _, _, x_te, _ = _digits.load_split()
    row = x_te[:1].tolist()
    out = {
        "seq": asyncio.run(_load(url, row, requests=400, concurrency=1, budget_s=30)),
        "conc8": asyncio.run(_load(url, row, requests=1200, concurrency=8, budget_s=30)),
    }
    for mode, r in out.items():
        print(
            f"  {label} {mode}: {r['requests']} requests, {r['errors']} errors, "
            f"{r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms",
            flush=True,
        )
    return out


UVICORN_SERVER = textwrap.dedent("""
    import sys, uvicorn
    from workloads import _serve_app
    backend = _serve_app.DirectBackend(_serve_app.Predictor(sys.argv[2]))
    app = _serve_app.build_fastapi(lambda: backend)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)
""")


def wait_http(url: str, timeout: float) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


# ---------------------------------------------------------------------------- baselines
def numpy_range(n: int) -> float:
    import numpy as np

    t0 = time.perf_counter()
    ids = np.arange(n)
    x = ids % 1000
    y = x * x
    keep = x % 3 == 0
    total = int(y[keep].sum())
    count = int(keep.sum())
    dt = time.perf_counter() - t0
    from workloads.data import expected_count, expected_sum

    assert total == expected_sum(n) and count == expected_count(n)
    return n / dt


def pandas_csv(csv_path: str, out_dir: Path, test_size: float, seed: int) -> float:
    import pandas as pd
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelEncoder, StandardScaler

    t0 = time.perf_counter()
    df = pd.read_csv(csv_path)
    feats = ["f0", "f1", "f2", "f3"]
    df[feats] = StandardScaler().fit_transform(df[feats])
    df["label"] = LabelEncoder().fit_transform(df["label"])
    train, test = train_test_split(df, test_size=test_size, shuffle=True, random_state=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    train.to_parquet(out_dir / "train.parquet")
    test.to_parquet(out_dir / "test.parquet")
    return len(df) / (time.perf_counter() - t0)


# ---------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="train,tune,rl,data,core,serve")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the outputs and per-workload logs (default: delete them)",
    )
    opts = ap.parse_args()
    only = set(opts.only.split(","))
    work = Path(tempfile.mkdtemp(prefix="raycockpit-bench-"))
    head = LocalHead(ports=HeadPorts.isolated(), temp_dir=str(work / "ray"), workdir=str(ROOT))
    print(
        f"starting a loopback Ray head (dashboard {head.dashboard_url}); outputs in {work}",
        flush=True,
    )
    t0 = time.perf_counter()
    head.start()
    print(f"head ready in {time.perf_counter() - t0:.1f} s (pid {head.pid})", flush=True)
    env = ray_environment({"RAY_ADDRESS": head.gcs_address})
    ckpt = None
    try:
        if "train" in only:
            w = Workload("train", ["--storage-path", str(work / "train")], env, work)
            wall = w.wait(300)
            end = w.end()
            m = end["metrics"]
            print(
                f"  train: {m['epochs']} epochs, final acc {m['test_accuracy']:.4f}, best "
                f"checkpoint acc {m['best_checkpoint_accuracy']:.4f}, fit {m['fit_s']:.1f} s",
                flush=True,
            )
            report("train_test_accuracy", m["test_accuracy"], ">=", 0.97)
            report("train_wall_s", wall, "<", 60.0, " s", "{:.1f}")
            art = w.artifact("best_checkpoint")
            ckpt = art["path"] if art else None
        if "tune" in only:
            w = Workload("tune", ["--storage-path", str(work / "tune")], env, work)
            wall = w.wait(600)
            m = w.end()["metrics"]
            print(
                f"  tune: {m['trials']} trials ({m['trials_stopped_early']} stopped early by "
                f"ASHA), best config {w.end().get('best_config')}, {wall:.1f} s",
                flush=True,
            )
            report("tune_best_accuracy", m["best_accuracy"], ">=", 0.975)
            report("tune_wall_s", wall, "<", 120.0, " s", "{:.1f}")
        if "rl" in only:
            w = Workload("rl", ["--storage-path", str(work / "rl")], env, work)
            wall = w.wait(600)
            m = w.end()["metrics"]
            print(
                f"  rl: {m['iterations']} iterations, {m['env_steps']} env steps, return "
                f"{m['episode_return_mean']:.1f}, process {wall:.1f} s",
                flush=True,
            )
            report("rl_cartpole_return", m["episode_return_mean"], ">=", 450.0, "", "{:.1f}")
            if m.get("target_reached"):
                report("rl_env_steps_to_450", m["target_env_steps"], "<=", 150000, "", "{:.0f}")
                report("rl_train_s_to_450", m["target_s"], "<=", 90.0, " s", "{:.1f}")
            else:
                missing("rl_train_s_to_450", "target not reached")
        if "data" in only:
            w = Workload("data", ["--output-path", str(work / "data")], env, work)
            wall = w.wait(600)
            m = w.end()["metrics"]
            np_rps = numpy_range(int(m["range_rows"]))
            pd_rps = pandas_csv(str(work / "data" / "input.csv"), work / "pandas", 0.2, 0)
            print(
                f"  data: range {m['range_rows']:.0f} rows in {m['range_compute_s']:.2f} s "
                f"(numpy {m['range_rows'] / np_rps:.3f} s); csv {m['csv_rows']:.0f} rows in "
                f"{m['csv_s']:.2f} s (pandas+sklearn {m['csv_rows'] / pd_rps:.2f} s)",
                flush=True,
            )
            report("data_range_rows_per_s", m["range_rows_per_s"], ">=", 50000, "", "{:.0f}")
            report("data_csv_rows_per_s", m["csv_rows_per_s"], ">=", 10000, "", "{:.0f}")
            report("data_range_vs_numpy", m["range_rows_per_s"] / np_rps, ">=", 0.01, "x", "{:.4f}")
            report("data_csv_vs_pandas", m["csv_rows_per_s"] / pd_rps, ">=", 0.1, "x", "{:.3f}")
        if "core" in only:
            w = Workload("core", [], env, work)
            w.wait(300)
            m = w.end()["metrics"]
            print(
                f"  core: pi {m['pi_estimate']:.5f}, shared {m['array_bytes'] / 2**20:.0f} MiB "
                f"read by {m['readers']:.0f} tasks in {m['read_s']:.2f} s, object store "
                f"{m.get('object_store_bytes_used', 0) / 2**20:.0f} MiB used",
                flush=True,
            )
            report("core_tasks_per_s", m["tasks_per_s"], ">=", 200, "", "{:.0f}")
        if "serve" in only:
            port = free_port()
            args = ["--port", str(port), "--app-name", "digits-bench"]
            if ckpt:
                args += ["--checkpoint", ckpt]
            w = Workload("serve", args, env, work)
            art = w.wait_for_artifact("serve_url", 180)
            if art is None:
                w.stop()
                raise RuntimeError("serve: no URL within 180 s\n" + w.log_path.read_text()[-3000:])
            print(f"  serve: up at {art['url']} with model {art.get('model')}", flush=True)
            deadline = time.monotonic() + 120  # the full preset's 200-request self-test
            while time.monotonic() < deadline and not any(
                e.kind == "metric" and e.step == 1 for e in w.events
            ):
                time.sleep(0.5)
            try:
                serve = measure_http(art["url"] + "predict", "serve")
            finally:
                w.stop()
            end = w.end()
            assert end["status"] == "ok", end
            uport = free_port()
            server = subprocess.Popen(
                [PY, "-c", UVICORN_SERVER, str(uport), ckpt or ""], cwd=ROOT, start_new_session=True
            )
            try:
                if not wait_http(f"http://127.0.0.1:{uport}/health", 60):
                    raise RuntimeError("plain uvicorn server did not come up")
                plain = measure_http(f"http://127.0.0.1:{uport}/predict", "uvicorn")
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
            report("serve_seq_p50_ms", serve["seq"]["p50_ms"], "<", 20.0, " ms", "{:.1f}")
            report("serve_seq_p99_ms", serve["seq"]["p99_ms"], "<", 100.0, " ms", "{:.1f}")
            report("serve_seq_rps", serve["seq"]["rps"], ">=", 50.0, "", "{:.0f}")
            report("serve_conc8_rps", serve["conc8"]["rps"], ">=", 50.0, "", "{:.0f}")
            report("serve_conc8_p50_ms", serve["conc8"]["p50_ms"], "<", 200.0, " ms", "{:.1f}")
            report("serve_conc8_p99_ms", serve["conc8"]["p99_ms"], "<", 500.0, " ms", "{:.1f}")
            report("uvicorn_seq_p50_ms", plain["seq"]["p50_ms"], "<", 20.0, " ms", "{:.1f}")
            report("uvicorn_conc8_rps", plain["conc8"]["rps"], ">=", 50.0, "", "{:.0f}")
            report(
                "serve_vs_uvicorn_conc8_rps",
                serve["conc8"]["rps"] / plain["conc8"]["rps"],
                ">=",
                0.25,
                "x",
                "{:.3f}",
            )
            report(
                "serve_vs_uvicorn_seq_rps",
                serve["seq"]["rps"] / plain["seq"]["rps"],
                ">=",
                0.05,
                "x",
                "{:.3f}",
            )
            errors = serve["seq"]["errors"] + serve["conc8"]["errors"]
            report("serve_errors", errors, "<=", 0, "", "{:.0f}")
    finally:
        t0 = time.perf_counter()
        head.stop()
        print(f"head stopped in {time.perf_counter() - t0:.1f} s", flush=True)
        if not opts.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    print("\nsummary:")
    print("\n".join(LINES))
    return 0 if all(line.endswith(" ok") for line in LINES) else 1


if __name__ == "__main__":
    raise SystemExit(main())
