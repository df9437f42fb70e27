"""Dashboard answers as raw bytes -> models, meant to run in a worker thread (the poller's).

The big answers are decoded PARTIALLY: msgspec reads only the fields that parse.py looks at and
skips the rest of the bytes without building Python objects for them. At 1,000 nodes x 8 GPUs
the node summary is 18 MB, almost all of it fields the cockpit never shows; json.loads of it
took 280 ms and 57 MB here, the typed partial decode 44 ms and 15 MB.

- The node summary is decoded as its envelope with `data.summary` as a list of raw items (one
  fast scan of the bytes), then each node with the typed partial schema `NodeFields` into a dict
  of just those keys, which parse.parse_nodes takes unchanged. A node whose fields have
  unexpected types (msgspec.ValidationError) falls back to a full decode of that node alone; a
  payload whose envelope is not the expected shape falls back to the tolerant path (the whole
  answer decoded untyped, the envelope checks, then parse.parse_nodes), which
  says what was wrong. Many short decodes instead of one long call also let the event loop's
  thread take the GIL back between them.
- The job list is decoded as a list of raw items; `JobsDecoder` reuses the Job of every item
  whose bytes did not change since the previous answer (the same object, not decoded again).
- The single job, Serve and the autoscaler's answers are small: decoded whole, then parsed.

Whatever the bytes, the only error that leaves a decode function is errors.BadResponse: invalid
JSON, HTML, empty and truncated bodies included. The stateful decoders (`NodesDecoder`,
`JobsDecoder`, `Reusing`, `AutoscalerDecoder`) hand back THE SAME object when the answer did not
change (the same bytes, or models equal to the previous ones), so callers can skip work with
`is`; they are not thread-safe: one decode at a time per decoder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypedDict, TypeVar

import msgspec

from raycockpit.cockpit.errors import BadResponse, preview
from raycockpit.cockpit.models import AutoscalerStatus, Job, Node, ServeStatus
from raycockpit.cockpit.parse import (
    merge_structured_autoscaler,
    parse_autoscaler_text,
    parse_job,
    parse_jobs,
    parse_nodes,
    parse_serve,
    unreadable_jobs,
)

Buffer = bytes | bytearray | memoryview
T = TypeVar("T")

# Called every STEP_EVERY nodes or jobs of a long decode, in the thread that decodes: the poller
# sets it to let the UI thread have the GIL while it answers a key (poller.keys_pressed).
STEP_ASIDE: ContextVar[Callable[[], None] | None] = ContextVar("step_aside", default=None)
STEP_EVERY = 50


def _stepping(items: Iterator[T]) -> Iterator[T]:
    """`items`, calling STEP_ASIDE (when set) every STEP_EVERY of them."""
    step = STEP_ASIDE.get()
    if step is None:
        yield from items
        return
    for i, item in enumerate(items):
        if i % STEP_EVERY == STEP_EVERY - 1:
            step()
        yield item


NODES_WHAT = "GET /nodes?view=summary"
JOBS_WHAT = "GET /api/jobs/"
SERVE_WHAT = "GET /api/serve/applications/"
STATUS_WHAT = "GET /api/cluster_status"
STATUS_TEXT_WHAT = "GET /api/cluster_status?format=1"

# -- the partial schemas: exactly the keys parse.py reads (tests/unit/test_decode.py checks it) --


class GpuFields(TypedDict, total=False):
    """What parse.parse_gpu reads of one GPU entry."""

    index: Any
    name: Any
    uuid: Any
    utilizationGpu: Any
    memoryUsed: Any
    memoryTotal: Any
    temperatureC: Any
    powerMw: Any
    processesPids: Any


class RayletFields(TypedDict, total=False):
    """What parse.parse_node reads of a node's `raylet`."""

    nodeId: Any
    nodeManagerHostname: Any
    nodeManagerAddress: Any
    resourcesTotal: Any
    objectStoreUsedMemory: Any
    objectStoreAvailableMemory: Any
    isHeadNode: Any
    state: Any
    stateSnapshot: Any
    nodeTypeName: Any
    stateMessage: Any
    labels: Any
    startTimeMs: Any
    metricsExportPort: Any


class NodeFields(TypedDict, total=False):
    """What parse.parse_node reads of one node summary (the rest of its ~18 KB is skipped)."""

    hostname: Any
    ip: Any
    cpu: Any
    cpus: Any
    mem: Any
    disk: Any
    loadAvg: Any
    gpus: list[GpuFields] | None
    raylet: RayletFields | None


class _NodesData(msgspec.Struct):
    summary: list[msgspec.Raw]
    nodeLogicalResources: Any = None


