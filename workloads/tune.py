"""Hyperparameter tuning: Ray Tune with ASHA early stopping and Optuna search.

    python -m workloads.tune [--preset smoke|full] [--num-samples N] [--max-epochs E] ...

Searches learning rate (log-uniform), hidden size (choice) and dropout (uniform) for the digits
MLP of the train workload; every trial result is a `trial` event, the best config and score
close the run.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from workloads import _args, _mlflow
from workloads._args import Param

WORKLOAD = "tune"
HIDDEN_CHOICES = (64, 128, 256)

PARAMS: tuple[Param, ...] = (
    Param(
        "num_samples", "int", 8, "Trials to run (Optuna proposes each config).", min=1, max=10000
    ),
    Param("max_epochs", "int", 30, "Most epochs a trial may train (ASHA max_t).", min=1, max=1000),
    Param(
        "grace_period",
        "int",
        3,
        "Epochs every trial gets before ASHA may stop it.",
        min=1,
        max=1000,
    ),
    Param("reduction_factor", "int", 2, "ASHA reduction factor.", min=2, max=10),
    Param(
        "lr_min",
        "float",
        0.0001,
        "Lower bound of the log-uniform learning rate.",
        min=0.000001,
        max=1.0,
    ),
    Param(
        "lr_max",
        "float",
        0.01,
        "Upper bound of the log-uniform learning rate.",
        min=0.000001,
        max=1.0,
    ),
    Param("dropout_max", "float", 0.5, "Upper bound of the uniform dropout.", min=0.0, max=0.9),
    Param("batch_size", "int", 32, "Mini-batch size.", min=1, max=4096),
    Param(
        "max_concurrent_trials",
        "int",
        0,
        "Trials running at once (0: as resources allow).",
        min=0,
        max=1024,
    ),
    Param("cpus_per_trial", "float", 1.0, "CPUs reserved per trial.", min=0.1, max=128.0),
    _args.gpu_param("Give each trial GPUs: auto uses them when the cluster has any."),
    Param("gpus_per_trial", "float", 1.0, "GPUs per trial when GPUs are used.", min=0.01, max=8.0),
    Param("seed", "int", 0, "Seed of the search and of the data split.", min=0, max=2**31 - 1),
    Param(
        "storage_path",
        "str",
        "/tmp/raycockpit/tune",
        "Where Tune writes its experiment (local path or s3://, gs://, ...).",
    ),
    Param(
        "mlflow_uri",
        "str",
        "",
        "MLflow tracking URI to log trials to (needs mlflow installed); empty: off.",
    ),
)

PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"num_samples": 2, "max_epochs": 3, "grace_period": 1},
    "full": {"num_samples": 8, "max_epochs": 30, "grace_period": 3},
}


def trainable(config: dict[str, Any]) -> None:
    """One Tune trial: train the digits MLP, report accuracy each epoch (with a checkpoint
    when it improved)."""
    import tempfile

    import torch
    import torch.nn.functional as F
    from ray import tune
    from torch.utils.data import DataLoader, TensorDataset

    from workloads import _digits

    torch.manual_seed(config["seed"])
    torch.set_num_threads(1)
    device = torch.device("cuda" if config["use_gpu"] and torch.cuda.is_available() else "cpu")
    x_tr, y_tr, x_te, y_te = _digits.load_split(0.2, config["seed"])
    train_loader = DataLoader(
        TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr)),
        batch_size=config["batch_size"],
        shuffle=True,
    )
    test_loader = DataLoader(
        TensorDataset(torch.from_numpy(x_te), torch.from_numpy(y_te)), batch_size=512
    )
    model = _digits.build_model(int(config["hidden_size"]), float(config["dropout"])).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=float(config["lr"]))
    model_cfg = {"hidden_size": int(config["hidden_size"]), "dropout": float(config["dropout"])}
    best = -1.0
    for epoch in range(1, config["max_epochs"] + 1):
        model.train()
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        loss, acc, _ = _digits.evaluate(model, test_loader, device)
        metrics = {"accuracy": acc, "loss": loss, "epoch": epoch}
        if acc <= best:  # a checkpoint only when the trial improves (Tune keeps its best one)
            tune.report(metrics)
            continue
        best = acc
        with tempfile.TemporaryDirectory() as tmp:
            _digits.save(tmp, model, model_cfg, metrics)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def _make_callback(em):
    from ray.tune import Callback

    class EventCallback(Callback):
        """Runs in the driver: turns Tune's trial life cycle into events."""

        def __init__(self) -> None:
            self.results = 0
            self.best = 0.0

        @staticmethod
        def _cfg(trial) -> dict[str, Any]:
            return {
                k: trial.config[k] for k in ("lr", "hidden_size", "dropout") if k in trial.config
            }

        def on_trial_start(self, iteration, trials, trial, **info):
            em.trial(trial.trial_id, self._cfg(trial), "RUNNING")

        def on_trial_result(self, iteration, trials, trial, result, **info):
            self.results += 1
            acc = float(result.get("accuracy", 0.0))
            self.best = max(self.best, acc)
            metrics = {
                "accuracy": acc,
                "loss": result.get("loss"),
                "epoch": result.get("training_iteration"),
            }
            em.trial(trial.trial_id, self._cfg(trial), "RUNNING", metrics)
            em.metric(
                self.results,
                {"trial_accuracy": acc, "best_accuracy": self.best},
                trial_id=trial.trial_id,
            )

        def on_trial_complete(self, iteration, trials, trial, **info):
            last = trial.last_result or {}
            em.trial(
                trial.trial_id,
                self._cfg(trial),
                "TERMINATED",
                {
                    "accuracy": last.get("accuracy"),
                    "loss": last.get("loss"),
                    "epoch": last.get("training_iteration"),
                },
            )

        def on_trial_error(self, iteration, trials, trial, **info):
            em.trial(trial.trial_id, self._cfg(trial), "ERROR")

    return EventCallback()


