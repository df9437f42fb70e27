"""Metrics of jobs that print no cockpit events: Ray's own printed results (Tune's tables, Train's
reports) read out of real Ray 2.60 job logs, and the Prometheus text of a real Ray 2.60 node,
both recorded from the programs in tests/fixtures/user_programs/ on a loopback head
(tests/fixtures/job_log_{tune,train}_user.txt, prometheus_{tune,train}_user.txt.gz); then the
parsers fed mutated lines (hypothesis) never raise and build only finite values."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import hypothesis

from raycockpit.cockpit.events import MetricSeries
from raycockpit.cockpit.parse import parse_nodes
from raycockpit.cockpit.printed_metrics import (
    TRAIN_SOURCE,
    TUNE_SOURCE,
    LogMetrics,
    Printed,
    PrintedMetrics,
    python_dict_numbers,
)
from raycockpit.cockpit.prom_metrics import (
    Sample,
    Scrape,
    add_to_series,
    driver_worker_id,
    job_metrics,
    metrics_targets,
    parse_text,
    unreachable_line,
)
from tests.unit.test_parse_properties import fast, mutated_text

st = hypothesis.strategies
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TUNE_LOG = (FIXTURES / "job_log_tune_user.txt").read_text()
TRAIN_LOG = (FIXTURES / "job_log_train_user.txt").read_text()
TRAIN_SCRAPE = gzip.decompress((FIXTURES / "prometheus_train_user.txt.gz").read_bytes()).decode()
TUNE_SCRAPE = gzip.decompress((FIXTURES / "prometheus_tune_user.txt.gz").read_bytes()).decode()
DATA_SCRAPE = gzip.decompress((FIXTURES / "prometheus_data_two_jobs.txt.gz").read_bytes()).decode()
# Ray Data's shared stats actor in that recording: the worker behind every job's ray_data_* series
DATA_STATS_ACTOR = "a0741ab99705084cc5fcbd07b8e314acc248c61258f92f3f442a630d"
# The worker that ran the Train program's train_func (its only RayTrainWorker) in that recording.
TRAIN_WORKER = "538f1c5fdcfac207730d9ab0688a6748e74ef01522caf0880b5367a2"
# A verbose=2 Tune log prints every iteration (written as Ray 2.60's output.py prints it).
VERBOSE_RESULT = """\
Trial objective_9f2e1_00000 finished iteration 2 at 2026-11-27 21:24:30. Total running time: 9s
╭────────────────────────────────────────────────╮
│ Trial objective_9f2e1_00000 result             │
├────────────────────────────────────────────────┤
│ checkpoint_dir_name                            │
│ time_this_iter_s                       0.00179 │
│ training_iteration                           2 │
│ loss                                   0.76923 │
│ score                                      0.3 │
╰────────────────────────────────────────────────╯
"""


def read(text: str) -> LogMetrics:
    metrics = LogMetrics()
    metrics.add_lines(text.splitlines())
    metrics.flush()
    return metrics


def test_train_reports_become_one_point_each():
    series = read(TRAIN_LOG).series.series
    loss = [0.7 * 0.7**i for i in range(5)]
    assert list(series) == ["epoch (train log)", "loss (train log)", "accuracy (train log)"]
    assert [p[0] for p in series["loss (train log)"]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(math.isclose(p[1], x) for p, x in zip(series["loss (train log)"], loss, strict=True))
    assert [p[1] for p in series["epoch (train log)"]] == [0, 1, 2, 3, 4]


def test_tune_tables_give_trials_and_their_results():
    metrics = read(TUNE_LOG)
    series, trials = metrics.series.series, metrics.series.trials
    lrs = {"00000": 0.1, "00001": 0.5, "00002": 1.0}
    assert sorted(trials) == [f"objective_e0248_{i}" for i in sorted(lrs)]
    for index, lr in lrs.items():
        trial = trials[f"objective_e0248_{index}"]
        assert trial.state == "TERMINATED" and trial.config == {"lr": lr}
        assert math.isclose(trial.metrics["score"], 10 * lr)
        # default verbosity: the result printed when the trial completed (iteration 4)
        assert list(series[f"score [{index}] (tune log)"]) == [(4.0, 10 * lr)]
        assert len(series[f"loss [{index}] (tune log)"]) == 1


def test_a_verbose_tune_result_and_a_repeated_one():
    metrics = LogMetrics()
    metrics.add_lines(VERBOSE_RESULT.splitlines() + VERBOSE_RESULT.splitlines())
    assert list(metrics.series.series["score [00000] (tune log)"]) == [(2.0, 0.3)]
    assert metrics.series.trials["objective_9f2e1_00000"].state == "RUNNING"


def test_the_status_table_adds_points_and_states():
    parser = PrintedMetrics()
    lines = [
        "Trial status: 1 RUNNING | 1 PENDING",
        "Current time: 2026-11-27 21:24:47. Total running time: 26s",
        "Logical resource usage: 1.0/2 CPUs, 0/0 GPUs",
        "╭──────────────────────────────────────────────────────────────────╮",
        "│ Trial name              status         lr     iter     total time (s)     score │",
        "├──────────────────────────────────────────────────────────────────┤",
        "│ objective_e0248_00000   RUNNING       0.1        2         0.00247312       0.3 │",
        "│ objective_e0248_00001   PENDING       0.5                                       │",
        "╰──────────────────────────────────────────────────────────────────╯",
        "",
    ]
    out = [r for line in lines for r in parser.feed(line)]
    assert out[0] == Printed(
        TUNE_SOURCE, 2.0, {"score": 0.3}, "objective_e0248_00000", "RUNNING", {"lr": 0.1}
    )
    assert len(out) == 1  # the pending row has other cells: skipped, not misread


def test_cockpit_events_win_over_printed_results():
    metrics = LogMetrics()
    metrics.add_lines(TRAIN_LOG.splitlines()[:60])
    assert metrics.series.series
    metrics.add_line('@@cockpit {"v": 1, "kind": "metric", "step": 1, "metrics": {"loss": 0.5}}')
    metrics.add_lines(TRAIN_LOG.splitlines()[60:])
    assert list(metrics.series.series) == ["loss"]


def test_python_dicts_with_numpy_and_nesting():
    assert python_dict_numbers("{'a': np.float64(0.5), 'b': 'x', 'c': tensor(2.)}") == {
        "a": 0.5,
        "c": 2.0,
    }
    assert python_dict_numbers("{'a': {'b': 1, 'c': True}, 'd': 'x'}") == {"a/b": 1.0}


def test_a_train_report_of_another_rank_is_not_charted():
    line = (
        "(RayTrainWorker pid=1, ip=10.0.0.2) Reporting training result 3: TrainingReport("
        "checkpoint=None, metrics={'loss': 0.3}, validation=False) from rank 1"
    )
    assert PrintedMetrics().feed(line) == []
    assert PrintedMetrics().feed(line.replace("rank 1", "rank 0")) == [
        Printed(TRAIN_SOURCE, 3.0, {"loss": 0.3})
    ]


# -- Prometheus -----------------------------------------------------------------------------------


def test_the_train_jobs_own_metrics_from_a_real_scrape():
    samples = parse_text(TRAIN_SCRAPE)
    assert len(samples) > 1000
    mine = job_metrics(samples, "03000000", {TRAIN_WORKER})
    assert mine["user_train_loss"] == 0.16806999999999994  # the loss of its 5th report
    assert mine["actors alive"] >= 1  # its TrainController, counted by JobId
    assert mine["tasks running"] == 2  # its driver-side TrainController.run and the train func
    assert "user_train_loss" not in job_metrics(samples, "02000000", set())  # another job's


def test_the_tune_jobs_user_counter_summed_over_its_trials():
    samples = parse_text(TUNE_SCRAPE)
    workers = {s.labels["WorkerId"] for s in samples if s.name == "ray_user_tune_steps_total"}
    assert len(workers) == 2  # two trials had run when this was recorded, 4 steps each
    assert job_metrics(samples, "02000000", workers)["user_tune_steps_total"] == 8.0
    assert "user_tune_steps_total" not in job_metrics(samples, "02000000", set())


def test_two_ray_data_jobs_each_get_their_own_datasets():
    samples = parse_text(DATA_SCRAPE)
    a = job_metrics(samples, "05000000", {DATA_STATS_ACTOR})  # both name the shared actor
    b = job_metrics(samples, "06000000", {DATA_STATS_ACTOR})
    assert a["data_output_rows{operator=MapBatches(double_a)_2}"] == 40.0
    assert b["data_output_rows{operator=MapBatches(double_b)_2}"] == 50.0
    assert a["data_dataset_state"] == b["data_dataset_state"] == 1.0  # RUNNING
    assert a["tasks running"] == b["tasks running"] == 1  # each one map task (2 CPUs in all)
    # how far each operator is: rows out against Ray Data's estimate (Input_0 has none)
    assert {k: v for k, v in a.items() if k.startswith("data_progress")} == {
        "data_progress{operator=MapBatches(double_a)_2}": 10.0,  # 40 of 400 rows
        "data_progress{operator=ReadRange_1}": 100.0,
    }
    assert b["data_progress{operator=MapBatches(double_b)_2}"] == 12.5
    assert not [k for k in a if "double_b" in k] and not [k for k in b if "double_a" in k]
    assert not [k for k in a if "dataset=" in k or "job_id=" in k]
    # a job that used Ray Data earlier, none of whose datasets are in the text: nothing of them
    assert not [k for k in job_metrics(samples, "04000000", {DATA_STATS_ACTOR}) if "data_" in k]


def test_a_jobs_ray_data_series_are_summed_over_its_datasets_but_rates_are_the_latest():
    def sample(name, value, **labels):
        return Sample(name, "gauge", {"WorkerId": "w", **labels}, value)

    samples = [
        sample("ray_data_dataset_state", 2, dataset="d0", job_id="01000000", start_time="100"),
        sample("ray_data_dataset_state", 1, dataset="d1", job_id="01000000", start_time="200"),
        sample("ray_data_output_rows", 400, dataset="d0", operator="Map(f)_1"),
        sample("ray_data_output_rows", 150, dataset="d1", operator="Map(f)_1"),
        sample("ray_data_average_bytes_per_output", 8, dataset="d1", operator="Map(f)_1"),
        sample("ray_data_average_bytes_per_output", 3, dataset="d0", operator="Map(f)_1"),
        sample("ray_data_output_rows", 999, dataset="unknown", operator="Map(f)_1"),
    ]
    samples += [
        sample("ray_data_operator_estimated_total_rows", 400, dataset="d0", operator="Map(f)_1"),
        sample("ray_data_operator_estimated_total_rows", 600, dataset="d1", operator="Map(f)_1"),
    ]
    assert job_metrics(samples, "01000000", set()) == {
        "data_dataset_state": 1,
        "data_output_rows{operator=Map(f)_1}": 550,
        "data_operator_estimated_total_rows{operator=Map(f)_1}": 1000,
        "data_average_bytes_per_output{operator=Map(f)_1}": 8,
        "data_progress{operator=Map(f)_1}": 25.0,  # the latest dataset's: 150 of 600
    }


def test_targets_series_and_the_unreachable_line():
    import json

    summary = json.loads((FIXTURES / "nodes_view_summary.json").read_text())["data"]
    assert metrics_targets(parse_nodes(summary)) == [("127.0.0.1", 40149)]
    assert driver_worker_id("03000000") == "03000000" + "f" * 48
    series = MetricSeries()
    add_to_series(series, {"user_train_loss": 0.5}, 0.0)
    add_to_series(series, {"user_train_loss": 0.4}, 10.0)
    assert list(series.series["user_train_loss (prometheus)"]) == [(0.0, 0.5), (10.0, 0.4)]
    line = unreachable_line(Scrape([], ["10.0.0.2:8080 (ConnectError)"]))
    assert line.startswith("node metrics unreachable: 10.0.0.2:8080 (ConnectError)")
    assert "\n" not in line and unreachable_line(Scrape([], [])) == ""


# -- never raise ----------------------------------------------------------------------------------

LOG_LINES = (TUNE_LOG + "\n" + TRAIN_LOG + "\n" + VERBOSE_RESULT).splitlines()


def _sane(results: list[Printed]) -> None:
    for result in results:
        assert result.step is None or math.isfinite(result.step)
        assert all(isinstance(k, str) and math.isfinite(v) for k, v in result.metrics.items())


@fast(100)
@hypothesis.given(mutated_text([TUNE_LOG, TRAIN_LOG, VERBOSE_RESULT], LOG_LINES))
def test_printed_results_never_raise_on_mutated_logs(text):
    parser = PrintedMetrics()
    for line in text.splitlines():
        _sane(parser._feed(line))  # the unguarded path (feed() also catches, as a last resort)
    _sane(parser.finish())
    metrics = LogMetrics()
    metrics.add_lines(text.splitlines())
    for points in metrics.series.series.values():
        assert all(math.isfinite(x) and math.isfinite(y) for x, y in points)


SCRAPE_LINES = TRAIN_SCRAPE.splitlines()[:120]


@fast(60)
@hypothesis.given(mutated_text(["\n".join(SCRAPE_LINES)], SCRAPE_LINES))
def test_prometheus_text_never_raises_when_mutated(text):
    samples = parse_text(text)
    assert all(isinstance(s, Sample) and math.isfinite(s.value) for s in samples)
    assert all(math.isfinite(v) for v in job_metrics(samples, "03000000", {TRAIN_WORKER}).values())


DATA_LINES = [
    line
    for line in DATA_SCRAPE.splitlines()
    if line.startswith(("# HELP ray_data_dataset_state", "# TYPE ray_data_dataset_state"))
    or line.startswith(("ray_data_dataset_state{", "ray_data_output_rows{", "ray_data_pool_util"))
]


@fast(60)
@hypothesis.given(mutated_text(["\n".join(DATA_LINES)], DATA_LINES))
def test_ray_data_series_never_raise_when_mutated(text):
    samples = parse_text(text)
    for job in ("05000000", "06000000", ""):
        assert all(math.isfinite(v) for v in job_metrics(samples, job, {DATA_STATS_ACTOR}).values())
