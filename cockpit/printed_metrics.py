"""Metrics of any job from what Ray itself prints in its log: no cockpit events needed.

A Tune or Train program that knows nothing of raycockpit still prints its results; this module
reads them (Ray 2.60, seen in real job logs, see tests/fixtures/job_log_*_user*.txt):

- Tune (`ray/tune/experimental/output.py`, the default reporter):
  `Trial status: 2 RUNNING | 1 PENDING` then, after a few lines, a table (tabulate, `rounded_grid`
  style) with the columns `Trial name  status  <params..>  [acc loss] iter  total time (s)
  [ts reward]  <metrics..>`, printed every ~30 s and at the end;
  `Trial NAME started with configuration:` then a two-column `Trial NAME config` table;
  `Trial NAME finished iteration N at ...` (verbose=2 only), `... completed after N iterations
  at ...` and `... errored after N iterations at ...`, each followed by a two-column
  `Trial NAME result` table (`training_iteration` among its rows).
- Train V2 (`ray/train/v2/_internal/execution/context.py`, logged by every worker):
  `(RayTrainWorker pid=.., ip=..) Reporting training result N: TrainingReport(checkpoint=..,
  metrics={'epoch': 0, 'loss': 0.7}, validation=False) from rank R`; rank 0's are charted.

`PrintedMetrics` is fed log lines one by one (tables span many lines, so it keeps a little state)
and returns `Printed` results; `LogMetrics` puts them, or the cockpit's own events
(cockpit/events.py) when the job has those, into one `MetricSeries`. Series are named with where
they come from: `loss (train log)`, `score [00001] (tune log)` (the trial's index). No line ever
raises: anything not understood is skipped.
"""

from __future__ import annotations

import ast
import math
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from raycockpit.cockpit.events import MARKER, MetricSeries, Trial, parse_event_line

TUNE_SOURCE = "tune log"
TRAIN_SOURCE = "train log"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# `(RayTrainWorker pid=13319)`, `(TrainController pid=1, ip=10.0.0.2)`, a repeat count `[repeated 2x
# across cluster]` at the end is left alone (it changes no value).
_PREFIX = re.compile(r"^\s*\([^()]*pid=\d+[^()]*\)\s?")
_TRAIN = re.compile(
    r"Reporting training result (\d+): TrainingReport\(checkpoint=.*?, metrics=(\{.*\}), "
    r"validation=.*\) from rank (\d+)"
)
_TRIAL_EVENT = re.compile(
    r"^Trial (\S+) (?:(finished) iteration (\d+)|(completed|errored) after (\d+) iterations)"
    r" at "
)
_TRIAL_STARTED = re.compile(r"^Trial (\S+) started with configuration:")
_STATUS = re.compile(r"^Trial status: ")
_CELLS = re.compile(r"\s{2,}")
_BORDER = frozenset("╭╮╰╯├┤┼─┬┴═╞╡╪+-|: ")
# A number as Python or tabulate prints it, possibly wrapped as np.float64(..) or tensor(..).
_PAIR = re.compile(
    r"'([^'\\]{1,200})'\s*:\s*(?:[A-Za-z_][\w.]*\()?\s*([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|inf|nan))"
)
# Columns of Tune's status table that are not the user's metrics (output.py DEFAULT_COLUMNS).
_AUTO_COLUMNS = ("acc", "loss", "iter", "total time (s)", "ts", "reward")
_NOT_METRIC_COLUMNS = frozenset({"iter", "total time (s)", "ts"})
# Result-table rows that Tune adds to every result (tune/result.py AUTO_RESULT_KEYS).
_AUTO_KEYS = frozenset(
    {
        "training_iteration",
        "time_total_s",
        "time_this_iter_s",
        "episodes_total",
        "timesteps_total",
        "time_since_restore",
        "timesteps_since_restore",
        "iterations_since_restore",
        "checkpoint_dir_name",
        "timestamp",
        "pid",
        "node_ip",
        "hostname",
        "date",
        "done",
    }
)
MAX_LINE = 20_000  # longer lines are not results (and regexes stay cheap)
MAX_TABLE_ROWS = 2_000


@dataclass(frozen=True)
class Printed:
    """One result read from the log: a Train report or a Tune trial's result or state."""

    source: str  # TUNE_SOURCE | TRAIN_SOURCE
    step: float | None  # report index (Train) or training iteration (Tune); None: state only
    metrics: dict[str, float] = field(default_factory=dict)
    trial: str | None = None  # Tune trial name
    state: str | None = None  # Tune trial state, when the line says it
    config: dict[str, Any] | None = None  # Tune trial config, when the line says it


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _flat_numbers(raw: Any, prefix: str = "", depth: int = 0) -> dict[str, float]:
    """Numeric leaves of a (nested) dict, keys joined with `/` as Tune flattens them."""
    out: dict[str, float] = {}
    if not isinstance(raw, dict) or depth > 8:
        return out
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_numbers(value, name + "/", depth + 1))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                continue
            if math.isfinite(number):
                out[name] = number
    return out


