"""The Actors pane's section: a bounded actor list and the actor and task summaries, from Ray's
state API, fetched as raw bytes on the loop and decoded in the poller's worker thread.

What one fetch asks (all at once, `detail=true` only where the pane shows detail columns):
- `GET /api/v0/actors?limit=LIMIT&detail=true` with `state != DEAD`: the live actors first (Ray
  filters before it cuts at `limit`, then sorts by actor id), and
- `GET /api/v0/actors?limit=DEAD_LIMIT&detail=true` with `state = DEAD`: some dead ones, with
  their death causes; the pane says "N listed of M" when either list was cut;
- `GET /api/v0/actors/summarize`: every actor counted by class and state (Ray lists up to
  10,000 actors for it, server side; the answer is one entry per class);
- `GET /api/v0/tasks/summarize`: tasks by function and state, on a slower beat
  (TASKS_EVERY_S): Ray builds it from up to 10,000 task events and it blocks the dashboard's
  event loop while it does (ray #45899).

At 10,000 actors the answers stay bounded: LIMIT + DEAD_LIMIT rows (~0.8 KB each with detail)
and one summary row per class. The poller asks for this section only while the Actors pane is
shown (poller.ON_DEMAND).

Ray 2.60 writes the actors' int64 fields as strings (`"num_restarts": "0"`, protobuf's JSON
mapping); the parser takes both. Whatever the bytes, only errors.BadResponse leaves `decode`.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypedDict

import msgspec

from raycockpit.cockpit.errors import BadResponse, CockpitError, preview
from raycockpit.cockpit.gpu_alerts import GpuAlerts
from raycockpit.cockpit.models import Actor, ActorsStatus, Node, StateGroup
from raycockpit.cockpit.node_work import state_rank

LIMIT = 1000  # live actors listed (the state API allows 10,000 at most)
DEAD_LIMIT = 100  # dead actors listed, for their death causes
TASKS_EVERY_S = 10.0  # the task summary at most this often

ACTORS_WHAT = "GET /api/v0/actors"
ACTOR_SUMMARY_WHAT = "GET /api/v0/actors/summarize"
TASK_SUMMARY_WHAT = "GET /api/v0/tasks/summarize"


class StateBytes(Protocol):
    async def state_bytes(self, path: str, params: list[tuple[str, str]]) -> bytearray: ...


@dataclass
class ActorsAnswer:
    """The raw answers of one fetch (bytes, or the exception a request ended with); the task
    summary is None when it was not due."""

    live: Any
    dead: Any
    classes: Any
    tasks: Any = None
    at: float = 0.0


def _state_filter(predicate: str, value: str) -> list[tuple[str, str]]:
    return [("filter_keys", "state"), ("filter_predicates", predicate), ("filter_values", value)]


class ActorsFetcher:
    """One fetch of the section (three or four requests at once); keeps the task summary's beat.
    Not thread-safe: the poller calls it on the event loop."""

    def __init__(
        self, limit: int = LIMIT, dead_limit: int = DEAD_LIMIT, tasks_every_s: float = TASKS_EVERY_S
    ) -> None:
        self.limit = limit
        self.dead_limit = dead_limit
        self.tasks_every_s = tasks_every_s
        self._tasks_at: float | None = None

    def clear(self) -> None:
        self._tasks_at = None

    async def fetch(self, client: StateBytes, now: float | None = None) -> ActorsAnswer:
        now = time.time() if now is None else now
        detail = [("detail", "true")]
        calls = [
            client.state_bytes(
                "/api/v0/actors",
                [("limit", str(self.limit)), *detail, *_state_filter("!=", "DEAD")],
            ),
            client.state_bytes(
                "/api/v0/actors",
                [("limit", str(self.dead_limit)), *detail, *_state_filter("=", "DEAD")],
            ),
            client.state_bytes("/api/v0/actors/summarize", []),
        ]
        tasks_due = self._tasks_at is None or now - self._tasks_at >= self.tasks_every_s
        if tasks_due:
            calls.append(client.state_bytes("/api/v0/tasks/summarize", []))
            self._tasks_at = now
        answers = await asyncio.gather(*calls, return_exceptions=True)
        live, dead, classes = answers[:3]
        tasks = answers[3] if tasks_due else None
        if isinstance(tasks, BaseException):
            self._tasks_at = None  # try again next time
        return ActorsAnswer(live, dead, classes, tasks, now)


# -- decoding (the worker thread) -----------------------------------------------------------------


class ActorFields(TypedDict, total=False):
    """What the pane reads of one actor row (the rest of a detail row is skipped)."""

    actor_id: Any
    class_name: Any
    state: Any
    job_id: Any
    name: Any
    node_id: Any
    pid: Any
    required_resources: Any
    num_restarts: Any
    death_cause: Any
    repr_name: Any


class _ListResult(msgspec.Struct):
    result: list[msgspec.Raw]
    total: Any = None
    num_after_truncation: Any = None
    num_filtered: Any = None
    partial_failure_warning: Any = None
    warnings: Any = None


class _ListData(msgspec.Struct):
    result: _ListResult


class _ListEnvelope(msgspec.Struct):
    data: _ListData
    result: Any = None
    msg: Any = None


_LIST = msgspec.json.Decoder(_ListEnvelope)
_ACTOR = msgspec.json.Decoder(ActorFields)
_ANY = msgspec.json.Decoder()
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if 0 < len(text) <= 20 and text.lstrip("-").isascii() and text.lstrip("-").isdigit():
        return int(text)  # Ray writes int64 fields as strings (protobuf's JSON mapping)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _resources(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    out = {}
    for name, amount in value.items():
        if not isinstance(name, str) or isinstance(amount, bool):
            continue
        if isinstance(amount, (int, float)):
            try:
                number = float(amount)
            except OverflowError:  # an int past what a float holds
                continue
            if math.isfinite(number):
                out[name] = number
    return out


# "The actor is dead because its worker process has died. Worker exit type: INTENDED_USER_EXIT
# Worker exit detail: Worker exits by an user request. ... exit_actor() is called." (Ray 2.60)
DEAD_BECAUSE = "The actor is dead because "
_WORKER_EXIT = re.compile(r"Worker exit type: ([A-Z_]+)(?:\.? Worker exit detail: (.*))?")


def death_line(cause: Any) -> str:
    """Ray's ActorDeathCause (one of several `*_context` dicts) as one line. A worker's exit
    leads with its exit type and detail (`exited (INTENDED_USER_EXIT): ... exit code 0`): Ray's
    own first sentence is the same for a crash and for a job's supervisor that finished. Others
    lead with Ray's reason (`OUT_OF_SCOPE: all references to the actor were removed.`)."""
    if not isinstance(cause, dict) or not cause:
        return ""
    for kind, context in cause.items():
        if not isinstance(context, dict):
            continue
        what = kind.removesuffix("_context").replace("_", " ")
        reason = _str(context.get("reason"))
        message = _str(context.get("error_message")) or _str(context.get("message"))
        if not message:  # a creation task that raised: the traceback's last line says what
            lines = _ANSI.sub("", _str(context.get("formatted_exception_string"))).splitlines()
            message = next((line for line in reversed(lines) if line.strip()), "")
        message = " ".join(_ANSI.sub("", message).split())
        exit_ = _WORKER_EXIT.search(message)
        if exit_ is not None:  # what Ray says of the worker is what matters, up front
            exit_type, detail = exit_.group(1), (exit_.group(2) or "").strip()
            head = "exited" if exit_type.startswith("INTENDED") else "worker died"
            head = f"{head} ({exit_type})"
            return f"{head}: {detail}" if detail else head
        if reason and message.startswith(DEAD_BECAUSE):  # Ray's preamble: its reason says it
            message = message.removeprefix(DEAD_BECAUSE)
            return f"{reason}: {message}"
        head = f"{what} ({reason})" if reason else what
        return f"{head}: {message}" if message else head
    return ""


