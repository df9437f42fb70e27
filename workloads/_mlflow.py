"""MLflow tracking for the train and tune workloads (`--mlflow-uri`).

The run is logged once training is over, from what Ray kept: the parameters, every reported
epoch as a metric step (per trial for Tune, as nested runs under one parent), the summary, and
the best checkpoint's directory as the run's artifact `best_checkpoint` (the model file,
`model.pt`, inside). The workload then emits an `mlflow_run` artifact event with the run id and
the run's page in the MLflow UI, which the job screen shows with the other artifacts.

Training never depends on the tracking server: it is probed before training starts (an HTTP
server gets `GET /health`, 5 s), and a server that is down or fails while logging costs one line
in the job log, and the run goes on to finish. MLflow's own client retries for minutes by default
(7 retries, backoff factor 2); here it retries twice with a 20 s timeout.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

PREFIX = "raycockpit: mlflow:"


def say(text: str) -> None:
    print(f"{PREFIX} {text}", flush=True)


def probe(uri: str) -> str | None:
    """None when the tracking server answers (or the URI is not HTTP: a file store or a
    database, checked when logging), else why not, in a few words."""
    if not uri.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5) as answer:
            if answer.status >= 400:
                return f"HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason) or type(exc).__name__
    return None


class Tracker:
    """One workload run's MLflow logging; off (and silent) when no URI was given."""

    def __init__(self, uri: str, experiment: str) -> None:
        self.uri = uri
        self.experiment = experiment
        self.down: str | None = None
        if uri:
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")

    @property
    def on(self) -> bool:
        return bool(self.uri) and self.down is None

    def check(self) -> None:
        """Probe the server before training: when it is down, say so once and log nothing."""
        if not self.uri:
            return
        self.down = probe(self.uri)
        if self.down is not None:
            say(
                f"the tracking server at {self.uri} is not reachable ({self.down}); "
                "training goes on without MLflow logging"
            )

    def log(
        self,
        em,
        run_name: str,
        params: Mapping[str, Any],
        history: Iterable[Mapping[str, Any]],
        summary: Mapping[str, Any],
        checkpoint_dir: str | None = None,
        children: Iterable[tuple[str, Mapping[str, Any], list[Mapping[str, Any]]]] = (),
    ) -> None:
        """Log the finished run; emit its `mlflow_run` artifact. Any failure is one line."""
        if not self.on:
            return
        try:
            run_id, where = self._log(run_name, params, history, summary, checkpoint_dir, children)
        except Exception as exc:  # the training result is kept either way
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            say(
                f"logging to {self.uri} failed ({type(exc).__name__}: {first}); "
                "the run's results are kept in its storage path"
            )
            return
        if where.startswith(("http://", "https://")):  # the run's page in the MLflow UI
            em.artifact("mlflow_run", url=where, run_id=run_id, experiment=self.experiment)
        else:  # a file store or a database: where it is, and the run
            em.artifact("mlflow_run", path=where, run_id=run_id, experiment=self.experiment)

    def _log(self, run_name, params, history, summary, checkpoint_dir, children):
        import mlflow  # only reached with --mlflow-uri (checked installed at start)

        mlflow.set_tracking_uri(self.uri)
        experiment = mlflow.set_experiment(self.experiment)
        with mlflow.start_run(run_name=run_name) as run:
            mlflow.log_params({k: v for k, v in params.items() if k != "mlflow_uri"})
            history = list(history)
            _log_history(mlflow, history)
            per_epoch = {key for row in history for key in row}  # already there, step by step
            mlflow.log_metrics(
                {k: float(v) for k, v in summary.items() if _is_number(v) and k not in per_epoch}
            )
            for name, config, rows in children:
                with mlflow.start_run(run_name=name, nested=True):
                    mlflow.log_params(dict(config))
                    _log_history(mlflow, rows)
            if checkpoint_dir:
                mlflow.log_artifacts(checkpoint_dir, artifact_path="best_checkpoint")
            run_id = run.info.run_id
        base = self.uri.rstrip("/")
        if base.startswith(("http://", "https://")):
            url = f"{base}/#/experiments/{experiment.experiment_id}/runs/{run_id}"
        else:
            url = f"{base} (experiment {experiment.experiment_id}, run {run_id})"
        return run_id, url


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _log_history(mlflow, rows: Iterable[Mapping[str, Any]]) -> None:
    """One metric step per reported epoch (the row's `epoch`, else its position)."""
    for position, row in enumerate(rows, start=1):
        step = int(row.get("epoch") or position)
        metrics = {k: float(v) for k, v in row.items() if k != "epoch" and _is_number(v)}
        if metrics:
            mlflow.log_metrics(metrics, step=step)
