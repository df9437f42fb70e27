"""The job screen's metrics panel on its own: which metric the chart plots."""

from __future__ import annotations

import json
from pathlib import Path

import hypothesis
from textual.app import App, ComposeResult
from textual_plotext import PlotextPlot

from raycockpit.cockpit.events import MetricSeries, parse_event_line
from raycockpit.cockpit.parse import parse_job
from raycockpit.screens.job import JobScreen
from raycockpit.screens.widgets.metrics_panel import MetricsPanel
from tests.ui.helpers import rendered_text, wait_for

st = hypothesis.strategies
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def metric(step: int, **metrics: float) -> str:
    event = {"v": 1, "kind": "metric", "workload": "core", "step": step, "metrics": metrics}
    return "@@cockpit " + json.dumps(event)


class PanelApp(App):
    def compose(self) -> ComposeResult:
        yield MetricsPanel(id="panel")


async def test_the_chart_follows_the_first_ranked_metric_until_m_picks_one():
    """core's first event holds only array_bytes (one point); its tasks_per_s, the metric that
    moves, comes a wave later. The chart stayed on array_bytes for the whole run."""
    app = PanelApp()
    series = MetricSeries()
    async with app.run_test(size=(100, 40)) as pilot:
        panel = app.query_one(MetricsPanel)
        series.add(parse_event_line(metric(0, array_bytes=16 * 2**20)))
        panel.show(series)
        await wait_for(pilot, lambda: panel.metric == "array_bytes", what="array_bytes charted")
        series.add(parse_event_line(metric(1, tasks_per_s=900.0)))
        panel.show(series)
        assert panel.metric == "tasks_per_s"
        panel.action_next_metric()  # the job screen's `m`: the user's choice is kept
        assert panel.metric == "array_bytes"
        series.add(parse_event_line(metric(2, tasks_per_s=950.0, array_bytes=2.0**25)))
        panel.show(series)
        assert panel.metric == "array_bytes"
        await pilot.pause()
        chart = rendered_text(panel.query_one(PlotextPlot), width=100)
        assert "16.0 MiB" in chart and "32.0 MiB" in chart, chart  # a size, not 33554432.0
        assert "33554432" not in chart, chart
        panel.reset()  # another job: the chart follows its metrics again
        fresh = MetricSeries()
        fresh.add(parse_event_line(metric(0, array_bytes=1.0, tasks_per_s=3.0)))
        panel.show(fresh)
        assert panel.metric == "tasks_per_s"


class JobApp(App):
    def on_mount(self) -> None:
        job = parse_job(json.loads((FIXTURES / "api_jobs_id.json").read_text()))
        self.push_screen(JobScreen(job))


async def test_an_empty_panel_leaves_the_width_to_the_log():
    """A job with no metric (most plain jobs) showed 'waiting for the first metric…' in two
    fifths of the screen beside a log cut at 76 columns; the empty panel is a narrow column
    until the first metric comes, then the charts take their two fifths."""
    app = JobApp()
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, JobScreen), what="the job screen")
        screen = app.screen
        panel, log = screen.query_one(MetricsPanel), screen.query_one("#job-log")
        await pilot.pause()
        assert panel.outer_size.width == 28 and log.outer_size.width == 130 - 28
        screen.add_lines([metric(0, tasks_per_s=10.0)])
        screen.redraw()
        await wait_for(pilot, lambda: panel.outer_size.width == 52, what="the charts' width")
        assert log.outer_size.width == 78


async def test_a_ray_data_jobs_node_metrics_list_its_key_series_first_each_told_apart():
    """A Ray Data job's ~100 node series per operator, from a real scrape: the list leads with
    rows out per operator (not `data_average_*` by name), and each row keeps its operator when
    the name is cut (they were four `data_average_bytes_inputs_…` rows)."""
    import gzip

    from raycockpit.cockpit.prom_metrics import add_to_series, job_metrics, parse_text

    text = gzip.decompress((FIXTURES / "prometheus_data_two_jobs.txt.gz").read_bytes()).decode()
    stats_actor = "a0741ab99705084cc5fcbd07b8e314acc248c61258f92f3f442a630d"
    series = MetricSeries()
    add_to_series(series, job_metrics(parse_text(text), "05000000", {stats_actor}), 0.0)
    app = PanelApp()
    async with app.run_test(size=(60, 40)) as pilot:  # a 130-column terminal's panel
        panel = app.query_one(MetricsPanel)
        panel.show(series)
        await wait_for(pilot, lambda: panel.built, what="the panel built")
        await pilot.pause()
        listed = rendered_text(panel.query_one("#metrics-last"), width=60).splitlines()
        names = [line[2:].rsplit(None, 2)[0].strip() for line in listed if line.strip()]
        assert names == [
            "tasks running",  # the job's own (JobId), then Ray Data's, how far first
            "data…ess{MapBatches(double_a)_2}",  # keys dropped, tags kept, when one won't fit
            "data_progress{ReadRange_1}",
            "data_output_rows{Input_0}",
            "data…ows{MapBatches(double_a)_2}",
            "data_output_rows{ReadRange_1}",
        ], listed
        progress = next(line for line in listed if "ReadRange_1}" in line)
        assert "100%" in progress and "█" in progress, listed  # a full bar, not a sparkline
        assert len(set(names)) == len(names), listed
        assert not any("double_b" in line for line in listed), listed


@hypothesis.given(
    st.text(alphabet="ab_{}=,() .", max_size=60), st.integers(min_value=1, max_value=50)
)
def test_a_fitted_name_never_outgrows_its_cells(name, width):
    from raycockpit.screens.widgets.metrics_panel import fit_name

    fitted = fit_name(name, width)
    assert len(fitted) <= width
    assert fitted == name or len(name) > width


async def test_the_chart_starts_on_the_first_series_that_moves():
    from raycockpit.cockpit.prom_metrics import add_to_series

    series = MetricSeries()
    add_to_series(series, {"tasks running": 1.0, "data_output_rows{operator=Map_1}": 0.0}, 0.0)
    app = PanelApp()
    async with app.run_test(size=(60, 40)) as pilot:
        panel = app.query_one(MetricsPanel)
        panel.show(series)
        await wait_for(pilot, lambda: panel.metric is not None, what="a metric charted")
        assert panel.metric == "tasks running (prometheus)"  # nothing has moved: the first
        add_to_series(series, {"tasks running": 1.0, "data_output_rows{operator=Map_1}": 40}, 10)
        panel.show(series)
        assert panel.metric == "data_output_rows{operator=Map_1} (prometheus)"
