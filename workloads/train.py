"""Distributed training: Ray Train TorchTrainer (DDP) on an MLP over scikit-learn's digits.

    python -m workloads.train [--preset smoke|full] [--num-workers N] [--epochs E] ...

Every epoch each rank calls `ray.train.report` with test accuracy and loss (and the number of
nodes its ranks run on); rank 0 attaches a checkpoint, `CheckpointConfig` keeps the best ones,
and the best checkpoint's path is emitted as an artifact (`python -m workloads.serve
--checkpoint PATH` serves it).
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from workloads import _args, _mlflow
from workloads._args import Param

WORKLOAD = "train"

PARAMS: tuple[Param, ...] = (
    Param("num_workers", "int", 1, "Ray Train workers (DDP ranks).", min=1, max=256),
    _args.gpu_param("Train on GPUs: auto uses them when the cluster has any."),
    Param("cpus_per_worker", "float", 1.0, "CPUs reserved per worker.", min=0.1, max=128.0),
    Param(
        "gpus_per_worker", "float", 1.0, "GPUs per worker when GPUs are used.", min=0.01, max=8.0
    ),
    Param(
        "placement_strategy",
        "choice",
        "PACK",
        "How the workers are placed: PACK on as few nodes as fit, SPREAD over the nodes "
        "(STRICT_*: must, or the run waits).",
        choices=("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"),
    ),
    Param("epochs", "int", 40, "Passes over the training set.", min=1, max=1000),
    Param("batch_size", "int", 32, "Mini-batch size per worker.", min=1, max=4096),
    Param("lr", "float", 0.001, "Adam learning rate.", min=0.000001, max=1.0),
    Param("hidden_size", "int", 128, "Width of each hidden layer.", min=8, max=4096),
    Param("layers", "int", 2, "Number of hidden layers.", min=1, max=8),
    Param("dropout", "float", 0.1, "Dropout after each hidden layer.", min=0.0, max=0.9),
    Param("test_size", "float", 0.2, "Held-out fraction of the 1,797 digits.", min=0.05, max=0.5),
    Param("seed", "int", 0, "Random seed (data split, init, shuffling).", min=0, max=2**31 - 1),
    Param(
        "checkpoint_every", "int", 1, "Checkpoint every N epochs (and the last).", min=1, max=1000
    ),
    Param("num_to_keep", "int", 2, "Best checkpoints kept (by test accuracy).", min=1, max=100),
    Param(
        "storage_path",
        "str",
        "/tmp/raycockpit/train",
        "Where runs and checkpoints go (local path or s3://, gs://, ...).",
    ),
    Param("run_name", "str", "", "Run folder name under storage_path (default: timestamped)."),
    Param(
        "mlflow_uri",
        "str",
        "",
        "MLflow tracking URI to log params and metrics to (needs mlflow installed); empty: off.",
    ),
)

PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"epochs": 3, "num_workers": 1},
    "full": {"epochs": 40, "num_workers": 1},
}


def train_func(config: dict[str, Any]) -> dict[str, Any]:
    """Runs on every Ray Train worker (rank)."""
    import tempfile

    import ray.train
    import ray.train.torch
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from workloads import _digits
    from workloads._events import Emitter

    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    em = Emitter(WORKLOAD)
    torch.manual_seed(config["seed"])
    torch.set_num_threads(max(1, int(config["cpus_per_worker"])))
    device = ray.train.torch.get_device()

    x_tr, y_tr, x_te, y_te = _digits.load_split(config["test_size"], config["seed"])
    train_loader = DataLoader(
        TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr)),
        batch_size=config["batch_size"],
        shuffle=True,
    )
    train_loader = ray.train.torch.prepare_data_loader(train_loader)
    # Every rank scores the whole (small) test set, so all ranks report the same figure.
    test_loader = DataLoader(
        TensorDataset(torch.from_numpy(x_te), torch.from_numpy(y_te)), batch_size=512
    )

    worker_nodes = _count_nodes(ctx.get_world_size())

    model_cfg = _digits.model_config(config["hidden_size"], config["dropout"], config["layers"])
    model = ray.train.torch.prepare_model(
        _digits.build_model(model_cfg["hidden_size"], model_cfg["dropout"], model_cfg["layers"])
    )
    opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config["epochs"])
    epochs = config["epochs"]
    best = 0.0
    history: list[dict[str, float]] = []  # every epoch's figures, returned for MLflow
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        model.train()
        loss_sum, seen = 0.0, 0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(yb)
            seen += len(yb)
        sched.step()
        test_loss, test_acc, _ = _digits.evaluate(model, test_loader, device)
        best = max(best, test_acc)
        metrics = {
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "test_loss": test_loss,
            "test_accuracy": test_acc,
            "epoch_s": time.perf_counter() - t0,
            "worker_nodes": worker_nodes,
        }
        history.append(
            {k: metrics[k] for k in ("epoch", "train_loss", "test_loss", "test_accuracy")}
        )
        want_ckpt = epoch % config["checkpoint_every"] == 0 or epoch == epochs
        if rank == 0:
            em.metric(epoch, metrics, epochs=epochs)
        if rank == 0 and want_ckpt:
            with tempfile.TemporaryDirectory() as tmp:
                inner = getattr(model, "module", model)
                _digits.save(tmp, inner, model_cfg, metrics)
                ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))
        else:
            ray.train.report(metrics)
    return {"best_test_accuracy": best, "history": history}


def _count_nodes(world_size: int) -> int:
    """How many nodes the ranks run on (every rank learns it: one all_gather of node ids)."""
    import ray
    import torch.distributed as dist

    mine = ray.get_runtime_context().get_node_id()
    if world_size < 2 or not dist.is_available() or not dist.is_initialized():
        return 1
    everyone: list[str | None] = [None] * world_size
    dist.all_gather_object(everyone, mine)
    return len(set(everyone))


def main(argv: list[str] | None = None) -> int:
    params = _args.parse(WORKLOAD, PARAMS, PRESETS, argv)
    _args.require_mlflow(WORKLOAD, params["mlflow_uri"])
    # ray.train.report blocks until the controller polls, every 2 s by default: poll faster.
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.1")
    # Train V2 re-logs worker prints through its logger: each event line would appear twice.
    os.environ.setdefault("RAY_TRAIN_ENABLE_PRINT_PATCH", "0")
    from workloads import _cluster

    def body(em):
        t_start = time.perf_counter()
        _cluster.connect()
        from ray.train import CheckpointConfig, RunConfig, ScalingConfig
        from ray.train.torch import TorchTrainer

        use_gpu = _cluster.resolve_gpu(params["use_gpu"])
        per_worker = {"CPU": params["cpus_per_worker"]}
        if use_gpu:
            per_worker["GPU"] = params["gpus_per_worker"]
        run_name = params["run_name"] or time.strftime("train-%Y%m%d-%H%M%S")
        em.start(
            params,
            {
                "num_workers": params["num_workers"],
                "placement_strategy": params["placement_strategy"],
                "use_gpu": use_gpu,
                "resources_per_worker": per_worker,
                **_cluster.cluster_summary(),
            },
        )
        _cluster.ensure_local_dir(params["storage_path"])
        tracker = _mlflow.Tracker(params["mlflow_uri"], "raycockpit-train")
        tracker.check()
        loop_cfg = {
            k: params[k]
            for k in (
                "epochs",
                "batch_size",
                "lr",
                "hidden_size",
                "layers",
                "dropout",
                "test_size",
                "seed",
                "checkpoint_every",
                "cpus_per_worker",
            )
        }
        trainer = TorchTrainer(
            train_func,
            train_loop_config=loop_cfg,
            scaling_config=ScalingConfig(
                num_workers=params["num_workers"],
                use_gpu=use_gpu,
                resources_per_worker=per_worker,
                placement_strategy=params["placement_strategy"],
            ),
            run_config=RunConfig(
                name=run_name,
                storage_path=params["storage_path"],
                checkpoint_config=CheckpointConfig(
                    num_to_keep=params["num_to_keep"],
                    checkpoint_score_attribute="test_accuracy",
                    checkpoint_score_order="max",
                ),
            ),
        )
        t_fit = time.perf_counter()
        result = trainer.fit()
        fit_s = time.perf_counter() - t_fit
        if result.error:
            raise result.error
        best_ckpt, best_metrics = None, {}
        for ckpt, metrics in result.best_checkpoints or []:
            if best_ckpt is None or metrics.get("test_accuracy", 0) > best_metrics.get(
                "test_accuracy", 0
            ):
                best_ckpt, best_metrics = ckpt, metrics
        if best_ckpt is None and result.checkpoint is not None:
            best_ckpt, best_metrics = result.checkpoint, result.metrics or {}
        if best_ckpt is not None:
            em.artifact(
                "best_checkpoint",
                path=best_ckpt.path,
                type="checkpoint",
                epoch=best_metrics.get("epoch"),
                test_accuracy=best_metrics.get("test_accuracy"),
            )
        final = result.metrics or {}
        summary = {
            "test_accuracy": final.get("test_accuracy"),
            "test_loss": final.get("test_loss"),
            "best_checkpoint_accuracy": best_metrics.get("test_accuracy"),
            "worker_nodes": final.get("worker_nodes"),
            "epochs": params["epochs"],
            "fit_s": fit_s,
            "wall_s": time.perf_counter() - t_start,
        }
        if tracker.on:
            # rank 0's epochs (metrics_dataframe holds only the reports that had a checkpoint)
            history = (getattr(result, "return_value", None) or {}).get("history") or []
            numbers = {k: v for k, v in summary.items() if isinstance(v, (int, float))}
            # as_directory: a checkpoint in s3:// or gs:// storage is fetched to a local folder
            with best_ckpt.as_directory() if best_ckpt else contextlib.nullcontext() as folder:
                tracker.log(em, run_name, params, history, numbers, checkpoint_dir=folder)
        return summary

    _cluster.run(WORKLOAD, params, body)
    return 0


if __name__ == "__main__":
    # Re-import as `workloads.train` so Ray pickles train_func by reference, not from __main__.
    from workloads.train import main as _main

    raise SystemExit(_main())