def parse_actor(raw: Any) -> Actor | None:
    if not isinstance(raw, dict):
        return None
    actor_id = _str(raw.get("actor_id"))
    if not actor_id:
        return None
    pid = _int(raw.get("pid"))
    return Actor(
        actor_id=actor_id,
        class_name=_str(raw.get("class_name")) or "?",
        state=_str(raw.get("state")) or "?",
        job_id=_str(raw.get("job_id")),
        name=_str(raw.get("name")),
        node_id=_str(raw.get("node_id")),
        pid=pid if pid else None,  # 0 until the actor is created
        resources=_resources(raw.get("required_resources")),
        restarts=_int(raw.get("num_restarts")) or 0,
        death_cause=death_line(raw.get("death_cause")),
        repr_name=_str(raw.get("repr_name")),
    )


def _envelope_data(body: Any, what: str) -> Any:
    try:
        data = _ANY.decode(body)
    except (msgspec.DecodeError, ValueError, RecursionError):
        raise BadResponse(f"{what} did not return JSON", body=preview(bytes(body))) from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise BadResponse(f"{what}: unexpected answer", body=preview(data))
    if data.get("result") is False:
        raise BadResponse(f"{what} failed: {preview(data.get('msg'))}")
    return data["data"]


def decode_actor_list(body: Any) -> tuple[list[Actor], int, int, list[str]]:
    """An actor list answer -> (actors, listed, matched, warnings); `matched` counts the rows that
    passed the filter before Ray cut at the limit."""
    try:
        envelope = _LIST.decode(body)
        result = envelope.data.result
        raws = result.result
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, RecursionError):
        data = _envelope_data(body, ACTORS_WHAT)  # says what was wrong, or is an odd but fine list
        inner = data.get("result")
        if not isinstance(inner, dict) or not isinstance(inner.get("result"), list):
            raise BadResponse(f"{ACTORS_WHAT}: no actor rows", body=preview(data)) from None
        rows = [parse_actor(r) for r in inner["result"]]
        info = inner
    else:
        rows = []
        for raw in raws:
            try:
                rows.append(parse_actor(_ACTOR.decode(raw)))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        info = {
            "num_filtered": result.num_filtered,
            "partial_failure_warning": result.partial_failure_warning,
            "warnings": result.warnings,
        }
    actors = [a for a in rows if a is not None]
    matched = _int(info.get("num_filtered"))
    warnings = [w for w in _warnings(info) if w]
    return actors, len(actors), max(matched or 0, len(actors)), warnings


