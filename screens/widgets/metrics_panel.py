"""Charts beside a job's log: a live plot of one metric (m cycles), every metric's last value with a
sparkline, Tune's trials with the best one marked, and the artifacts (checkpoints, parquet, URLs).

Fed a MetricSeries (cockpit/events.py) by the job screen; redraws at most a few times a second.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from raycockpit.cockpit.events import MetricSeries, Trial
from raycockpit.cockpit.format import human_bytes, is_byte_count
from raycockpit.cockpit.prom_metrics import PROGRESS
from raycockpit.cockpit.prom_metrics import SOURCE as PROM_SOURCE
from raycockpit.cockpit.prom_metrics import rank as prom_rank
from raycockpit.screens.styles import BAD_STRONG, INFO, OK, WARN_STRONG
from raycockpit.screens.widgets.keyed_table import Column, KeyedTable
from raycockpit.screens.widgets.render import bar, sparkline

PREFERRED = (
    "test_accuracy",
    "accuracy",
    "best_accuracy",
    "episode_return_mean",
    "test_loss",
    "train_loss",
    "loss",
    "rows_per_s",
    "tasks_per_s",
    "p50_ms",
)
COUNTERS = {"epoch", "epochs", "iteration", "step", "training_iteration"}
PROM_SUFFIX = f" ({PROM_SOURCE})"
SPARK_WIDTH = 16
MIN_BASE = 8  # cells of a metric's own name kept when its tags need the room
NAME_FIRST = 34  # cells the names' column takes before the sparklines get more than 3


WAITING = "waiting for the first metric…"
ENDED = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


def wait_text(status: str) -> str:
    """The empty panel's line for a job in this state."""
    if status == "PENDING":
        return "no metrics yet: the job has not started"
    if status in ENDED:
        return (
            f"no metrics: the job {status.lower()} without any (no progress events, Tune or "
            "Train results in its log, no Ray metrics of it on its nodes)"
        )
    return WAITING


def bare_name(name: str) -> str:
    """`epoch (train log)` -> `epoch`, `score [00001] (tune log)` -> `score`: a series read from
    Ray's output or a node's metrics (cockpit/printed_metrics.py, prom_metrics.py) says its source
    after the metric's own name."""
    if name.endswith(")") and " (" in name:
        name = name[: name.rindex(" (")]
        if name.endswith("]") and " [" in name:
            name = name[: name.rindex(" [")]
    return name


def fit_names(names: list[str], width: int) -> list[str]:
    """Names in `width` cells each (fit_name); when one does not fit, none says its source, so the
    rows read alike."""
    if all(len(name) <= width for name in names):
        return names
    return [fit_name(bare_source(name), width) for name in names]


def bare_source(name: str) -> str:
    """`loss (train log)` -> `loss`; the chart's title keeps the source."""
    return name[: name.rindex(" (")] if name.endswith(")") and " (" in name else name


def fit_name(name: str, width: int) -> str:
    """A series' name in `width` cells, cut where it says least: first its source (` (prometheus)`,
    the chart's title keeps it), then its tags' keys (`{operator=X}` -> `{X}`), then the middle of
    the metric's own name, so that its tags stay (`data_output_rows{MapBatches(f)_1}` and
    `{ReadRange_1}` stay apart), then the end of the tags."""
    if len(name) <= width:
        return name
    name = bare_source(name)
    if len(name) <= width:
        return name
    base, brace, tags = name.partition("{")
    tags = brace + tags
    if len(base) + len(tags) > width and tags.endswith("}"):  # {operator=X} -> {X}
        tags = "{" + ",".join(t.partition("=")[2] or t for t in tags[1:-1].split(",")) + "}"
    room = width - len(tags)  # cells left for the metric's own name
    if room < MIN_BASE:
        room = min(len(base), MIN_BASE, width)
        tags = tags[: width - room - 1] + "…" if width - room > 0 else ""
    if len(base) > room:
        keep = room - 1  # around one "…"
        head = (keep + 1) // 2
        base = base[:head] + "…" + base[len(base) - (keep - head) :]
    return base + tags


def best_trial(trials: dict[str, Trial]) -> tuple[str | None, str | None]:
    """(trial id, metric) of the best trial: highest accuracy/return, or lowest loss."""
    names = {name for t in trials.values() for name in t.metrics}
    metric = next(
        (
            m
            for m in ("accuracy", "test_accuracy", "episode_return_mean", "reward", "score", "loss")
            if m in names
        ),
        None,
    )
    if metric is None:
        return None, None
    lower = "loss" in metric
    scored = [(t.metrics[metric], t.trial_id) for t in trials.values() if metric in t.metrics]
    if not scored:
        return None, metric
    value, trial_id = (min if lower else max)(scored)
    return trial_id, metric


