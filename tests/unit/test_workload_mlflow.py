"""workloads/_mlflow.py: the MLflow logging of train and tune, without a cluster. A local MLflow
store (sqlite file) takes the place of the server here; tests/ui/test_launch.py checks the whole
path against a real `mlflow server` launched from the forms."""

from __future__ import annotations

import io
import socket

import pytest

from raycockpit.cockpit.events import parse_events
from workloads._events import Emitter
from workloads._mlflow import Tracker, probe

mlflow = pytest.importorskip("mlflow")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens


def test_a_server_that_is_down_is_one_line(capsys):
    uri = f"http://127.0.0.1:{closed_port()}"
    assert probe(uri)  # a reason, e.g. "[Errno 111] Connection refused"
    tracker = Tracker(uri, "x")
    tracker.check()
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("raycockpit: mlflow:") and uri in out[0], out
    assert "training goes on" in out[0]
    stream = io.StringIO()
    tracker.log(Emitter("train", stream), "run", {"a": 1}, [{"epoch": 1, "acc": 0.5}], {})
    assert stream.getvalue() == "" and capsys.readouterr().out == ""  # nothing more is tried


def test_no_uri_is_off_and_silent(capsys):
    tracker = Tracker("", "x")
    tracker.check()
    assert not tracker.on and capsys.readouterr().out == ""


def test_logs_params_epochs_checkpoint_and_emits_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a database store puts its artifacts under ./mlruns
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "model.pt").write_bytes(b"weights")
    tracker = Tracker(uri, "raycockpit-test")
    tracker.check()
    assert tracker.on
    stream = io.StringIO()
    history = [{"epoch": 1, "test_accuracy": 0.5}, {"epoch": 2, "test_accuracy": 0.75}]
    children = [("t1", {"lr": 0.01}, [{"epoch": 1, "accuracy": 0.6}])]
    tracker.log(
        Emitter("train", stream),
        "run-1",
        {"epochs": 2, "mlflow_uri": uri},
        history,
        {"fit_s": 1.5, "worker_nodes": 1},
        checkpoint_dir=str(ckpt),
        children=children,
    )
    assert capsys.readouterr().out == ""
    (event,) = parse_events(stream.getvalue())
    assert event.kind == "artifact" and event.data["name"] == "mlflow_run"
    run_id = event.data["run_id"]
    client = mlflow.MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.data.params == {"epochs": "2"}  # the URI itself is not a parameter
    steps = [(m.step, m.value) for m in client.get_metric_history(run_id, "test_accuracy")]
    assert sorted(steps) == [(1, 0.5), (2, 0.75)]
    assert run.data.metrics["fit_s"] == 1.5
    assert [f.path for f in client.list_artifacts(run_id, "best_checkpoint")] == [
        "best_checkpoint/model.pt"
    ]
    exp = run.info.experiment_id
    nested = client.search_runs([exp], f"tags.mlflow.parentRunId = '{run_id}'")
    assert [r.data.params for r in nested] == [{"lr": "0.01"}]
    assert uri in event.data["path"] and run_id in event.data["path"]  # not HTTP: no page


def test_a_failure_while_logging_is_one_line(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    tracker = Tracker(f"sqlite:///{blocked}/db.sqlite", "x")  # a database that cannot exist
    tracker.check()
    stream = io.StringIO()
    tracker.log(Emitter("train", stream), "run", {"a": 1}, [], {"x": 1.0})
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "logging to" in out[0] and "failed" in out[0], out
    assert stream.getvalue() == ""