def _warnings(info: dict) -> list[str]:
    out = []
    partial = info.get("partial_failure_warning")
    if isinstance(partial, str) and partial.strip():
        out.append(" ".join(partial.split()))
    extra = info.get("warnings")
    if isinstance(extra, list):
        out += [" ".join(w.split()) for w in extra if isinstance(w, str)]
    return out


def _counts(value: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, dict):
        return ()
    pairs = [(s, n) for s, v in value.items() if isinstance(s, str) and (n := _int(v)) is not None]
    return tuple(sorted(pairs, key=lambda kv: (state_rank(kv[0]), kv[0])))


def decode_summary(body: Any, what: str, kind: str | None) -> tuple[tuple[StateGroup, ...], int]:
    """A summarize answer -> (groups, largest first; the total Ray counted). `kind` None: each
    entry's own `type` (tasks), else that kind for every group (actors)."""
    data = _envelope_data(body, what)
    inner = data.get("result")
    cluster = None
    if isinstance(inner, dict):
        by_node = inner.get("result", {})
        if isinstance(by_node, dict):
            by_node = by_node.get("node_id_to_summary")
            if isinstance(by_node, dict):
                cluster = by_node.get("cluster")
    if not isinstance(cluster, dict) or not isinstance(cluster.get("summary"), dict):
        raise BadResponse(f"{what}: no summary in the answer", body=preview(data))
    groups = []
    for name, entry in cluster["summary"].items():
        if not isinstance(entry, dict) or not isinstance(name, str):
            continue
        group_kind = kind or _str(entry.get("type")) or "?"
        groups.append(StateGroup(name, group_kind, _counts(entry.get("state_counts"))))
    groups.sort(key=lambda g: (-g.total, g.name))
    total = _int(inner.get("total")) if isinstance(inner, dict) else None
    if total is None:
        total = sum(g.total for g in groups)
    return tuple(groups), total


