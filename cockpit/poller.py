"""The one refresh loop: fetch the sections, decode, publish one immutable Snapshot.

The event loop never waits on the parser: a poll fetches its answers as raw bytes on the loop
(async; the loop only copies chunks as they arrive), then does ALL the decoding, parsing, history
recording and Snapshot building in ONE `asyncio.to_thread` call (decode.py: msgspec partial
decodes, then parse.py).

Fetch less: `want(sections)` names the sections the visible pane and the open screens need, among
"nodes", "autoscaler", "jobs", "serve" (all of them until the app says otherwise, so `--once` gets
everything) and "actors" (actors.py; ON_DEMAND: only while wanted). Wanted sections are fetched
every poll, the others every `hidden_every` polls (default 5: about 10 s old at most when a pane is
switched to, and the Overview's counts stay alive); newly wanting a section whose last fetch is
older than one interval polls at once. `watch_job(id)` (while a job screen is open; calls nest,
`unwatch_job` undoes one) fetches GET /api/jobs/{id} each poll in which the job list is not
fetched, and merges that Job into `snapshot.jobs` (replacing the job of its key, or added); a
watched job the dashboard no longer knows (404) leaves `snapshot.jobs`.

Identity (the UI skips re-rendering with `is`): a section not fetched this poll, or fetched and
unchanged (the same bytes, or models equal to the last ones), keeps THE SAME object in the new
Snapshot: `snap.nodes`, `snap.jobs`, `snap.serve`, `snap.autoscaler`; inside `snap.nodes` and
`snap.jobs`, a node or job that did not change is the same object as before. `snap.history` is
the same dict until the nodes are fetched again: it gains a point per fetch of the nodes (not per
poll), percents kept to 0.1, and holds the series of the nodes and GPUs now in the cluster only.

At most one request per endpoint is in flight: a poll awaits all its requests before the next
poll starts, and a poll that outlasts the interval delays the next one rather than stacking; a
`refresh_now()` asked for during a poll runs right after it. A section that fails keeps its last
value and is marked stale with its error; when the dashboard is unreachable the interval backs
off (up to 30 s) and the loop reconnects by itself. The structured autoscaler report (failed
nodes, the autoscaler's error) comes on a slower beat (`slow_every` polls); Serve not installed
on the head (404/501) is no error and is not asked again in that session.

/api/version (a few bytes) is read with every poll: its answer tells a dashboard that is there
from one that is gone when a big section times out (the section goes stale, the cockpit stays
connected), and a restarted cluster is noticed within one poll: when its session_name changes,
`info.session_changes` counts up and `info.session_changed_at` says when, the per-session caches
(the decoders' reused jobs and nodes, the history, Serve missing) are dropped and every section
is fetched in that same poll, so no rows of the old session stay beside the new one's (job ids
restart in a new session).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from raycockpit.cockpit import clock, gc_pacing
from raycockpit.cockpit.actors import ActorsDecoder, ActorsFetcher
from raycockpit.cockpit.autoscaler_feed import AUTOSCALER_EVENTS, AutoscalerFeed
from raycockpit.cockpit.decode import (
    STEP_ASIDE,
    AutoscalerDecoder,
    JobsDecoder,
    NodesDecoder,
    Reusing,
    decode_job,
    decode_serve,
    drop_job,
    merge_job,
)
from raycockpit.cockpit.errors import (
    AuthForbidden,
    AuthRequired,
    BadResponse,
    CockpitError,
    DashboardTimeout,
    DashboardUnreachable,
    NotFound,
)
from raycockpit.cockpit.models import SECTIONS, ClusterInfo, Snapshot
from raycockpit.cockpit.pending import due as pending_due
from raycockpit.cockpit.pending import fetch_pending
from raycockpit.cockpit.why import annotate

MAX_BACKOFF_S = 30.0
KEY_QUIET_S = 0.15  # after a key, the decoding thread steps aside this long ...
MAX_STEP_ASIDE_S = 0.5  # ... but at most this long per poll: a key held down never stops data
HISTORY_POINTS = 60
GPU_POINTS = 16  # a GPU's series: its sparkline shows 12 (40,000 GPUs x 60 points was 21 MB)
VERSION_EVERY_S = 0.0  # re-read /api/version this often (every poll): a new session, or alive
FEED = "autoscaler_feed"  # the Snapshot field (and errors/updated_at key) of the decision feed
# sections fetched only while wanted (never on the hidden beat, not by --once): the state API's
# actor lists and summaries cost the dashboard real work at 10,000 actors
ON_DEMAND = frozenset({"actors"})


# the float objects of 0.0, 0.1 ... 100.0, shared by every percent series (see History)
_PERCENTS = tuple(i / 10 for i in range(1001))


def _compact(value: float) -> float:
    """A percent (0-100) to 0.1, as one of the shared float objects; any other value as is."""
    value = float(value)
    return _PERCENTS[round(value * 10)] if 0.0 <= value <= 100.0 else value


class History:
    """Bounded recent values per series key (GPU utilisation, cluster CPU...).

    Compact at scale (1,000 nodes x 8 GPUs: 17,000 series): each series is one tuple, shared
    with the snapshots as is (no copy per poll), and percents are kept to 0.1 as shared float
    objects, so 60 points cost ~0.5 KB rather than ~2.5 KB of deque and floats. `keep()` drops
    the series of nodes and GPUs no longer in the cluster.
    """

    def __init__(self, points: int = HISTORY_POINTS) -> None:
        self.points = max(1, points)
        self._series: dict[str, tuple[float, ...]] = {}

    def add(self, key: str, value: float | None, points: int | None = None) -> None:
        """A point for `key`, keeping its last `points` (default: the History's)."""
        if value is None:
            return
        keep = max(1, min(points or self.points, self.points))
        old = self._series.get(key, ())
        self._series[key] = (*old[len(old) - keep + 1 :], _compact(value))

    def keep(self, keys: set[str]) -> None:
        """Forget every series but these."""
        for key in [k for k in self._series if k not in keys]:
            del self._series[key]

    def frozen(self) -> dict[str, tuple[float, ...]]:
        return dict(self._series)

    def clear(self) -> None:
        self._series.clear()


@dataclass
class _Plan:
    """What one poll fetched (made on the loop, read by the worker thread)."""

    now: float
    info: ClusterInfo
    answers: dict[str, Any] = field(default_factory=dict)  # section -> bytes or the exception
    structured: Any = None  # bytes or the exception, when fetched
    new_session: bool = False  # the session changed: drop the per-session caches first
    watched: dict[str, Any] = field(default_factory=dict)  # job id -> bytes or the exception
    version_ok: bool = False  # /api/version answered in this poll: the dashboard is there
    events: Any = None  # the autoscaler's cluster events (state API data), when fetched


class Poller:
    def __init__(
        self, client: Any, interval: float = 2.0, slow_every: int = 5, hidden_every: int = 5
    ) -> None:
        self.client = client
        self.interval = interval
        self.slow_every = max(1, slow_every)  # structured autoscaler report on a slower beat
        self.hidden_every = max(1, hidden_every)  # sections no pane shows: every N polls
        self.snapshot = Snapshot(info=ClusterInfo(address=client.address))
        self.history = History()
        self.paused = False
        self._wake = asyncio.Event()
        self._polls = 0
        self._failures = 0
        self._serve_missing = False
        self._wanted: set[str] = set(SECTIONS) - ON_DEMAND
        self._watched: Counter[str] = Counter()
        self._fetched_poll: dict[str, int] = {}  # section -> poll number of its last fetch
        self._fetched_at: dict[str, float] = {}  # section -> clock time of its last fetch
        self._structured_poll: int | None = None
        self._version_at = 0.0
        self._session_changes = 0
        self._session_reset = False
        self._nodes = NodesDecoder()
        self._jobs = JobsDecoder()
        self._serve = Reusing(decode_serve)
        self._autoscaler = AutoscalerDecoder()
        # the autoscaler's decisions, kept across polls and panes (autoscaler_feed.py)
        self.feed = AutoscalerFeed(clock=clock.now)
        self._events_missing = False  # a Ray without the state API's cluster events
        self._actors_fetcher = ActorsFetcher()
        self._actors = ActorsDecoder()
        self._build_lock = threading.Lock()  # one build at a time, even after a cancelled poll
        self._quiet_until = 0.0  # time.monotonic() until which a build steps aside for keys

    # -- control -----------------------------------------------------------------------------

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._wake.set()

    def toggle_pause(self) -> bool:
        if self.paused:
            self.resume()
        else:
            self.pause()
        return self.paused

    def refresh_now(self) -> None:
        self._wake.set()

    @property
    def wanted(self) -> frozenset[str]:
        return frozenset(self._wanted)

    def want(self, sections: Iterable[str]) -> None:
        """The sections the visible pane and the open screens show; the others are fetched only
        every `hidden_every` polls. A newly wanted section not fetched within one interval is
        fetched at once (refresh_now)."""
        wanted = set(sections)
        unknown = wanted - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
        newly = wanted - self._wanted
        self._wanted = wanted
        now = clock.now()
        if any(now - self._fetched_at.get(s, float("-inf")) > self.interval for s in newly):
            self.refresh_now()

    @property
    def watched_jobs(self) -> frozenset[str]:
        return frozenset(self._watched)

    def watch_job(self, job_id: str) -> None:
        """GET /api/jobs/{job_id} every poll (while a job screen shows it), merged into
        snapshot.jobs; calls nest."""
        self._watched[job_id] += 1

    def unwatch_job(self, job_id: str) -> None:
        self._watched[job_id] -= 1
        if self._watched[job_id] <= 0:
            del self._watched[job_id]

    @property
    def current_interval(self) -> float:
        if self._failures == 0:
            return self.interval
        return min(MAX_BACKOFF_S, self.interval * 2 ** min(self._failures, 6))

    # -- polling -----------------------------------------------------------------------------

    async def run(self, publish: Callable[[Snapshot], Awaitable[None] | None]) -> None:
        """Poll forever (until cancelled), handing each snapshot to `publish`."""
        while True:
            self._wake.clear()  # a refresh_now() during the poll below is kept for after it
            if not self.paused:
                result = publish(await self.poll_once())
                if asyncio.iscoroutine(result):
                    await result
            if not self._wake.is_set():
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.current_interval)
                except TimeoutError:
                    pass
            while self.paused and not self._wake.is_set():
                await self._wake.wait()

    def _due(self) -> set[str]:
        """The sections this poll fetches: the wanted ones, the others on the hidden beat."""
        due = set()
        for section in SECTIONS:
            last = self._fetched_poll.get(section)
            if section in ON_DEMAND and section not in self._wanted:
                continue
            if section == "pending" and last is not None and not pending_due(self.snapshot):
                continue  # nothing waits: no state API calls (pending.py)
            if section in self._wanted or last is None or self._polls - last >= self.hidden_every:
                due.add(section)
        if self._serve_missing:
            due.discard("serve")
        return due

    async def poll_once(self) -> Snapshot:
        self._polls += 1
        snap = self.snapshot
        now = clock.now()
        info = snap.info
        reconnecting = not info.ray_version
        if reconnecting:
            self._version_at = now
            try:  # both at once: over a slow link every round trip counts
                version, auth_mode = await asyncio.gather(
                    self.client.version(), self.client.auth_mode(), return_exceptions=True
                )
                for answer in (version, auth_mode):
                    if isinstance(answer, BaseException):
                        raise answer
                info = replace(info, auth_mode=auth_mode)
                info = self._new_version(info, version, now)
            except CockpitError as exc:
                if _is_connection(exc):
                    self._failures += 1
                    info = replace(info, ray_version="")  # read it again when it comes back
                    self.snapshot = replace(
                        snap,
                        info=info,
                        fetched_at=now,
                        connected=False,
                        connection_error=exc.one_line(),
                        errors={s: exc.one_line() for s in SECTIONS},
                    )
                    return self.snapshot

        plan = _Plan(now=now, info=info, new_session=self._session_reset)
        self._session_reset = False
        due = self._due()
        calls: dict[str, Awaitable[Any]] = {}
        fetchers = {
            "nodes": self.client.node_summary_bytes,
            "autoscaler": lambda: self.client.cluster_status_bytes(text=True),
            "jobs": self.client.list_jobs_bytes,
            "serve": self.client.serve_applications_bytes,
            "pending": lambda: fetch_pending(self.client, self.snapshot),
            "actors": lambda: self._actors_fetcher.fetch(self.client, now),
        }
        for section in SECTIONS:
            if section in due:
                calls[section] = fetchers[section]()
                self._fetched_poll[section] = self._polls
                self._fetched_at[section] = now
        slow_due = (
            self._structured_poll is None or self._polls - self._structured_poll >= self.slow_every
        )
        if "autoscaler" in due and slow_due:
            calls["structured"] = self.client.cluster_status_bytes()
            self._structured_poll = self._polls
        # the decision feed's events: each poll while the autoscaler is shown, else on its beat
        feed_due = "autoscaler" in self._wanted or slow_due
        if "autoscaler" in due and feed_due and not self._events_missing:
            calls["events"] = self.client.list_state(
                "cluster_events", AUTOSCALER_EVENTS, limit=self.feed.events_limit
            )
        watched = [] if "jobs" in due else sorted(self._watched)
        for job_id in watched:
            calls[f"job:{job_id}"] = self.client.job_bytes(job_id)
        if not reconnecting and now - self._version_at >= VERSION_EVERY_S:
            self._version_at = now
            calls["version"] = self.client.version()
        gathered = await _gather_unless_blind(calls)
        for name, answer in zip(calls, gathered, strict=True):
            if name == "version":
                if not isinstance(answer, BaseException):
                    plan.info = self._new_version(plan.info, answer, now)
                    plan.new_session = plan.new_session or self._session_reset
                    self._session_reset = False
                    plan.version_ok = True
            elif name == "structured":
                plan.structured = answer
            elif name == "events":
                plan.events = answer
            elif name.startswith("job:"):
                plan.watched[name[4:]] = answer
            else:
                plan.answers[name] = answer
        gathered = answer = None  # the plan holds the bodies now: the build lets each go once read
        if plan.new_session:  # a restart seen just now: the rest of the new cluster, this poll too
            missing = [
                s
                for s in SECTIONS
                if s not in plan.answers and (s not in ON_DEMAND or s in self._wanted)
            ]
            for section in missing:
                self._fetched_poll[section] = self._polls
                self._fetched_at[section] = now
            answers = await asyncio.gather(
                *(fetchers[s]() for s in missing), return_exceptions=True
            )
            plan.answers.update(zip(missing, answers, strict=True))
            answers = None

        new = await asyncio.to_thread(self._build, snap, plan)
        self.snapshot = new
        return new

    def _new_version(self, info: ClusterInfo, version: dict[str, Any], now: float) -> ClusterInfo:
        """info with the version read; a new session_name drops the per-session caches."""
        session = str(version.get("session_name", ""))
        info = replace(info, ray_version=str(version.get("ray_version", "")), session_name=session)
        if session and self.snapshot.info.session_name not in ("", session):
            self._session_changes += 1
            info = replace(info, session_changes=self._session_changes, session_changed_at=now)
            self._new_session()
        return info

    def _new_session(self) -> None:
        """A new cluster behind the same address: forget what belonged to the old one (the
        decoders and the history in the build, which owns them), and fetch every section in
        this very poll."""
        self._session_reset = True
        self._serve_missing = False
        self._fetched_poll.clear()
        self._structured_poll = None
        self._events_missing = False
        self._actors_fetcher.clear()

    # -- the worker thread: decode, parse, merge, record, build ------------------------------

    def keys_pressed(self) -> None:
        """The UI is answering a key: a build under way steps aside for KEY_QUIET_S. Python
        threads share one GIL, so decoding a big answer in the worker thread (~0.4 s of CPU at
        1,000 nodes) would otherwise halve the UI thread's speed for the key that lands then."""
        self._quiet_until = time.monotonic() + KEY_QUIET_S

    def _build(self, snap: Snapshot, plan: _Plan) -> Snapshot:
        budget = [MAX_STEP_ASIDE_S]

        def step_aside() -> None:  # called by the decoders every few dozen nodes or jobs
            while budget[0] > 0 and (left := self._quiet_until - time.monotonic()) > 0:
                nap = min(left, budget[0], 0.05)
                time.sleep(nap)
                budget[0] -= nap

        token = STEP_ASIDE.set(step_aside)
        try:
            with self._build_lock, gc_pacing.building():
                return self._build_locked(snap, plan)
        finally:
            STEP_ASIDE.reset(token)

    def _build_locked(self, snap: Snapshot, plan: _Plan) -> Snapshot:
        now = plan.now
        if plan.new_session:
            for decoder in (self._nodes, self._jobs, self._serve, self._autoscaler, self._actors):
                decoder.clear()
            self.history.clear()
        errors = dict(snap.errors)
        updated_at = dict(snap.updated_at)
        updates: dict[str, Any] = {}
        tried = 0  # requests made
        lost: list[CockpitError] = []  # of them, those that failed for want of a connection

        def failed(answer: Any) -> CockpitError | None:
            nonlocal tried
            tried += 1
            if not isinstance(answer, BaseException):
                return None
            error = answer if isinstance(answer, CockpitError) else _unexpected(answer)
            if _is_connection(error):
                lost.append(error)
            return error

        structured = plan.structured
        if structured is not None and failed(structured) is None:
            try:
                self._autoscaler.decode_structured(structured)
            except BadResponse:
                pass  # only adds detail: the text report is what the section shows

        decoders: dict[str, Callable[[Any], Any]] = {
            "nodes": self._nodes.decode,
            "autoscaler": self._autoscaler.decode,
            "jobs": self._jobs.decode,
            "serve": self._serve.decode,
            "pending": lambda work: work,  # fetch_pending parsed it (small, bounded lists)
            "actors": self._actors.decode,
        }
        for section in SECTIONS:
            if section not in plan.answers:
                continue
            answer = plan.answers.pop(section)  # the body goes as soon as it is decoded
            error = failed(answer)
            if error is not None:
                if section == "serve" and isinstance(error, (BadResponse, NotFound)):
                    status = 404 if isinstance(error, NotFound) else error.status
                    if status in (404, 501):
                        self._serve_missing = True  # Serve not installed on the head: no error
                        errors.pop("serve", None)
                        continue
                errors[section] = error.one_line()
                continue
            try:
                updates[section] = decoders[section](answer)
            except CockpitError as exc:
                errors[section] = exc.one_line()
                continue
            finally:
                del answer
            errors.pop(section, None)
            updated_at[section] = now

        actors = updates.get("actors", snap.actors)
        if actors.fetched and "actors" in self._wanted and ({"actors", "nodes"} & set(updates)):
            nodes = updates.get("nodes", snap.nodes)  # GPU use per actor (gpu_alerts.py)
            updated = self._actors.with_gpus(actors, nodes, updated_at.get("nodes", now))
            if updated is not snap.actors:
                updates["actors"] = updated

        jobs = updates.get("jobs", snap.jobs)
        for job_id, answer in plan.watched.items():
            error = failed(answer)
            if isinstance(error, NotFound):
                jobs = drop_job(jobs, job_id)  # deleted: the list would not show it either
            elif error is None:
                try:
                    jobs = merge_job(jobs, decode_job(answer, job_id))
                except BadResponse:
                    pass
        if jobs is not snap.jobs:
            updates["jobs"] = jobs

        self._build_feed(snap, plan, updates, errors, updated_at, failed)

        info = plan.info
        if plan.version_ok:
            connected = True  # a section that timed out is stale, the dashboard is not gone
        else:
            connected = snap.connected if tried == 0 else len(lost) < tried
        if connected:
            self._failures = 0
        else:
            self._failures += 1
            info = replace(info, ray_version="")  # re-read the version when it comes back
        new = replace(
            snap,
            info=info,
            fetched_at=now,
            errors=errors,
            updated_at=updated_at,
            connected=connected,
            connection_error="" if connected else lost[0].one_line(),
            **updates,
        )
        if "nodes" in updates:  # a point per fetch of the nodes, not per poll
            self._record_history(new)
        if "nodes" in updates or info.session_changes != snap.info.session_changes:
            new = replace(new, history=self.history.frozen())
        log = getattr(self.client, "command_log", None)
        stops = log.stops_requested() if log is not None else None
        return annotate(new, now, stops)  # the "Why pending?" answers (cockpit/why/)

    def _build_feed(
        self,
        snap: Snapshot,
        plan: _Plan,
        updates: dict[str, Any],
        errors: dict[str, str],
        updated_at: dict[str, float],
        failed: Callable[[Any], CockpitError | None],
    ) -> None:
        """The autoscaler's decision feed: this poll's report diffed against the last one, and
        Ray's new autoscaler events; kept across polls (a new session starts it again). Its
        errors and age are under "autoscaler_feed"; a Ray without cluster events (404) is not
        asked again in that session."""
        feed = self.feed
        if plan.new_session:
            feed.clear()
        if "autoscaler" in updates:
            feed.add_report(updates["autoscaler"], plan.now)
        if plan.events is not None:
            error = failed(plan.events)
            if isinstance(error, NotFound):
                self._events_missing = True
                errors.pop(FEED, None)
            elif error is not None:
                errors[FEED] = error.one_line()
            else:
                feed.add_cluster_events(plan.events)
                errors.pop(FEED, None)
                updated_at[FEED] = plan.now
        plan.events = None
        if feed.events is not snap.autoscaler_feed:
            updates[FEED] = feed.events

    def _record_history(self, snap: Snapshot) -> None:
        """The series something shows: each GPU's utilisation (GPUs pane) and the cluster's CPU
        (Overview). Nothing else is kept: at 5,000 nodes x 8 GPUs every series is memory."""
        history = self.history
        keys = {"cluster:CPU"}
        for node in snap.nodes:
            for gpu in node.gpus:
                gpu_key = f"gpu:{gpu.key}"
                history.add(gpu_key, gpu.utilization, GPU_POINTS)
                keys.add(gpu_key)
        totals = snap.totals()
        if "CPU" in totals:
            history.add("cluster:CPU", 100 * totals["CPU"].fraction)
        history.keep(keys)  # bounded by the cluster as it is now


