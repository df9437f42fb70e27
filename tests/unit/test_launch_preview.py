"""The Launch pane's preview (cockpit/launch_preview.py) and what a workload's parameters ask
(cockpit/fit.asks), on the bundled specs and jobs built the way the cockpit submits them."""

from __future__ import annotations

import dataclasses

from raycockpit.cockpit.fit import Capacity, asks
from raycockpit.cockpit.launch import (
    CUSTOM,
    JobOptions,
    build_custom_request,
    build_request,
    load_specs,
)
from raycockpit.cockpit.launch_preview import RUNS, job_launch_line, preview
from raycockpit.cockpit.models import Job
from raycockpit.screens.launch import preview_text
from tests.unit.test_preflight import node, snapshot

SPECS = {spec.name: spec for spec in load_specs()[0]}
NOW_MS = 1_800_000_000_000


def job(i: int, status: str, metadata: dict[str, str], **kw) -> Job:
    return Job(
        submission_id=f"raysubmit_{i}",
        job_id="",
        type="SUBMISSION",
        status=status,
        entrypoint="python -m x",
        start_time_ms=NOW_MS - (100 - i) * 60_000,
        end_time_ms=NOW_MS - (100 - i) * 60_000 + 30_000 if status != "RUNNING" else None,
        metadata=metadata,
        **kw,
    )


def launched(spec_name: str, values: dict[str, str]) -> dict[str, str]:
    request, errors = build_request(SPECS[spec_name], values, JobOptions())
    assert request is not None, errors
    return request.metadata


def test_asks_names_each_group_of_units():
    two = Capacity.from_snapshot(snapshot(node(2)))
    train = SPECS["train"].preset_values("smoke")
    assert asks(train, two) == ["1 worker x 1 CPU at once"]
    assert asks({**train, "num_workers": "3"}, two) == ["3 workers x 1 CPU at once"]
    tune = SPECS["tune"].defaults()
    assert asks(tune, two) == ["trials of 1 CPU each, as many at a time as fit"]
    assert asks({**tune, "max_concurrent_trials": "2"}, two) == [
        "trials of 1 CPU each, 2 at a time"
    ]
    gpu = Capacity.from_snapshot(snapshot(node(8, gpus=1)))
    asked = asks({**train, "use_gpu": "true", "gpus_per_worker": "1"}, gpu)
    assert asked == ["1 worker x 1 CPU + 1 GPU at once"]
    assert asks(SPECS["core"].defaults(), two) == ["tasks of 1 CPU each, as many at a time as fit"]


def test_presets_say_what_they_change_and_whether_they_fit():
    spec = SPECS["train"]
    spec = dataclasses.replace(spec, presets={**spec.presets, "wide": {"num_workers": 4}})
    shown = preview(spec, snapshot(node(2, used=1)), NOW_MS)
    lines = {p.name: p for p in shown.presets}
    assert lines["smoke"].changes == "epochs=3" and lines["smoke"].fit == ""
    assert lines["full"].changes == "the defaults"
    assert lines["wide"].asks == "4 workers x 1 CPU at once"
    assert lines["wide"].fit.startswith("asks 4 workers x 1 CPU = 4 CPU; the cluster has 2 CPU")
    assert "defaults" not in lines  # full is the defaults: not listed twice
    serve = {p.name: p.changes for p in preview(SPECS["serve"], None, NOW_MS).presets}
    assert serve["defaults"] == "no preset: every parameter's default"  # no preset is them
    assert shown.fits_note == "2 CPU, 1 free now"
    assert preview(spec, None, NOW_MS).fits_note == ""  # no nodes yet: nothing said


def test_last_runs_newest_first_with_their_preset_and_error():
    tune = SPECS["tune"]
    smoke = launched("tune", tune.preset_values("smoke"))
    edited = launched("tune", {**tune.defaults(), "num_samples": "3"})
    failed = "Job entrypoint command failed with exit code 1, last available logs (truncated):\n"
    failed += "Traceback (most recent call last):\nValueError: bad lr"
    jobs = (
        job(1, "SUCCEEDED", smoke),
        job(2, "FAILED", edited, message=failed),
        job(3, "SUCCEEDED", launched("train", SPECS["train"].defaults())),  # another workload
        job(4, "RUNNING", launched("tune", tune.defaults())),
        job(5, "SUCCEEDED", {}),  # not launched by the cockpit
    )
    shown = preview(tune, snapshot(node(2), jobs=jobs), NOW_MS)
    assert [r.submission_id for r in shown.runs] == ["raysubmit_4", "raysubmit_2", "raysubmit_1"]
    running, bad, good = shown.runs
    assert running.preset == "full" and running.error == ""  # full is tune's defaults
    assert bad.preset == "edited" and bad.error == "exit code 1: ValueError: bad lr"
    assert good.preset == "smoke" and good.duration_s == 30
    assert shown.runs_total == 3

    text = preview_text(shown, NOW_MS / 1000).plain
    assert "Runs     RUNNING    raysubmit_4  full  1h36m ago, for 1h36m" in text
    assert "FAILED     raysubmit_2  edited" in text and "exit code 1: ValueError: bad lr" in text
    assert "took 30s" in text


def test_runs_are_bounded_and_the_custom_job_has_its_own():
    request, _ = build_custom_request("python x.py", "", JobOptions())
    jobs = tuple(job(i, "SUCCEEDED", request.metadata) for i in range(RUNS + 3))
    shown = preview(None, snapshot(node(2), jobs=jobs), NOW_MS)
    assert shown.name == CUSTOM and shown.presets == ()
    assert len(shown.runs) == RUNS and shown.runs_total == RUNS + 3
    assert shown.runs[0].submission_id == f"raysubmit_{RUNS + 2}"
    assert shown.runs[0].preset == ""
    text = preview_text(shown, NOW_MS / 1000).plain
    assert f"{RUNS + 3} runs in all" in text and "Cluster  2 CPU, 2 free now" in text
    assert "Asks" not in text and "Presets" not in text
    assert "none on this cluster yet" in preview_text(preview(None, None, NOW_MS), 0).plain


def test_a_jobs_launch_line_says_what_it_asks_or_runs():
    """The job screen's second line said `resources: num_samples=2  use_gpu=auto`: parameters
    under the name of resources. It now says what they ask, or the entrypoint of any other job."""
    tune = SPECS["tune"]
    request, _ = build_request(tune, tune.preset_values("smoke"), JobOptions(num_cpus="1"))
    launched = job(1, "RUNNING", request.metadata)
    assert job_launch_line(launched) == (
        "tune · asks trials of 1 CPU each, as many at a time as fit · entrypoint 1 CPU"
    )
    custom, _ = build_custom_request("python x.py --a 1", "", JobOptions(num_gpus="1"))
    assert job_launch_line(
        dataclasses.replace(launched, entrypoint="python x.py --a 1", metadata=custom.metadata)
    ) == ("entrypoint: python x.py --a 1 · entrypoint 1 GPU")
    plain = dataclasses.replace(launched, entrypoint="python y.py", metadata={})
    assert job_launch_line(plain) == "entrypoint: python y.py"