class _NodesEnvelope(msgspec.Struct):
    data: _NodesData
    result: Any = None
    msg: Any = None


class AutoscalerReportFields(TypedDict, total=False):
    failedNodes: Any


class ClusterStatusFields(TypedDict, total=False):
    autoscalerReport: AutoscalerReportFields | None


class StructuredFields(TypedDict, total=False):
    """What parse.merge_structured_autoscaler reads of the structured cluster status."""

    autoscalingError: Any
    clusterStatus: ClusterStatusFields | None


class _StructuredEnvelope(msgspec.Struct):
    data: StructuredFields
    result: Any = None
    msg: Any = None


_NODES = msgspec.json.Decoder(_NodesEnvelope)
_NODE = msgspec.json.Decoder(NodeFields)
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_STRUCTURED = msgspec.json.Decoder(_StructuredEnvelope)
_ANY = msgspec.json.Decoder()

# what msgspec raises on bytes it will not take: DecodeError (ValidationError is one), also
# RecursionError (nested too deep) and UnicodeDecodeError (a ValueError) on invalid UTF-8
_MSGSPEC_ERRORS = (msgspec.DecodeError, RecursionError, ValueError)


# -- small helpers ------------------------------------------------------------------------------


def _start(raw: Buffer) -> str:
    """The first bytes of a body as text, for a BadResponse."""
    return bytes(raw[:300]).decode("utf-8", "replace")


def digest(raw: Buffer) -> bytes:
    """A short fingerprint of a body (SHA-1: hashlib drops the GIL while hashing big buffers)."""
    return hashlib.sha1(raw, usedforsecurity=False).digest()


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """Nothing but BadResponse leaves: anything else a parser raises on odd data becomes one."""
    try:
        yield
    except BadResponse:
        raise
    except Exception as exc:
        raise BadResponse(f"{what}: unreadable answer ({type(exc).__name__})") from None


def _loads(raw: Buffer, what: str) -> Any:
    """Untyped, tolerant: msgspec first, then json.loads (which also takes NaN, Infinity, 1e999
    and UTF-16/32); neither -> BadResponse("... did not return JSON") as client._json says."""
    try:
        return _ANY.decode(raw)
    except _MSGSPEC_ERRORS:
        pass
    try:
        return json.loads(bytes(raw) if isinstance(raw, memoryview) else raw)
    except (ValueError, RecursionError, TypeError):
        raise BadResponse(f"{what} did not return JSON", body=_start(raw)) from None


def _item(raw: Buffer) -> Any:
    """One item of a list already scanned as valid JSON; None when it cannot be read."""
    try:
        return _ANY.decode(raw)
    except _MSGSPEC_ERRORS:
        pass
    try:
        return json.loads(bytes(raw))
    except (ValueError, RecursionError):
        return None


def checked_envelope(payload: Any, what: str) -> dict[str, Any]:
    """`data` of a `{"result": true, "msg": ..., "data": {...}}` answer (the client's too)."""
    if not isinstance(payload, dict) or "data" not in payload:
        raise BadResponse(f"{what}: unexpected answer", body=preview(payload))
    if payload.get("result") is False:
        raise BadResponse(f"{what} failed", body=preview(payload.get("msg", "")))
    data = payload["data"]
    if not isinstance(data, dict):
        raise BadResponse(f"{what}: 'data' is not an object", body=preview(data))
    return data


def _reuse(new: tuple[T, ...], old: tuple[T, ...], key: Callable[[T], Any]) -> tuple[T, ...]:
    """`new` with every item equal to the old item of its key replaced by that old object; the
    old tuple itself when every item and the order are unchanged."""
    if not old:
        return new
    before = {key(item): item for item in old}
    out = []
    for item in new:
        previous = before.get(key(item))
        out.append(previous if previous is not None and previous == item else item)
    if len(out) == len(old) and all(a is b for a, b in zip(out, old, strict=True)):
        return old
    return tuple(out)


# -- nodes ---------------------------------------------------------------------------------------


def _node_dict(raw: Buffer) -> Any:
    try:
        return _NODE.decode(raw)
    except _MSGSPEC_ERRORS:  # a field of an unexpected type: this node in full, parse.py decides
        return _item(raw)


class _Summary(list):
    """data.summary for parse_nodes: the nodes' raw items, each decoded only when parse_nodes
    reaches it. One node's dicts at a time rather than all 1,000 nodes' at once: far fewer
    objects alive together, so far less work (and shorter pauses) for the garbage collector."""

    def __iter__(self) -> Iterator[Any]:
        for item in _stepping(super().__iter__()):
            yield _node_dict(item)

    def __getitem__(self, index: Any) -> Any:
        item = super().__getitem__(index)
        return [_node_dict(i) for i in item] if isinstance(index, slice) else _node_dict(item)


