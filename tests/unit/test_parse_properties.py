"""Property tests (hypothesis) over every parser of dashboard answers and log text: the recorded
Ray 2.60 payloads (tests/fixtures, see its README), MUTATED. Any value at any path replaced by one
of another type (None, bools, ints up to 10**5000, NaN and infinities, numeric and odd strings,
nested junk, lists and objects nested thousands deep), keys deleted and added, lists and strings
cut, envelopes wrapped and unwrapped, the whole payload swapped; for text, real lines cut,
dropped, repeated, made very long, given unicode digits and absurd numbers, plus random text.

The property: a parser returns a value of its documented type, or raises BadResponse (the typed
bad-response error). Nothing else may escape. What it builds is sane: every field of a model has
its annotated type, every float is finite, every Usage fraction is within [0, 1].

Escapes these tests found in the parsers as they were (each fixed at its root):
- an int too large for a float (10**400) at any numeric field: OverflowError from `_num`; as an
  event metric or step: OverflowError from `math.isfinite`
- an int too long to print (10**5000), or a list or object nested past the recursion limit,
  where text was expected (ids, names, messages, labels, failed nodes): ValueError or
  RecursionError from `str()` in `_str`; the same in a payload of the wrong shape: from the
  `str(data)` of the BadResponse body, so the typed error itself could not be raised
- "1.2.3/4 CPU" in usage text: ValueError from `float()`; "1e999/2 CPU": an infinite Usage
- "² cpu_worker" in `ray status` (a digit to isdigit(), not to int()): ValueError
- an event line whose "kind" is a list: TypeError (unhashable) from `kind in KINDS`; a JSON text
  nested 5000 deep: RecursionError from json.loads; a NaN "step": a NaN step
- tail.is_terminal of a list: TypeError (unhashable)
Hardened on the way (a run against the old code would hang or need odder payloads): a pending
line "cpu_worker, 999999999 launching" built a billion PendingNodes (now at most 10,000 a line);
host memory and object store totals that overflow to inf now give no Usage.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Any

import hypothesis

from raycockpit.cockpit import parse
from raycockpit.cockpit.errors import BadResponse, preview
from raycockpit.cockpit.events import KINDS, MARKER, Event, MetricSeries, parse_event_line
from raycockpit.cockpit.events import parse_events as parse_event_text
from raycockpit.cockpit.models import (
    AutoscalerStatus,
    ClusterInfo,
    Gpu,
    Job,
    Node,
    ServeStatus,
    Snapshot,
    Usage,
)
from raycockpit.cockpit.report import snapshot_json, snapshot_text
from raycockpit.cockpit.tail import JobLogFollower, is_terminal, split_log

st = hypothesis.strategies
given = hypothesis.given
HealthCheck = hypothesis.HealthCheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fast(examples: int) -> Any:
    """Deterministic (the same examples on every run, no example database), and few enough that
    the whole file runs in about 16 s on the slow 2-core box."""
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


# -- walking a JSON payload ------------------------------------------------------------------

MAX_DEPTH = 10  # paths stop 10 levels down (the deep junk is 3000 levels deep)


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


def _all_paths(root: Any) -> list[tuple]:
    out: list[tuple] = [()]
    stack = [((), root)]
    while stack:
        path, node = stack.pop()
        if len(path) >= MAX_DEPTH:
            continue
        for key in _children(node):
            out.append((*path, key))
            stack.append(((*path, key), node[key]))
    return out


# -- the recorded payloads ------------------------------------------------------------------------


class Named(list):
    """The recorded payloads a strategy mutates, shown by name (hypothesis shows strategies)."""

    def __init__(self, name: str, items: list[Any]) -> None:
        super().__init__(items)
        self.name = name
        self.texts = [json.dumps(item) for item in items]  # json.loads: a quick deep copy
        self.paths = [_all_paths(item) for item in items]  # of each item as recorded
        keys = {path[-1] for paths in self.paths for path in paths if path}
        self.keys = sorted(k for k in keys if isinstance(k, str))

    def __repr__(self) -> str:
        return f"<{self.name}: {len(self)}>"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _data(pattern: str) -> list[Any]:
    """The `data` of every enveloped fixture matching `pattern` (what the client hands on)."""
    return [_fixture(p.name)["data"] for p in sorted(FIXTURES.glob(pattern))]


_NODE_DATA = _data("nodes_view_summary*.json")
NODE_DATA = Named("node summaries", _NODE_DATA)
NODE_RAWS = Named("nodes", [raw for data in _NODE_DATA for raw in data["summary"]])
GPU_RAWS = Named("gpus", [gpu for raw in NODE_RAWS for gpu in raw.get("gpus", [])])
STATUS_DATA = Named(
    "structured cluster status",
    [
        _fixture(p.name)["data"]
        for p in sorted(FIXTURES.glob("api_cluster_status*.json"))
        if "format1" not in p.name
    ],
)
STATUS_TEXTS = Named(
    "ray status texts", [d["clusterStatus"] for d in _data("api_cluster_status_format1*.json")]
)
USAGE_TEXTS = Named(
    "usage texts", [t for d in _NODE_DATA for t in d["nodeLogicalResources"].values()]
)
USAGE_LINES = Named(
    "usage lines",
    sorted({ln for text in STATUS_TEXTS + USAGE_TEXTS for ln in text.splitlines() if "/" in ln}),
)
JOBS = Named("job lists", [_fixture("api_jobs.json"), [_fixture("api_jobs_id.json")]])
JOB_RAWS = Named("jobs", [job for jobs in JOBS for job in jobs])
SERVE = Named("serve answers", [_fixture("api_serve_applications.json")])
JOB_LOG = (FIXTURES / "job_log_tune_smoke.txt").read_text()
EVENT_LINES = Named("event lines", [line for line in JOB_LOG.splitlines() if MARKER in line])
assert NODE_RAWS and GPU_RAWS and STATUS_DATA and STATUS_TEXTS and USAGE_LINES and EVENT_LINES

# -- junk values ----------------------------------------------------------------------------------

ODD_STRINGS = "nan NaN inf -Infinity 1e999 -1e999 -1 0 1.5 1_0 0x10 ² ٣ 1.2.3 null {} []".split()
ODD_STRINGS += ["", " ", " 7 ", "ALIVE", "DEAD", "RUNNING", "SUCCEEDED", "\x00", "\ud800", "é" * 3]
ODD_STRINGS += ["x" * 5000]


class Huge(int):
    """An int too long for str() (Python prints 4300 digits at most), which hypothesis can still
    show in a failing example. str() and float() of it fail as they do for a plain int."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"Huge(<int of {len(int.__repr__(self // 10**4000))} + 4000 digits>)")


ODD_NUMBERS = [0, -1, 1, 2**53 + 1, 2**63, -(2**63), 10**400, -(10**400), 1e308, -1e308]


class DeepList(list):
    """One level of a list nested thousands deep; hypothesis shows it short, not recursively."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("DeepList([[[...]]])")


class DeepDict(dict):
    """One level of an object nested thousands deep; hypothesis shows it short."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("DeepDict({'a': {'a': ...}})")


def _deep(depth: int, kind: str) -> Any:
    """A list (or object) nested `depth` deep: str() of it hits the recursion limit."""
    value: Any = 1
    for _ in range(depth):
        value = DeepList([value]) if kind == "list" else DeepDict(a=value)
    return value


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(ODD_NUMBERS),
    st.sampled_from([1, -1]).map(lambda sign: Huge(sign * 10**5000)),
    st.floats(),  # NaN and the infinities included
    st.text(max_size=12),
    st.sampled_from(ODD_STRINGS),
)
JUNK = st.recursive(
    LEAVES,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4)
    ),
    max_leaves=8,
)
DEEP = st.builds(_deep, st.just(3000), st.sampled_from(["list", "dict"]))
VALUES = st.one_of(JUNK, JUNK, JUNK, DEEP)  # deep junk one time in four

# -- mutating a JSON payload ----------------------------------------------------------------------


def _get(holder: dict, path: tuple) -> Any:
    node = holder["root"]
    for key in path:
        node = node[key]
    return node


def _put(holder: dict, path: tuple, value: Any) -> None:
    if path:
        _get(holder, path[:-1])[path[-1]] = value
    else:
        holder["root"] = value


@st.composite
def _path(draw: Any, holder: dict, paths: list[tuple] | None) -> tuple:
    """One of `paths` (all of the payload as recorded, uniformly), or a walk down from the root
    that stops at each level with probability 1/4 (so the top-level fields the parsers read are
    hit often)."""
    if paths and draw(st.booleans()):
        return draw(st.sampled_from(paths))
    path: tuple = ()
    node = holder["root"]
    while len(path) < MAX_DEPTH and _children(node) and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(_children(node)))
        path, node = (*path, key), node[key]
    return path