def python_dict_numbers(text: str) -> dict[str, float]:
    """The numbers in a printed Python dict (`{'loss': 0.7, 'acc': np.float64(0.9)}`)."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        value = None
    if isinstance(value, dict):
        return _flat_numbers(value)
    out: dict[str, float] = {}
    for key, number in _PAIR.findall(text):
        parsed = _number(number)
        if parsed is not None:
            out[key] = parsed
    return out


def clean(line: str) -> str:
    """The line without colour codes and without Ray's `(Actor pid=..)` prefix."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    return _PREFIX.sub("", line, count=1).rstrip()


def _row_cells(line: str) -> list[str] | None:
    """The cells of a table row `│ a   b │` (cells apart by 2+ spaces), None for a border."""
    text = line.strip()
    if not text or all(ch in _BORDER for ch in text):
        return None
    if text[0] in "│|" and text[-1] in "│|":
        text = text[1:-1]
    elif text[0] in "│|":
        text = text[1:]
    else:
        return None
    text = text.strip()
    return _CELLS.split(text) if text else []


def _trial_index(name: str) -> str:
    """`objective_e0248_00001` -> `00001` (the trial's index in its experiment), else the name."""
    tail = name.rsplit("_", 1)[-1]
    return tail if tail.isdigit() and tail != name else name


def series_name(metric: str, source: str, trial: str | None = None) -> str:
    if trial:
        return f"{metric} [{_trial_index(trial)}] ({source})"
    return f"{metric} ({source})"


class PrintedMetrics:
    """Reads Ray's printed results out of a job's log, one line at a time."""

    def __init__(self) -> None:
        self._mode: str | None = None  # "status" | "result" | "config" while inside a block
        self._trial: str | None = None
        self._step: float | None = None
        self._state: str | None = None
        self._header: list[str] | None = None
        self._rows: dict[str, Any] = {}
        self._seen_rows = 0
        self._blank = 0

    def feed(self, line: str) -> list[Printed]:
        """The results this line completes (most lines: none)."""
        try:
            return self._feed(line)
        except Exception:  # a parser of untrusted text must never take the screen down
            self._reset()
            return []

    def _reset(self) -> None:
        self._mode = self._trial = self._step = self._state = None
        self._header = None
        self._rows = {}
        self._seen_rows = 0
        self._blank = 0

    def _feed(self, raw: str) -> list[Printed]:
        if len(raw) > MAX_LINE:
            return self._close()
        if "Reporting training result" in raw:
            return self._close() + self._train(clean(raw))
        if self._mode is None and "Trial" not in raw:
            return []
        line = clean(raw)
        if line.startswith("Trial "):
            out = self._close()
            self._open(line)
            return out
        if self._mode is None:
            return []
        cells = _row_cells(line)
        if cells is None:
            stripped = line.strip()
            if stripped and all(ch in _BORDER for ch in stripped):
                return []  # a border inside the table
            if self._mode == "status" and (self._header is None and not self._seen_rows):
                return []  # the lines between `Trial status:` and its table
            if not stripped:
                self._blank += 1
                return self._close() if self._seen_rows or self._blank > 1 else []
            return self._close()
        self._seen_rows += 1
        if self._seen_rows > MAX_TABLE_ROWS:
            return self._close()
        if self._mode == "status":
            return self._status_row(cells)
        self._pair_row(cells)
        return []

    def _open(self, line: str) -> None:
        self._reset()
        if _STATUS.match(line):
            self._mode = "status"
            return
        started = _TRIAL_STARTED.match(line)
        if started:
            self._mode, self._trial = "config", started.group(1)
            return
        event = _TRIAL_EVENT.match(line)
        if event:
            self._mode, self._trial = "result", event.group(1)
            if event.group(2):
                self._step, self._state = float(event.group(3)), "RUNNING"
            else:
                self._step = float(event.group(5))
                self._state = "TERMINATED" if event.group(4) == "completed" else "ERROR"

    def _pair_row(self, cells: list[str]) -> None:
        if len(cells) == 1 and self._trial and cells[0].startswith("Trial "):
            return  # the table's title: `Trial NAME result` / `Trial NAME config`
        if len(cells) >= 2:
            key, value = " ".join(cells[:-1]), cells[-1]
            if self._mode == "config":
                number = _number(value)
                self._rows[key] = value if number is None else number
            else:
                number = _number(value)
                if number is not None:
                    self._rows[key] = number

    def _status_row(self, cells: list[str]) -> list[Printed]:
        if self._header is None:
            if len(cells) >= 2 and cells[0] == "Trial name":
                self._header = cells
            return []
        if len(cells) != len(self._header) or not cells[0]:
            return []
        row = dict(zip(self._header, cells, strict=True))
        columns = self._header[2:]
        params_end = next((i for i, c in enumerate(columns) if c in _AUTO_COLUMNS), len(columns))
        config: dict[str, Any] = {}
        for name in columns[:params_end]:
            number = _number(row[name])
            config[name] = row[name] if number is None else number
        metrics = {
            name: number
            for name in columns[params_end:]
            if name not in _NOT_METRIC_COLUMNS and (number := _number(row[name])) is not None
        }
        step = _number(row.get("iter", "")) if "iter" in row else None
        return [
            Printed(
                TUNE_SOURCE,
                step if metrics else None,
                metrics if step is not None else {},
                trial=cells[0],
                state=row.get(self._header[1]) or None,
                config=config or None,
            )
        ]

    def _close(self) -> list[Printed]:
        mode, rows, trial = self._mode, self._rows, self._trial
        step, state = self._step, self._state
        self._reset()
        if trial is None:
            return []
        if mode == "config":
            return [Printed(TUNE_SOURCE, None, trial=trial, state="RUNNING", config=rows)]
        if mode == "result":
            if "training_iteration" in rows:
                step = rows["training_iteration"]
            metrics = {k: v for k, v in rows.items() if k not in _AUTO_KEYS}
            return [Printed(TUNE_SOURCE, step, metrics, trial=trial, state=state)]
        return []

    def _train(self, line: str) -> list[Printed]:
        match = _TRAIN.search(line)
        if match is None or match.group(3) != "0":
            return []
        metrics = python_dict_numbers(match.group(2))
        return [Printed(TRAIN_SOURCE, float(match.group(1)), metrics)] if metrics else []

    def finish(self) -> list[Printed]:
        """Whatever block the log ended in (a table that was the log's last lines)."""
        return self._close()