def decode_nodes(raw: Buffer) -> tuple[Node, ...]:
    """GET /nodes?view=summary bytes -> nodes, as parse_nodes(json.loads(raw)["data"]) gives."""
    with _reading(NODES_WHAT):
        try:
            envelope = _NODES.decode(raw)
        except _MSGSPEC_ERRORS:
            return parse_nodes(checked_envelope(_loads(raw, NODES_WHAT), NODES_WHAT))
        if envelope.result is False:
            raise BadResponse(f"{NODES_WHAT} failed", body=preview(envelope.msg or ""))
        data = envelope.data
        summary = _Summary(data.summary)
        return parse_nodes({"summary": summary, "nodeLogicalResources": data.nodeLogicalResources})


class NodesDecoder:
    """decode_nodes that keeps identity: the same bytes as last time give back the last tuple
    without decoding; a node equal to its last value is the last Node object; when all are, and
    in the same order, the last tuple itself."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._digest = b""
        self._nodes: tuple[Node, ...] = ()

    def decode(self, raw: Buffer) -> tuple[Node, ...]:
        fingerprint = digest(raw)
        if fingerprint == self._digest:
            return self._nodes
        nodes = _reuse(decode_nodes(raw), self._nodes, key=lambda n: n.node_id)
        self._digest, self._nodes = fingerprint, nodes
        return nodes


# -- jobs ----------------------------------------------------------------------------------------


def job_order(job: Job) -> tuple[int, str]:
    """The sort key of parse.parse_jobs (newest first with reverse=True)."""
    return (job.start_time_ms or 0, job.key)


def _parse_job_bytes(raw: Buffer) -> Job | None:
    return parse_job(_item(raw))


class JobsDecoder:
    """GET /api/jobs/ bytes -> jobs, newest first (parse_jobs' order), decoding only what changed.

    The list is scanned into raw items; a job whose bytes are the same as in the previous answer
    is THE SAME Job object as before, not decoded again. When no job changed and the order is the
    same, the previous tuple itself comes back. The cache holds only the current list's jobs.
    `clear()` drops it (a new Ray session: job ids can repeat).
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._digest = b""
        self._cache: dict[bytes, Job | None] = {}
        self._jobs: tuple[Job, ...] = ()

    def decode(self, raw: Buffer) -> tuple[Job, ...]:
        with _reading(JOBS_WHAT):
            fingerprint = digest(raw)
            if fingerprint == self._digest:
                return self._jobs
            try:
                items = _RAW_LIST.decode(raw)
            except _MSGSPEC_ERRORS:  # not a list, or not JSON: the tolerant path says which
                jobs = parse_jobs(_loads(raw, JOBS_WHAT))
                self.clear()
                self._digest, self._jobs = fingerprint, jobs
                return jobs
            cache, fresh = self._cache, {}
            found = []
            for item in _stepping(iter(items)):
                key = digest(item)  # not the bytes: 10,000 jobs' bytes were 6.6 MB kept
                if key in fresh:
                    job = fresh[key]
                elif key in cache:
                    job = cache[key]
                else:
                    job = _parse_job_bytes(item)
                fresh[key] = job
                if job is not None:
                    found.append(job)
            if items and not found:
                raise unreadable_jobs([_item(bytes(items[0]))])
            found.sort(key=job_order, reverse=True)
            jobs = tuple(found)
            old = self._jobs
            if len(jobs) == len(old) and all(a is b for a, b in zip(jobs, old, strict=True)):
                jobs = old
            self._digest, self._cache, self._jobs = fingerprint, fresh, jobs
            return jobs


def decode_jobs(raw: Buffer) -> tuple[Job, ...]:
    """GET /api/jobs/ bytes -> jobs, as parse_jobs(json.loads(raw)) gives (no cache)."""
    return JobsDecoder().decode(raw)


def decode_job(raw: Buffer, job_id: str = "") -> Job:
    """GET /api/jobs/{job_id} bytes -> the Job."""
    what = f"GET /api/jobs/{job_id}"
    with _reading(what):
        data = _loads(raw, what)
        if not isinstance(data, dict):
            raise BadResponse(f"{what}: expected an object", body=preview(data))
        job = parse_job(data)
        if job is None:
            raise BadResponse(f"{what}: no submission_id nor job_id", body=preview(data))
        return job


def merge_job(jobs: tuple[Job, ...], job: Job) -> tuple[Job, ...]:
    """`jobs` with `job` in it: replacing the one of its key, or added, in parse_jobs' order; the
    same tuple when it is already there unchanged."""
    for i, old in enumerate(jobs):
        if old.key == job.key:
            if old == job:
                return jobs
            merged = (*jobs[:i], job, *jobs[i + 1 :])
            if job_order(old) == job_order(job):
                return merged
            return tuple(sorted(merged, key=job_order, reverse=True))
    return tuple(sorted((*jobs, job), key=job_order, reverse=True))


def drop_job(jobs: tuple[Job, ...], job_id: str) -> tuple[Job, ...]:
    """`jobs` without the job of that submission id or job id (the same tuple if none)."""
    kept = tuple(j for j in jobs if job_id not in (j.key, j.submission_id, j.job_id))
    return jobs if len(kept) == len(jobs) else kept


# -- serve and the autoscaler ----------------------------------------------------------------


def decode_serve(raw: Buffer) -> ServeStatus:
    """GET /api/serve/applications/ bytes -> ServeStatus."""
    with _reading(SERVE_WHAT):
        return parse_serve(_loads(raw, SERVE_WHAT))


def decode_cluster_status_text(raw: Buffer) -> str:
    """GET /api/cluster_status?format=1 bytes -> the `ray status` text ("" when none yet)."""
    with _reading(STATUS_TEXT_WHAT):
        data = checked_envelope(_loads(raw, STATUS_TEXT_WHAT), STATUS_TEXT_WHAT)
        text = data.get("clusterStatus")
        if text is None:
            return ""
        if not isinstance(text, str):
            raise BadResponse("cluster status text is not text", body=preview(text))
        return text


def decode_cluster_status(raw: Buffer) -> dict[str, Any]:
    """GET /api/cluster_status bytes -> its `data`, with only what merge_structured_autoscaler
    reads (the per-node load report of a big cluster is skipped)."""
    with _reading(STATUS_WHAT):
        try:
            envelope = _STRUCTURED.decode(raw)
        except _MSGSPEC_ERRORS:
            return checked_envelope(_loads(raw, STATUS_WHAT), STATUS_WHAT)
        if envelope.result is False:
            raise BadResponse(f"{STATUS_WHAT} failed", body=preview(envelope.msg or ""))
        return dict(envelope.data)


def decode_autoscaler(text_raw: Buffer, structured: Any = None) -> AutoscalerStatus:
    """The `ray status` text answer (and the structured report's data, if known) -> status."""
    text = decode_cluster_status_text(text_raw)
    with _reading(STATUS_TEXT_WHAT):
        status = parse_autoscaler_text(text)
        if structured is not None:
            status = merge_structured_autoscaler(status, structured)
        return status


class Reusing(Generic[T]):
    """A decode function that keeps identity: the same bytes as last time give back the last
    value without decoding; a value equal to the last one is the last object."""

    def __init__(self, decode: Callable[[Buffer], T]) -> None:
        self._decode = decode
        self.clear()

    def clear(self) -> None:
        self._digest = b""
        self._value: Any = None

    def decode(self, raw: Buffer) -> T:
        fingerprint = digest(raw)
        if fingerprint == self._digest:
            return self._value
        value = self._decode(raw)
        if self._digest and value == self._value:
            value = self._value
        self._digest, self._value = fingerprint, value
        return value


class AutoscalerDecoder:
    """The autoscaler section: the `ray status` text answer, merged with the last structured
    report; the last AutoscalerStatus object when neither changed."""

    def __init__(self) -> None:
        self._text = Reusing(decode_cluster_status_text)
        self._structured = Reusing(decode_cluster_status)
        self.clear()

    def clear(self) -> None:
        self._text.clear()
        self._structured.clear()
        self.structured: dict[str, Any] | None = None
        self._inputs: tuple[Any, Any] | None = None
        self._status: AutoscalerStatus | None = None

    def decode_structured(self, raw: Buffer) -> None:
        """Keep the structured report (fetched on a slower beat) for the next decodes."""
        self.structured = self._structured.decode(raw)

    def decode(self, text_raw: Buffer) -> AutoscalerStatus:
        text = self._text.decode(text_raw)
        inputs = (text, self.structured)
        if (
            self._status is not None
            and self._inputs is not None
            and all(a is b for a, b in zip(inputs, self._inputs, strict=True))
        ):
            return self._status
        with _reading(STATUS_TEXT_WHAT):
            status = parse_autoscaler_text(text)
            if self.structured is not None:
                status = merge_structured_autoscaler(status, self.structured)
        if self._status is not None and status == self._status:
            status = self._status
        self._inputs, self._status = inputs, status
        return status