OPS = ("replace", "replace", "stringify", "delete", "add", "truncate", "wrap", "unwrap", "dup")
ENVELOPES = (
    lambda x: {"result": True, "msg": "ok", "data": x},
    lambda x: {"result": False, "msg": "error", "data": x},
    lambda x: {"data": x},
    lambda x: [x],
)


@st.composite
def mutated(draw: Any, bases: Named, *, deep: bool = True) -> Any:
    """One of `bases`, copied, then changed 1-4 times at random paths."""
    values = VALUES if deep else JUNK
    keys = st.sampled_from(bases.keys) | st.text(max_size=8) if bases.keys else st.text(max_size=8)
    which = draw(st.integers(0, len(bases) - 1))
    holder = {"root": json.loads(bases.texts[which])}
    for i in range(draw(st.integers(1, 4))):
        path = draw(_path(holder, bases.paths[which] if i == 0 else None))
        node = _get(holder, path)
        op = draw(st.sampled_from(OPS))
        if op == "replace" or (op == "delete" and not path):
            _put(holder, path, draw(values))
        elif op == "stringify" and isinstance(node, (int, float)) and not isinstance(node, Huge):
            _put(holder, path, str(node))  # Ray sends some numbers as strings (pid: "19337")
        elif op == "delete":
            del _get(holder, path[:-1])[path[-1]]
        elif op == "add" and isinstance(node, dict):
            node[draw(keys)] = draw(values)
        elif op == "add" and isinstance(node, list):
            node.insert(draw(st.integers(0, len(node))), draw(values))
        elif op == "truncate" and isinstance(node, (list, str)):
            _put(holder, path, node[: draw(st.integers(0, len(node)))])
        elif op == "truncate" and isinstance(node, dict):
            keep = list(node)[: draw(st.integers(0, len(node)))]
            _put(holder, path, {k: node[k] for k in keep})
        elif op == "wrap":
            _put(holder, path, draw(st.sampled_from(ENVELOPES))(node))
        elif op == "unwrap" and _children(node):
            _put(holder, path, node[draw(st.sampled_from(_children(node)))])
        elif op == "dup" and isinstance(node, list) and node:
            node.extend(node[: draw(st.integers(1, len(node)))])  # shared items: fine
    return holder["root"]