def _live_first(actor: Actor) -> tuple[int, str, str]:
    return (state_rank(actor.state), actor.class_name, actor.actor_id)


class ActorsDecoder:
    """ActorsAnswer -> ActorsStatus, keeping the last task summary between its fetches and the
    same Actor objects (and the same status) when nothing changed. One decode at a time."""

    def __init__(self) -> None:
        self._last = ActorsStatus()
        self._actors: dict[str, Actor] = {}
        self.alerts = GpuAlerts()

    def clear(self) -> None:
        self._last = ActorsStatus()
        self._actors = {}
        self.alerts.clear()

    def with_gpus(self, status: ActorsStatus, nodes: Iterable[Node], at: float) -> ActorsStatus:
        """`status` with each GPU actor's use and alerts (gpu_alerts.py) as of the nodes fetched
        at `at`; the same object when nothing in it changed. In the poller's thread: at 1,000
        nodes x 8 GPUs the match costs ~5-25 ms, kept off the UI."""
        gpu = self.alerts.observe(status.actors, nodes, at)
        if gpu == status.gpu:
            return status
        self._last = replace(status, gpu=gpu)
        return self._last

    def decode(self, answer: ActorsAnswer) -> ActorsStatus:
        for part in (answer.live, answer.dead, answer.classes):
            if isinstance(part, BaseException):
                raise part if isinstance(part, CockpitError) else BadResponse(str(part))
        live, live_listed, live_matched, warn_live = decode_actor_list(answer.live)
        dead, dead_listed, dead_matched, warn_dead = decode_actor_list(answer.dead)
        classes, total = decode_summary(answer.classes, ACTOR_SUMMARY_WHAT, "actor")
        last = self._last
        tasks, tasks_total, tasks_at = last.tasks, last.tasks_total, last.tasks_at
        warnings = [*warn_live, *warn_dead]
        if answer.tasks is not None:
            if isinstance(answer.tasks, BaseException):
                text = (
                    answer.tasks.one_line()
                    if isinstance(answer.tasks, CockpitError)
                    else str(answer.tasks)
                )
                warnings.append(f"task summary: {text}")
            else:
                try:
                    tasks, tasks_total = decode_summary(answer.tasks, TASK_SUMMARY_WHAT, None)
                    tasks_at = answer.at
                except BadResponse as exc:
                    warnings.append(f"task summary: {exc.one_line()}")
        known = self._actors
        rows = []
        for actor in sorted(live + dead, key=_live_first):
            kept = known.get(actor.actor_id)
            rows.append(kept if kept == actor else actor)
        self._actors = {a.actor_id: a for a in rows}
        listed = live_listed + dead_listed
        status = ActorsStatus(
            fetched=True,
            actors=tuple(rows),
            listed=listed,
            total=max(total, live_matched + dead_matched, listed),
            classes=classes,
            tasks=tasks,
            tasks_total=tasks_total,
            tasks_at=tasks_at,
            warnings=tuple(dict.fromkeys(warnings)),
        )
        if status == replace(last, gpu={}):
            return last  # the same object: the pane skips its render
        self._last = status
        return status
