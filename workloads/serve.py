"""Model serving: Ray Serve with a FastAPI ingress for the digits classifier.

    python -m workloads.serve [--preset smoke|full] [--checkpoint PATH] [--port 8000] ...

`POST /predict` takes a JSON list of 64-value rows (8x8 digits images, pixels 0..16) and
answers the predicted classes and probabilities; `GET /health` says which model is loaded:
the train workload's checkpoint (`--checkpoint`, the path of its `best_checkpoint` artifact)
or a freshly initialised one. Serve's HTTP proxy binds to `--host` (127.0.0.1) and `--port`.
The app's URL is emitted as an artifact; the app stays up for `--duration` seconds
(0: until the job is stopped), then is deleted.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from typing import Any

from workloads import _args
from workloads._args import Param

WORKLOAD = "serve"

PARAMS: tuple[Param, ...] = (
    Param(
        "checkpoint",
        "str",
        "",
        "Checkpoint directory written by the train workload "
        "(its best_checkpoint artifact); empty: serve a freshly initialised model.",
        path="dir",
    ),
    Param("num_replicas", "int", 1, "Serve replicas of the model.", min=1, max=1024),
    Param("cpus_per_replica", "float", 0.5, "CPUs reserved per replica.", min=0.05, max=64.0),
    _args.gpu_param("Put replicas on GPUs: auto uses them when the cluster has any."),
    Param(
        "gpus_per_replica", "float", 1.0, "GPUs per replica when GPUs are used.", min=0.01, max=8.0
    ),
    Param(
        "max_ongoing_requests", "int", 16, "Requests one replica handles at once.", min=1, max=10000
    ),
    Param(
        "max_batch_size",
        "int",
        16,
        "Most requests merged into one forward pass (@serve.batch).",
        min=1,
        max=4096,
    ),
    Param(
        "batch_wait_timeout_s",
        "float",
        0.0,
        "How long a batch waits to fill up (0: take what queued while the previous batch ran).",
        min=0.0,
        max=10.0,
    ),
    Param("host", "str", "127.0.0.1", "Address Serve's HTTP proxy binds to."),
    Param("port", "int", 8000, "Port of Serve's HTTP proxy.", min=1, max=65535),
    Param("app_name", "str", "digits", "Serve application name."),
    Param("route_prefix", "str", "/", "URL prefix of the application."),
    Param(
        "duration",
        "float",
        0.0,
        "Seconds to stay up (0: until the job is stopped).",
        min=0.0,
        max=31536000.0,
    ),
    Param(
        "self_test_requests",
        "int",
        0,
        "Requests the workload sends itself once up, checking the answers (0: none).",
        min=0,
        max=100000,
    ),
    Param("seed", "int", 0, "Seed of the freshly initialised model.", min=0, max=2**31 - 1),
)

PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"self_test_requests": 5, "duration": 30.0},
    "full": {"self_test_requests": 200, "duration": 0.0},
}


class _Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT (a stopped job)."""


def _http(url: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any, float]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = json.loads(resp.read() or b"null")
            return resp.status, payload, time.perf_counter() - t0
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), time.perf_counter() - t0