# -- mutating text -------------------------------------------------------------------------------

NUMBER_TOKENS = (
    "0 -1 99999999999 999999999 1e999 1e308 1.2.3 . .. ² ٣ ١٢ nan inf 0x1F 1_000".split()
)
NUMBER_TOKENS += ["9" * 5000]
_ODD_STATUS = """\
Node status
Active:
Idle:
Pending:
Recent failures:
Resources
Usage:
Total Usage:
Pending Demands:
Demands:
From request_resources:
======== Autoscaler status: 2026-11-26 03:51:50 ========
 3 cpu_worker
 ² cpu_worker
 9999999999999 cpu_worker
 cpu_worker, 999999999 launching
 cpu_worker, ² launching
 cpu_worker, 2 launching
 127.0.0.1: cpu_worker, launching
 : ,
 ,
 (no pending nodes)
 1.2.3/4 CPU
 ./2 CPU
 1e999/2 CPU
 1e308/1e308 TiB
 1/1e999PiB memory
 0.0/2.0 CPU
 ²/2 CPU
 0B/16.13GiB memory
 {'CPU': 1.0}: 1+ pending tasks/actors"""
STATUS_LINES = Named(
    "odd ray status lines",
    _ODD_STATUS.split("\n")
    + ["-" * 60, " " + "9" * 5000 + " gpu", "Autoscaler status: " + "x" * 5000, " " + "é" * 2000],
)
LINE_OPS = ("cut", "cut_text", "replace", "insert", "dup", "delete", "digits", "long", "unicode")
LINE_OPS += ("number", "indent", "crlf", "section", "section")
HEADER = re.compile(r"^[A-Z][A-Za-z _()]+:\s*$")


