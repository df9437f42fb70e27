"""Progress events, packaging, and the headless report (no cluster)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.events import MetricSeries, parse_event_line, parse_events
from raycockpit.cockpit.models import ClusterInfo, Snapshot
from raycockpit.cockpit.packaging import build_package
from raycockpit.cockpit.parse import parse_autoscaler_text, parse_jobs, parse_nodes, parse_serve
from raycockpit.cockpit.report import snapshot_dict, snapshot_text
from tests.conftest import REPO_ROOT, load_fixture


def test_event_found_behind_a_ray_prefix():
    line = (
        '(RayTrainWorker pid=123, ip=127.0.0.1) @@cockpit {"v": 1, "kind": "metric", '
        '"workload": "train", "epoch": 2, "metrics": {"loss": 0.5, "acc": 0.9, "note": "x"}}'
    )
    event = parse_event_line(line)
    assert (
        event.kind == "metric" and event.step == 2.0 and event.metrics == {"loss": 0.5, "acc": 0.9}
    )


@pytest.mark.parametrize(
    "line", ["@@cockpit {bad json", '@@cockpit {"kind": "nope"}', "@@cockpit [1]", "plain line", ""]
)
def test_bad_events_are_ignored(line):
    assert parse_event_line(line) is None


def test_metric_series_is_bounded_and_tracks_trials():
    series = MetricSeries(max_points=5)
    lines = [
        f'@@cockpit {{"kind": "metric", "step": {i}, "metrics": {{"loss": {1 / (i + 1)}}}}}'
        for i in range(20)
    ]
    lines.append(
        '@@cockpit {"kind": "trial", "trial_id": "t1", "state": "RUNNING", '
        '"config": {"lr": 0.1}, "metrics": {"acc": 0.5}}'
    )
    lines.append(
        '@@cockpit {"kind": "trial", "trial_id": "t1", "state": "TERMINATED", '
        '"metrics": {"acc": 0.9}}'
    )
    lines.append('@@cockpit {"kind": "end", "status": "ok"}')
    for event in parse_events("\n".join(lines)):
        series.add(event)
    assert len(series.series["loss"]) == 5 and series.series["loss"][-1] == (19.0, 1 / 20)
    assert series.trials["t1"].state == "TERMINATED" and series.trials["t1"].config == {"lr": 0.1}
    assert series.trials["t1"].metrics["acc"] == 0.9
    assert series.end.data["status"] == "ok"


def test_package_is_deterministic_and_relative(tmp_path):
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "main.py").write_text("print('hi')\n")
    (tmp_path / "pkg" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"junk")
    first = build_package(tmp_path, include=("pkg",))
    second = build_package(tmp_path, include=("pkg",))
    assert (
        first.name == second.name
        and first.name.startswith("_ray_pkg_")
        and first.uri.startswith("gcs://")
    )
    names = zipfile.ZipFile(io.BytesIO(first.data)).namelist()
    assert names == ["pkg/", "pkg/__init__.py", "pkg/main.py"]
    (tmp_path / "pkg" / "main.py").write_text("print('changed')\n")
    assert build_package(tmp_path, include=("pkg",)).name != first.name


def test_package_errors_are_messages(tmp_path):
    with pytest.raises(CockpitError, match="does not exist"):
        build_package(tmp_path, include=("missing",))
    with pytest.raises(CockpitError, match="not a folder"):
        build_package(tmp_path / "nope")


def test_workloads_package_holds_the_workloads():
    package = build_package(REPO_ROOT)
    names = zipfile.ZipFile(io.BytesIO(package.data)).namelist()
    assert "workloads/__init__.py" in names and not any("__pycache__" in n for n in names)


def _recorded_snapshot() -> Snapshot:
    return Snapshot(
        info=ClusterInfo(address="http://127.0.0.1:8265", ray_version="2.60.0"),
        fetched_at=1795665120.0,
        nodes=parse_nodes(load_fixture("nodes_view_summary.json")["data"]),
        autoscaler=parse_autoscaler_text(
            load_fixture("api_cluster_status_format1_busy_rllib.json")["data"]["clusterStatus"]
        ),
        jobs=parse_jobs(load_fixture("api_jobs.json")),
        serve=parse_serve(load_fixture("api_serve_applications.json")),
        connected=True,
    )


def test_report_json_has_stable_keys():
    data = json.loads(json.dumps(snapshot_dict(_recorded_snapshot())))
    assert list(data) == [
        "schema",
        "address",
        "ray_version",
        "fetched_at",
        "connected",
        "errors",
        "totals",
        "nodes",
        "gpus",
        "autoscaler",
        "jobs",
        "serve",
        "pending",
    ]
    assert data["totals"]["CPU"] == {"used": 1.0, "total": 2.0}
    assert all(j["why"] is None for j in data["jobs"])  # none waits in this recording
    assert data["pending"] == {"cut": False, "actors": [], "tasks": [], "placement_groups": []}
    assert data["nodes"][0]["is_head"] is True and data["gpus"] == []
    assert len(data["jobs"]) == 17 and data["jobs"][0]["status"] == "SUCCEEDED"
    assert data["serve"]["apps"][0]["name"] == "predictor"


def test_report_text_has_every_section():
    text = snapshot_text(_recorded_snapshot())
    for heading in ("== Overview", "== Nodes", "== GPUs", "== Autoscaler", "== Jobs"):
        assert heading in text
    assert "CPU           [##########..........]  50.0%  1/2" in text
    assert "no GPUs reported by this cluster" in text
    assert "Serve         predictor RUNNING" in text


def test_a_failed_job_s_error_in_both_forms():
    """`--once` names a failed job's error (Ray's message names only the exit code on its first
    line, the log's end after it); JSON as `error`, null for the others."""
    from dataclasses import replace

    snap = _recorded_snapshot()
    message = (
        "Job entrypoint command failed with exit code 1, last available logs (truncated to "
        '20,000 chars):\nTraceback (most recent call last):\n  File "x.py", line 1\n'
        "ValueError: bad learning rate\n"
    )
    failed = replace(snap.jobs[0], status="FAILED", message=message)
    snap = replace(snap, jobs=(failed, *snap.jobs[1:]))
    data = snapshot_dict(snap)
    assert data["jobs"][0]["error"] == "exit code 1: ValueError: bad learning rate"
    assert all(j["error"] is None for j in data["jobs"][1:])
    text = snapshot_text(snap)
    header = next(line for line in text.splitlines() if line.startswith("SUBMISSION ID"))
    assert header.endswith("ERROR")
    row = next(line for line in text.splitlines() if line.startswith(failed.key))
    assert " FAILED " in row and row.endswith("exit code 1: ValueError: bad learning rate"), row
