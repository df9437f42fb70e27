"""The job screen's metrics panel on its own: which metric the chart plots."""

from __future__ import annotations

import json

from textual.app import App, ComposeResult
from textual_plotext import PlotextPlot

from raycockpit.cockpit.events import MetricSeries, parse_event_line
from raycockpit.screens.widgets.metrics_panel import MetricsPanel
from tests.ui.helpers import rendered_text, wait_for


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