def _epochs(df) -> list[dict[str, Any]]:
    """A trial's reported epochs (accuracy, loss) from its metrics dataframe."""
    if df is None or not len(df):
        return []
    keep = [c for c in ("epoch", "accuracy", "loss") if c in df.columns]
    return df[keep].to_dict("records")


def main(argv: list[str] | None = None) -> int:
    params = _args.parse(WORKLOAD, PARAMS, PRESETS, argv)
    _args.require_mlflow(WORKLOAD, params["mlflow_uri"])
    _args.not_above(WORKLOAD, params, "lr_min", "lr_max")
    _args.not_above(WORKLOAD, params, "grace_period", "max_epochs")
    from workloads import _cluster

    def body(em):
        t_start = time.perf_counter()
        _cluster.connect()
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler
        from ray.tune.search.optuna import OptunaSearch

        use_gpu = _cluster.resolve_gpu(params["use_gpu"])
        per_trial = {"cpu": params["cpus_per_trial"]}
        if use_gpu:
            per_trial["gpu"] = params["gpus_per_trial"]
        em.start(params, {"per_trial": per_trial, "use_gpu": use_gpu, **_cluster.cluster_summary()})
        _cluster.ensure_local_dir(params["storage_path"])
        tracker = _mlflow.Tracker(params["mlflow_uri"], "raycockpit-tune")
        tracker.check()
        space = {
            "lr": tune.loguniform(params["lr_min"], params["lr_max"]),
            "hidden_size": tune.choice(list(HIDDEN_CHOICES)),
            "dropout": tune.uniform(0.0, params["dropout_max"]),
            "max_epochs": params["max_epochs"],
            "batch_size": params["batch_size"],
            "seed": params["seed"],
            "use_gpu": use_gpu,
        }
        tuner = tune.Tuner(
            tune.with_resources(trainable, per_trial),
            param_space=space,
            tune_config=tune.TuneConfig(
                metric="accuracy",
                mode="max",
                num_samples=params["num_samples"],
                max_concurrent_trials=params["max_concurrent_trials"] or None,
                search_alg=OptunaSearch(seed=params["seed"]),
                scheduler=ASHAScheduler(
                    time_attr="training_iteration",
                    max_t=params["max_epochs"],
                    grace_period=params["grace_period"],
                    reduction_factor=params["reduction_factor"],
                ),
            ),
            run_config=tune.RunConfig(
                name=time.strftime("tune-%Y%m%d-%H%M%S"),
                storage_path=params["storage_path"],
                callbacks=[_make_callback(em)],
                checkpoint_config=tune.CheckpointConfig(
                    num_to_keep=1,
                    checkpoint_score_attribute="accuracy",
                    checkpoint_score_order="max",
                ),
            ),
        )
        t_fit = time.perf_counter()
        grid = tuner.fit()
        fit_s = time.perf_counter() - t_fit
        # Best accuracy any trial reached at any epoch (ASHA may stop a trial after its peak).
        best = grid.get_best_result(metric="accuracy", mode="max", scope="all")
        best_cfg = {k: best.config[k] for k in ("lr", "hidden_size", "dropout")}
        df = best.metrics_dataframe
        best_acc = (
            float(df["accuracy"].max())
            if df is not None and len(df)
            else float(best.metrics["accuracy"])
        )
        errors = sum(1 for r in grid if r.error)
        stopped_early = sum(
            1
            for r in grid
            if not r.error and r.metrics.get("training_iteration", 0) < params["max_epochs"]
        )
        em.artifact("experiment", path=grid.experiment_path, type="tune_experiment")
        best_ckpt = best.get_best_checkpoint(metric="accuracy", mode="max")
        if best_ckpt is not None:
            em.artifact(
                "best_checkpoint",
                path=best_ckpt.path,
                type="checkpoint",
                trial_id=best.metrics.get("trial_id"),
                accuracy=best_acc,
            )
        summary = {
            "best_accuracy": best_acc,
            "trials": len(grid),
            "trials_errored": errors,
            "trials_stopped_early": stopped_early,
            "fit_s": fit_s,
            "wall_s": time.perf_counter() - t_start,
        }
        if tracker.on:
            trials = [
                (
                    str(r.metrics.get("trial_id", i)),
                    {k: r.config[k] for k in ("lr", "hidden_size", "dropout")},
                    _epochs(r.metrics_dataframe),
                )
                for i, r in enumerate(grid)
                if not r.error
            ]
            numbers = {k: v for k, v in summary.items() if isinstance(v, (int, float))}
            with best_ckpt.as_directory() if best_ckpt else contextlib.nullcontext() as folder:
                tracker.log(em, "tune", params, [], numbers, folder, children=trials)
        if errors == len(grid):
            summary["_status"] = "error"
            summary["_message"] = f"all {errors} trials failed"
        summary["_extra"] = {"best_config": best_cfg, "best_trial_id": best.metrics.get("trial_id")}
        return {
            **summary,
            "best_lr": best_cfg["lr"],
            "best_hidden_size": best_cfg["hidden_size"],
            "best_dropout": best_cfg["dropout"],
        }

    _cluster.run(WORKLOAD, params, body)
    return 0


if __name__ == "__main__":
    # Re-import as `workloads.tune` so Ray pickles the trainable by reference.
    from workloads.tune import main as _main

    raise SystemExit(_main())