@st.composite
def mutated_text(draw: Any, bases: list[str], pool: list[str]) -> str:
    """One of `bases` with 1-4 line-level changes; now and then plain random text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    lines = bases[draw(st.integers(0, len(bases) - 1))].split("\n")
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(LINE_OPS))
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        line = lines[at] if lines else ""
        headers = [i for i, text in enumerate(lines) if HEADER.match(text)]
        if op == "insert" or not lines:
            lines.insert(at, draw(st.sampled_from(pool) | st.text(max_size=40)))
        elif op == "section" and headers:  # an odd line where a section's lines are read
            lines.insert(draw(st.sampled_from(headers)) + 1, draw(st.sampled_from(pool)))
        elif op == "cut":
            lines[at] = line[: draw(st.integers(0, len(line)))]
        elif op == "cut_text":
            lines = lines[:at] + [line[: draw(st.integers(0, len(line)))]]
        elif op == "replace":
            lines[at] = draw(st.text(max_size=40))
        elif op == "dup":
            lines.insert(draw(st.integers(0, len(lines))), line)
        elif op == "delete":
            del lines[at]
        elif op == "digits":
            digit = draw(st.sampled_from("²³٣߂०𝟗"))  # ² and ³: isdigit() but not int()
            lines[at] = re.sub(r"[0-9]", digit, line)
        elif op == "long":
            lines[at] = (line or "x") * (draw(st.sampled_from([2_000, 20_000])) // (len(line) or 1))
        elif op == "unicode":
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.text(min_size=1, max_size=6)) + line[cut:]
        elif op == "number":
            lines[at] = re.sub(r"[0-9.]+", draw(st.sampled_from(NUMBER_TOKENS)), line, count=1)
        elif op == "indent":
            lines[at] = line.strip() if line.startswith(" ") else " " + line
        elif op == "crlf":
            lines[at] = line + "\r"
    return "\n".join(lines)


# -- what the results must be ---------------------------------------------------------------------


def _conforms(value: Any, hint: Any, where: str) -> None:
    """`value` has the annotated type `hint`; floats finite; nested models checked too."""
    if hint is Any:
        return
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return
        (inner,) = [a for a in args if a is not type(None)]
        _conforms(value, inner, where)
    elif origin is tuple:
        assert isinstance(value, tuple), f"{where}: {type(value).__name__}, not a tuple"
        items = args[:1] * len(value) if args[-1:] == (Ellipsis,) else args
        assert len(items) == len(value), f"{where}: {len(value)} items"
        for i, (item, item_hint) in enumerate(zip(value, items, strict=True)):
            _conforms(item, item_hint, f"{where}[{i}]")
    elif origin is dict:
        assert isinstance(value, dict), f"{where}: {type(value).__name__}, not a dict"
        for key, item in value.items():
            _conforms(key, args[0], f"{where} key")
            _conforms(item, args[1], f"{where}[{key!r}]")
    elif origin is list:
        assert isinstance(value, list), f"{where}: {type(value).__name__}, not a list"
        for i, item in enumerate(value):
            _conforms(item, args[0], f"{where}[{i}]")
    elif hint is float:
        assert isinstance(value, float), f"{where}: {value!r} is not a float"
        assert math.isfinite(value), f"{where}: {value!r} is not finite"
    elif hint is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r}"
    elif dataclasses.is_dataclass(hint):
        assert isinstance(value, hint), f"{where}: {type(value).__name__}, not {hint.__name__}"
        sane(value, where)
    else:
        assert isinstance(value, hint), f"{where}: {type(value).__name__}, not {hint}"


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def sane(model: Any, where: str = "result") -> None:
    """Every field of a model (a dataclass) has its annotated type, recursively."""
    hints = _hints(type(model))
    for field in dataclasses.fields(model):
        _conforms(getattr(model, field.name), hints[field.name], f"{where}.{field.name}")
    if isinstance(model, Usage):
        assert 0.0 <= model.fraction <= 1.0, where


BAD = object()  # the parser raised BadResponse


def run(parser: Any, *args: Any) -> Any:
    """The parser's result, or BAD when it raised the typed bad-response error. Any other
    exception propagates and fails the property, with the payload that raised it."""
    try:
        return parser(*args)
    except BadResponse as exc:
        assert isinstance(str(exc), str)
        return BAD


def _models(value: Any, kind: type) -> tuple:
    assert isinstance(value, tuple), type(value)
    for item in value:
        assert isinstance(item, kind), type(item)
        sane(item)
    return value


# -- nodes and GPUs ------------------------------------------------------------------------------


@fast(100)
@given(mutated(NODE_DATA))
def test_parse_nodes_takes_any_mutated_node_summary(data):
    nodes = run(parse.parse_nodes, data)
    if nodes is not BAD:
        _models(nodes, Node)
        heads = [n.is_head for n in nodes]
        assert heads == sorted(heads, reverse=True)  # the head first


@fast(100)
@given(mutated(NODE_RAWS), mutated_text(USAGE_TEXTS, STATUS_LINES))
def test_parse_node_takes_any_mutated_node_and_logical_text(raw, logical):
    node = parse.parse_node(raw, logical)  # no BadResponse here: a bad node is None
    if node is not None:
        sane(node)
        assert node.node_id and node.logical_text == logical


@fast(60)
@given(mutated(GPU_RAWS), st.text(max_size=8), st.text(max_size=8))
def test_parse_gpu_takes_any_mutated_gpu(raw, node_id, host):
    gpu = parse.parse_gpu(raw, node_id, host)
    if gpu is not None:
        sane(gpu)
        assert isinstance(gpu, Gpu) and gpu.processes >= 0


# -- autoscaler --------------------------------------------------------------------------------


@fast(150)
@given(mutated_text(STATUS_TEXTS, STATUS_LINES))
def test_parse_autoscaler_text_takes_any_mutated_ray_status(text):
    status = parse.parse_autoscaler_text(text)
    assert isinstance(status, AutoscalerStatus)
    sane(status)
    assert status.raw_text == text
    assert status.pending_count <= 10_000 * max(1, len(text.splitlines()))


@fast(30)
@given(mutated(Named("texts and non-texts", [*STATUS_TEXTS, None, 0, [], {}])))
def test_parse_autoscaler_text_of_no_text_is_bad_response(value):
    status = run(parse.parse_autoscaler_text, value)
    if status is BAD:
        assert value is not None and not isinstance(value, str)
    else:
        sane(status)


@fast(80)
@given(st.sampled_from(STATUS_TEXTS), mutated(STATUS_DATA))
def test_merge_structured_autoscaler_takes_any_mutated_report(text, data):
    base = parse.parse_autoscaler_text(text)
    merged = parse.merge_structured_autoscaler(base, data)
    assert isinstance(merged, AutoscalerStatus)
    sane(merged)
    assert merged.failures[: len(base.failures)] == base.failures


@fast(100)
@given(
    mutated_text(USAGE_LINES, STATUS_LINES)
    | st.from_regex(parse._USAGE_RE)
    | st.sampled_from(STATUS_LINES)
)
def test_usage_lines_and_blocks_take_anything(text):
    for line in text.splitlines() or [text]:
        usage = parse.parse_usage_line(line)
        if usage is not None:
            sane(usage)
    block = parse.parse_usage_block(text)
    assert isinstance(block, dict)
    for name, usage in block.items():
        sane(usage)
        assert usage.name == name


# -- jobs and serve ----------------------------------------------------------------------------


@fast(100)
@given(mutated(JOBS))
def test_parse_jobs_takes_any_mutated_job_list(data):
    jobs = run(parse.parse_jobs, data)
    if jobs is BAD:  # not a list, or not one job in it
        assert not isinstance(data, list) or all(parse.parse_job(x) is None for x in data)
    else:
        _models(jobs, Job)
        starts = [j.start_time_ms or 0 for j in jobs]
        assert starts == sorted(starts, reverse=True)


@fast(60)
@given(mutated(JOB_RAWS))
def test_parse_job_takes_any_mutated_job(raw):
    job = parse.parse_job(raw)
    if job is not None:
        sane(job)
        assert job.key


@fast(100)
@given(mutated(SERVE))
def test_parse_serve_takes_any_mutated_serve_answer(data):
    serve = run(parse.parse_serve, data)
    if serve is BAD:
        assert not isinstance(data, dict)
    else:
        assert isinstance(serve, ServeStatus)
        sane(serve)


# -- the tolerant readers and the error bodies -------------------------------------------------


@fast(120)
@given(VALUES)
def test_tolerant_readers_take_anything(value):
    number = parse._num(value)
    assert number is None or (type(number) is float and math.isfinite(number))
    whole = parse._int(value)
    assert whole is None or type(whole) is int
    assert type(parse._str(value)) is str
    assert isinstance(parse._dict(value), dict) and isinstance(parse._list(value), list)
    pair = parse._pair(value)
    assert pair is None or all(type(x) is float and math.isfinite(x) for x in pair)
    shown = preview(value, 200)
    assert type(shown) is str and len(shown) <= 200


# -- whatever parses can be reported -------------------------------------------------------------


@fast(40)
@given(
    mutated(NODE_DATA, deep=False),
    mutated_text(STATUS_TEXTS, STATUS_LINES),
    mutated(JOBS, deep=False),
    mutated(SERVE, deep=False),
)
def test_the_report_renders_whatever_the_parsers_built(nodes, text, jobs, serve):
    sections = {
        "nodes": run(parse.parse_nodes, nodes),
        "autoscaler": run(parse.parse_autoscaler_text, text),
        "jobs": run(parse.parse_jobs, jobs),
        "serve": run(parse.parse_serve, serve),
    }
    snap = Snapshot(
        info=ClusterInfo(address="http://127.0.0.1:8265", ray_version="2.60.0"),
        fetched_at=1_790_000_000.0,
        errors={name: "bad" for name, value in sections.items() if value is BAD},
        **{name: value for name, value in sections.items() if value is not BAD},
    )
    assert isinstance(snapshot_text(snap), str)
    assert isinstance(json.loads(snapshot_json(snap)), dict)


# -- progress events in job logs -------------------------------------------------------------------


def _event_json_lines() -> list[Any]:
    payloads = [json.loads(line[line.index(MARKER) + len(MARKER) :]) for line in EVENT_LINES]
    return Named("event payloads", payloads)


def _as_line(payload: Any, prefix: str) -> str:
    try:
        return prefix + MARKER + json.dumps(payload)
    except (ValueError, RecursionError):  # the test's own serialising (10**5000, deep junk)
        return prefix + MARKER + "{}"


EVENT_POOL = Named(
    "odd event lines",
    [
        MARKER + "[" * 5000,
        MARKER + '{"kind": ' * 3000,
        MARKER + '{"kind": ["metric"], "metrics": {}}',
        MARKER + '{"kind": {"a": 1}}',
        MARKER
        + '{"kind": "metric", "step": 1'
        + "0" * 400
        + ', "metrics": {"a": 1'
        + "0" * 400
        + "}}",
        MARKER + '{"kind": "metric", "metrics": {"a": ' + "9" * 5000 + "}}",
        MARKER + '{"kind": "metric", "step": NaN, "metrics": {"loss": Infinity, "acc": NaN}}',
        MARKER + '{"kind": "trial", "trial_id": [1], "state": {"x": null}, "config": []}',
        MARKER + '{"kind": "metric", "metrics": [1, 2]}',
        MARKER,
        "(RayTrainWorker pid=1, ip=10.0.0.1) " + MARKER + '{"kind": "end", "workload": null}',
    ],
)
EVENT_TEXT = st.one_of(
    st.builds(_as_line, mutated(_event_json_lines()), st.sampled_from(["", "(pid=1) ", "x"])),
    mutated_text(EVENT_LINES, EVENT_POOL),
    st.sampled_from(EVENT_POOL),
)


@fast(120)
@given(st.lists(EVENT_TEXT, min_size=1, max_size=4))
def test_event_lines_take_anything(lines):
    series = MetricSeries(max_points=5)
    for line in lines:
        event = parse_event_line(line)
        if event is None:
            continue
        assert isinstance(event, Event) and event.kind in KINDS
        assert type(event.workload) is str and isinstance(event.data, dict)
        metrics = event.metrics
        assert all(type(k) is str and math.isfinite(v) for k, v in metrics.items())
        assert event.step is None or math.isfinite(event.step)
        series.add(event)
    assert all(math.isfinite(v) for v in series.last().values())
    assert all(type(t.state) is str for t in series.trials.values())
    events = parse_event_text("\n".join(lines))
    assert all(isinstance(e, Event) for e in events)


# -- the log tail's line splitting ---------------------------------------------------------------


LOG_TEXT = mutated_text(Named("logs", [JOB_LOG, "", "\n", "a\nb", "no newline"]), EVENT_POOL)
LOG_TEXT |= st.text()


@fast(80)
@given(LOG_TEXT, VALUES)
def test_split_log_and_is_terminal_take_anything(text, status):
    lines = split_log(text)
    assert isinstance(lines, list) and all(type(x) is str and "\n" not in x for x in lines)
    assert "\n".join(lines) + ("\n" if text.endswith("\n") else "") == text
    assert is_terminal(status) in (True, False)


class _OneSocket:
    """A dashboard that sends the log once, in the given pieces, and ends the job."""

    def __init__(self, text: str, cuts: list[int]) -> None:
        self.text = text
        bounds = [0, *sorted(set(cuts)), len(text)]
        self.chunks = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]

    async def tail_job_logs(self, job_id: str) -> Any:
        for chunk in self.chunks:
            yield chunk

    async def get_job(self, job_id: str) -> dict:
        return {"status": "SUCCEEDED"}

    async def job_logs(self, job_id: str) -> str:
        return self.text


@fast(50)
@given(st.data())
def test_the_follower_splits_any_chunking_like_split_log(data):
    text = data.draw(LOG_TEXT)
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=12))
    got: list[str] = []
    final = asyncio.run(JobLogFollower(_OneSocket(text, cuts), "j").run(got.extend))
    assert final.job_status == "SUCCEEDED"
    assert got == split_log(text)