class LogMetrics:
    """A job's log lines -> its MetricSeries: the cockpit's own events when the job prints them
    (they are richer), else Ray's printed results. The first cockpit event drops what printed
    results had added, so a job never shows both."""

    def __init__(self, series: MetricSeries | None = None) -> None:
        self.series = series if series is not None else MetricSeries()
        self.printed = PrintedMetrics()
        self.has_events = False
        self._printed_names: set[str] = set()
        self._printed_trials: set[str] = set()

    def add_line(self, line: str) -> bool:
        """True when the series changed."""
        if MARKER in line:
            event = parse_event_line(line)
            if event is not None:
                if not self.has_events:
                    self.has_events = True
                    self._drop_printed()
                self.series.add(event)
                return True
        if self.has_events:
            return False
        return self.add_printed(self.printed.feed(line))

    def add_lines(self, lines: list[str]) -> bool:
        changed = False
        for line in lines:
            changed = self.add_line(line) or changed
        return changed

    def flush(self) -> bool:
        """The block the log ended in (call when the log is complete)."""
        return False if self.has_events else self.add_printed(self.printed.finish())

    def add_printed(self, results: list[Printed]) -> bool:
        changed = False
        for result in results:
            changed = self._add_one(result) or changed
        return changed

    def _add_one(self, result: Printed) -> bool:
        changed = False
        series = self.series
        if result.trial is not None:
            trial = series.trials.get(result.trial)
            if trial is None:
                trial = series.trials[result.trial] = Trial(result.trial)
                self._printed_trials.add(result.trial)
            if result.config:
                trial.config = dict(result.config)
            if result.state:
                trial.state = result.state
            trial.metrics.update(result.metrics)
            changed = True
        if result.step is None:
            return changed
        for metric, value in result.metrics.items():
            name = series_name(metric, result.source, result.trial)
            points = series.series.get(name)
            if points is None:
                points = series.series[name] = deque(maxlen=series.max_points)
                self._printed_names.add(name)
            if points and points[-1][0] >= result.step:
                continue  # the status table repeats what a result table said (or a restore)
            points.append((result.step, value))
            changed = True
        return changed

    def _drop_printed(self) -> None:
        for name in self._printed_names:
            self.series.series.pop(name, None)
        for trial_id in self._printed_trials:
            self.series.trials.pop(trial_id, None)
        self._printed_names.clear()
        self._printed_trials.clear()