def self_test(url: str, n: int, health: dict[str, Any]) -> dict[str, Any]:
    """Send `n` requests of real digits test images and check the answers."""
    import numpy as np

    from workloads import _digits

    _, _, x_te, y_te = _digits.load_split()
    latencies, correct, total = [], 0, 0
    for i in range(n):
        lo = (i * 8) % (len(x_te) - 8)
        rows, labels = x_te[lo : lo + 8], y_te[lo : lo + 8]
        status, out, dt = _http(url + "predict", rows.tolist())
        if status != 200:
            raise RuntimeError(f"self-test request {i}: HTTP {status}: {out}")
        preds, probs = out["predictions"], np.asarray(out["probabilities"])
        if len(preds) != len(rows) or probs.shape != (len(rows), 10):
            raise RuntimeError(f"self-test request {i}: wrong answer shape {probs.shape}")
        if not np.allclose(probs.sum(1), 1.0, atol=1e-3) or not all(0 <= p < 10 for p in preds):
            raise RuntimeError(f"self-test request {i}: probabilities/classes out of range")
        if list(probs.argmax(1)) != preds:
            raise RuntimeError(f"self-test request {i}: predictions disagree with probabilities")
        correct += int((np.asarray(preds) == labels).sum())
        total += len(rows)
        latencies.append(dt)
    status, bad, _ = _http(url + "predict", [[1.0, 2.0]])
    if status != 422:
        raise RuntimeError(f"self-test: a malformed row got HTTP {status}, expected 422")
    acc = correct / max(total, 1)
    if health.get("model") == "checkpoint" and acc < 0.9:
        raise RuntimeError(f"self-test: the checkpoint scored {acc:.3f} on test images")
    lat = sorted(latencies)
    return {
        "self_test_requests": n,
        "self_test_rows": total,
        "self_test_accuracy": acc,
        "latency_p50_ms": 1000 * lat[len(lat) // 2],
        "latency_max_ms": 1000 * lat[-1],
    }


def main(argv: list[str] | None = None) -> int:
    params = _args.parse(WORKLOAD, PARAMS, PRESETS, argv)
    ckpt = params["checkpoint"]
    if ckpt and "://" not in ckpt and not os.path.isfile(os.path.join(ckpt, "model.pt")):
        _args.fail(
            WORKLOAD,
            f"--checkpoint {ckpt!r} is not a train workload checkpoint (no model.pt in it)",
        )
    if not params["route_prefix"].startswith("/"):
        _args.fail(WORKLOAD, f"--route-prefix must start with '/', got {params['route_prefix']!r}")
    from workloads import _cluster

    def on_signal(signum, frame):
        raise _Stop(signal.Signals(signum).name)

    def body(em):
        t_start = time.perf_counter()
        _cluster.connect()
        from ray import serve

        from workloads import _serve_app

        use_gpu = _cluster.resolve_gpu(params["use_gpu"])
        actor_opts: dict[str, Any] = {"num_cpus": params["cpus_per_replica"]}
        if use_gpu:
            actor_opts["num_gpus"] = params["gpus_per_replica"]
        em.start(
            params,
            {
                "num_replicas": params["num_replicas"],
                "per_replica": actor_opts,
                "use_gpu": use_gpu,
                **_cluster.cluster_summary(),
            },
        )
        serve.start(http_options={"host": params["host"], "port": params["port"]})
        from ray.serve.context import _get_global_client

        http = _get_global_client().http_config  # Serve may already run with other options
        host = params["host"] if http.host in ("0.0.0.0", "::") else http.host
        if int(http.port) != params["port"] or http.host != params["host"]:
            print(
                f"serve: Serve already runs on this cluster at {http.host}:{http.port}; "
                f"using that (not {params['host']}:{params['port']})",
                flush=True,
            )
        prefix = params["route_prefix"].rstrip("/") + "/"
        url = f"http://{host}:{http.port}{prefix}"
        app = (
            _serve_app.make_deployment()
            .options(
                num_replicas=params["num_replicas"],
                ray_actor_options=actor_opts,
                max_ongoing_requests=params["max_ongoing_requests"],
            )
            .bind(
                ckpt,
                params["seed"],
                use_gpu,
                params["max_batch_size"],
                params["batch_wait_timeout_s"],
            )
        )
        app_name = params["app_name"]
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        deployed = False
        summary: dict[str, Any] = {}
        stop_reason = "duration"
        try:
            serve.run(app, name=app_name, route_prefix=params["route_prefix"])
            deployed = True
            ready_s = time.perf_counter() - t_start
            status, health, _ = _http(url + "health")
            if status != 200:
                raise RuntimeError(f"GET {url}health answered HTTP {status}: {health}")
            em.artifact(
                "serve_url",
                url=url,
                type="serve",
                app=app_name,
                model=health.get("model"),
                checkpoint=ckpt or None,
                endpoints=["POST /predict", "GET /health"],
            )
            summary = {
                "ready_s": ready_s,
                "replicas": params["num_replicas"],
                "model_from_checkpoint": int(health.get("model") == "checkpoint"),
            }
            acc = (health.get("checkpoint_metrics") or {}).get("test_accuracy")
            if acc is not None:
                summary["checkpoint_test_accuracy"] = acc
            em.metric(0, summary, model=health.get("model"))
            if params["self_test_requests"]:
                summary.update(self_test(url, params["self_test_requests"], health))
                em.metric(1, summary, model=health.get("model"))
            deadline = time.monotonic() + params["duration"] if params["duration"] else None
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.5 if deadline is None else min(0.5, deadline - time.monotonic()))
        except _Stop as stop:
            stop_reason = f"signal {stop}"
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if deployed:
                # A stopped job has ~3 s before SIGKILL: ask the controller and don't wait.
                serve.delete(app_name, _blocking=stop_reason == "duration")
        summary["up_s"] = time.perf_counter() - t_start
        summary["_extra"] = {"stop_reason": stop_reason, "url": url}
        return summary

    _cluster.run(WORKLOAD, params, body)
    return 0


if __name__ == "__main__":
    from workloads.serve import main as _main

    raise SystemExit(_main())