def _fmt(value: float, name: str = "") -> str:
    """A metric's value in a few characters; a count of bytes (a `bytes` word in its name, e.g.
    core's array_bytes, object_store_bytes_used) as a size: 16.0 MiB, not 1.678e+07."""
    if is_byte_count(name):
        return human_bytes(value)
    if name.startswith(PROGRESS + "{"):  # an operator's share of its estimated rows
        return f"{value:.0f}%"
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.3e}"


def _first_moving(names: list[str], series: MetricSeries) -> str:
    """The first in rank whose values have changed, else the first: a flat line of zeros (a
    Ray Data job's `tasks running` between its stages) says less than its rows going out."""
    for name in names:
        values = [v for _, v in series.series[name]]
        if min(values) != max(values):
            return name
    return names[0]


def byte_ticks(values: list[float], count: int = 5) -> tuple[list[float], list[str]]:
    """Ticks over the values' range, labelled as sizes."""
    low, high = min(values), max(values)
    if high <= low:
        ticks = [low]
    else:
        ticks = [low + (high - low) * i / (count - 1) for i in range(count)]
    return ticks, [human_bytes(t) for t in ticks]


class MetricsPanel(Vertical):
    BINDINGS = [Binding("m", "next_metric", "Next metric", id="metrics.next")]

    DEFAULT_CSS = """
    MetricsPanel { width: 1fr; }
    MetricsPanel #metrics-wait { color: $text-muted; padding: 0 1; display: none; }
    MetricsPanel.-empty #metrics-wait { display: block; }
    MetricsPanel.-empty > .metrics-part { display: none; }
    MetricsPanel PlotextPlot { height: 1fr; min-height: 10; }
    MetricsPanel #metrics-last { height: auto; }
    MetricsPanel #metrics-trials { height: auto; max-height: 10; display: none; }
    MetricsPanel #metrics-artifacts { height: auto; max-height: 6; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-empty")
        self.series: MetricSeries | None = None
        self.metric: str | None = None
        self.picked = False  # the user chose `metric` with `m`: kept; else the chart follows
        self.built = False
        self.wait_text = WAITING

    def set_job_status(self, status: str) -> None:
        """Before any metric, say what there is to wait for: a job that has not started or has
        ended without a metric is not 'waiting for the first metric'."""
        text = wait_text(status)
        if text != self.wait_text:
            self.wait_text = text
            self.query_one("#metrics-wait", Static).update(text)

    def compose(self) -> ComposeResult:
        # One line until the first metric: the chart, trials and lists are built then (a plot
        # and a table were a third of the time to open a job's screen, and most logs have none).
        yield Static(WAITING, id="metrics-wait", markup=False)

    def _build(self) -> None:
        """Mount the chart, the trials table and the lists (once: `reset` hides them)."""
        self.built = True
        trials = KeyedTable(
            [
                Column("best", ""),
                Column("trial", "Trial"),
                Column("state", "State"),
                Column("metric", "Metric"),
                Column("config", "Config"),
            ],
            id="metrics-trials",
            classes="metrics-part",
        )
        self.mount_all(
            [
                PlotextPlot(id="metrics-plot", classes="metrics-part"),
                trials,
                Static(id="metrics-last", classes="metrics-part", markup=False),
                Static(id="metrics-artifacts", classes="metrics-part", markup=False),
            ]
        )

    def reset(self) -> None:
        """Back to waiting for the first metric (the screen shows another job)."""
        self.series = None
        self.metric = None
        self.picked = False
        self.add_class("-empty")
        if self.built:
            self.query_one("#metrics-trials").display = False

    def plotted_names(self) -> list[str]:
        if self.series is None:
            return []
        names = [n for n in self.series.series if bare_name(n) not in COUNTERS]

        def rank(name: str) -> tuple[int, int, tuple[int, int], str]:
            bare = bare_name(name)
            if bare in PREFERRED:
                return 0, PREFERRED.index(bare), (0, 0), name
            if name.endswith(PROM_SUFFIX):  # after what the job printed: user's, then Ray's
                return 2, 0, prom_rank(bare), name
            return 1, 0, (0, 0), name

        return sorted(names, key=rank)

    def action_next_metric(self) -> None:
        names = self.plotted_names()
        if names:
            index = names.index(self.metric) + 1 if self.metric in names else 0
            self.metric = names[index % len(names)]
            self.picked = True
            self.show(self.series)

    def show(self, series: MetricSeries | None) -> None:
        self.series = series
        if series is None or not (series.series or series.trials or series.artifacts or series.end):
            return
        if not self.built:
            self._build()
            self.call_after_refresh(self.show, series)  # once they are mounted
            return
        self.remove_class("-empty")
        names = self.plotted_names()
        # the first in rank until `m` picks one: core's first event holds array_bytes, a single
        # point, and its tasks_per_s (the one that moves) came a wave later and was never charted
        if names and (self.metric not in names or not self.picked):
            self.metric = _first_moving(names, series)
        self._plot(series)
        self._last(series, names)
        self._trials(series)
        self._artifacts(series)

    def _plot(self, series: MetricSeries) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if self.metric and series.series.get(self.metric):
            points = list(series.series[self.metric])
            values = [p[1] for p in points]
            plt.plot([p[0] for p in points], values, marker="braille")
            if is_byte_count(self.metric):  # 16.0 MiB on the axis, not 16777216.0
                plt.yticks(*byte_ticks(values))
            plt.title(self.metric)  # its last value is in the list below; `m` plots the next one
            plt.xlabel("seconds" if self.metric.endswith(PROM_SUFFIX) else "step")
        else:
            plt.title(WAITING)
        plot.refresh()

    def on_resize(self) -> None:
        if self.built and self.series is not None and self.series.series:
            self._last(self.series, self.plotted_names())  # the names fit the new width

    def _last(self, series: MetricSeries, names: list[str]) -> None:
        shown = names[: 3 if series.trials else 6]  # the plot's `m` reaches the rest
        end = series.end
        ends = list(end.metrics.items())[:4] if end is not None else []
        status = str(end.data.get("status", "?")) if end is not None else ""
        lasts = [(name, _fmt(series.series[name][-1][1], name)) for name in shown]
        totals = [(name, _fmt(value, name)) for name, value in ends]
        # widths of our own, not Rich's ratios: a name is cut by fit_name (its tags kept), never
        # by an ellipsis at its end (four `data_average_bytes_inputs_…` rows said nothing)
        value_w = max([len(value) for _, value in lasts + totals] + [len(status)])
        free = max(self.content_region.width - 6 - value_w, 12)  # 3 columns, 1 cell each side
        spark_w = min(SPARK_WIDTH, max(3, free - NAME_FIRST))  # the name has the first cells
        name_w = free - spark_w
        table = Table(box=None, padding=(0, 1), show_header=False)
        table.add_column(style="bold", no_wrap=True, overflow="ellipsis", width=name_w)
        table.add_column(justify="right", no_wrap=True, width=value_w)
        table.add_column(style=INFO, no_wrap=True, overflow="crop", width=spark_w)
        fitted = fit_names([name for name, _ in lasts + totals], name_w - 2)
        for (name, value), label in zip(lasts, fitted, strict=False):
            values = [v for _, v in series.series[name]]
            mark = "▶ " if name == self.metric else "  "
            if name.startswith(PROGRESS + "{"):  # how far, as a bar: a person looks, not reads
                spark = bar(values[-1] / 100, spark_w, style=OK)
            else:
                spark = sparkline(values, spark_w, top=None)
            table.add_row(mark + label, value, spark)
        if end is not None:
            table.add_row(
                Text("end", style="bold"),
                Text(status, style=OK if status == "ok" else BAD_STRONG),
                "",
            )
            for (_, value), label in zip(totals, fitted[len(lasts) :], strict=True):
                table.add_row("  " + label, value, "")
        self.query_one("#metrics-last", Static).update(table)

    def _trials(self, series: MetricSeries) -> None:
        table = self.query_one("#metrics-trials", KeyedTable)
        if not series.trials:
            return
        table.display = True
        best_id, metric = best_trial(series.trials)
        rows = []
        for trial in series.trials.values():
            config = " ".join(
                f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in trial.config.items()
            )
            value = trial.metrics.get(metric) if metric else None
            cells = [
                Text("★", style=WARN_STRONG) if trial.trial_id == best_id else "",
                trial.trial_id,
                trial.state,
                "-" if value is None else f"{metric} {_fmt(value)}",
                config,
            ]
            rows.append(
                (
                    trial.trial_id,
                    cells,
                    {
                        "metric": value if value is not None else float("-inf"),
                        "best": 0 if trial.trial_id == best_id else 1,
                    },
                )
            )
        table.set_rows(rows)

    def _artifacts(self, series: MetricSeries) -> None:
        text = Text()
        for artifact in series.artifacts[-5:]:
            where = artifact.get("url") or artifact.get("path") or ""
            text.append(f"{artifact.get('name', 'artifact')}: ", style="bold")
            text.append(f"{where}\n", style="underline" if artifact.get("url") else "")
        self.query_one("#metrics-artifacts", Static).update(text)