def _unexpected(exc: BaseException) -> CockpitError:
    return BadResponse(f"{type(exc).__name__}: {exc}")


# calls to Ray's state API: legitimately slow on a big cluster, so they have a long timeout of
# their own (client.STATE_API_TIMEOUT), and a poll must not wait for them when the dashboard has
# stopped answering the quick calls
STATE_API_CALLS = frozenset({"pending", "actors", "events"})


async def _gather_unless_blind(calls: dict[str, Awaitable[Any]]) -> list[Any]:
    """Every call's answer (or exception), in order, like gather(return_exceptions=True); but
    when a quick call finds the dashboard gone (unreachable, timed out, not let in), the state
    API calls still waiting are cancelled and answered with that failure: a frozen dashboard was
    said only when they had timed out too, 35 s per call and more (seen in CI)."""
    tasks = {name: asyncio.ensure_future(call) for name, call in calls.items()}
    quick = [t for name, t in tasks.items() if name not in STATE_API_CALLS]
    slow = [t for name, t in tasks.items() if name in STATE_API_CALLS]
    try:
        answers = await asyncio.gather(*quick, return_exceptions=True)
        blind = next(
            (a for a in answers if isinstance(a, BaseException) and _is_connection(a)), None
        )
        if blind is not None:
            for task in slow:
                task.cancel()
        await asyncio.gather(*slow, return_exceptions=True)
    except BaseException:
        for task in tasks.values():
            task.cancel()
        raise
    results = []
    for task in tasks.values():
        if task.cancelled():
            results.append(blind)
        else:
            results.append(task.exception() or task.result())
    return results


def _is_connection(exc: BaseException) -> bool:
    """Failures that leave the cockpit blind (unreachable, too slow, or not let in)."""
    return isinstance(exc, (DashboardUnreachable, DashboardTimeout, AuthRequired, AuthForbidden))
