"""Autoscaler decisions as a feed: successive autoscaler reports and Ray's cluster events turned
into one timestamped, deduplicated, bounded list of what the autoscaler did and why.

Two sources, both from the dashboard alone (no Ray import):

- The `ray status` reports (`AutoscalerStatus`, parsed by parse.py), fed one by one with
  `add_report()`. Two successive reports are diffed; what changed becomes an event: a pending
  demand shape appears ("demand appeared") or goes ("demand met"), a `request_resources()`
  constraint is set or cleared, a node type's count goes up or down ("node up" / "node down"), a
  node is listed as failed, a node type has idle nodes (autoscaler v2's "Idle:" lines), the
  autoscaler's own error changes. A report equal to the last one adds nothing, so a report that
  repeats an event never repeats it in the feed. The first report is the baseline (nothing is
  "new" in it).
- Ray's cluster events of the autoscaler (`GET /api/v0/cluster_events`, filtered to
  `source_type=AUTOSCALER`), fed with `add_cluster_events()`. Ray 2.60's autoscaler (v1, and v2
  alike) writes one line per decision, seen on a fake_multinode head:
  "Adding 1 node(s) of type cpu_worker." ("node launched"), "Removing 1 nodes of type cpu_worker
  (idle)." ("node idle-terminated"; other reasons: "node terminated"), "Failed to launch ..."
  ("node failed"), "Error: No available node types can fulfill resource request {'CPU': 4.0}. ..."
  ("demand infeasible"; Ray repeats it every 30 s while the demand waits: the repeats are counted
  on one row), "Resized to 1 CPUs." ("resized"). Each event has an `event_id`: one is never
  added twice. Ray lists them oldest first and cuts the list at `limit`: `events_limit` asks for
  all of them (up to the state API's 10,000) once the answer says there are more.

Why a node is not scaled down: Ray 2.60 says so only for `request_resources()`: it never removes
the nodes a constraint needs, idle or not (autoscaler.py, "Don't terminate nodes needed by
request_resources()"). When a node type comes up or stays up while a constraint is set and no
demand is pending, the feed says "node kept" with the constraint. A node kept for its type's
`min_workers` is not reported by the dashboard (the cluster config is not served), nor is a
node's idle time under autoscaler v1 (the nodes' `stateSnapshot` stays ACTIVE, idle 0 ms).

Times: the report's "Autoscaler status: <time>" and the events' `time` are the head's local wall
clock without a zone. The head's offset from UTC is estimated from each report against the
injected clock (rounded to 15 minutes, the grain of time zones), so both sources land on the
cockpit's clock; before the first report, event times are read as this machine's local time.

Bounded: at most `limit` events (the oldest go first), and a bounded memory of event ids. The
feed never raises on odd input: what it cannot read it skips.
"""

from __future__ import annotations

import bisect
import calendar
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from raycockpit.cockpit.models import AutoscalerStatus, FeedEvent

FEED_LIMIT = 500  # events kept
EVENTS_MIN_LIMIT = 200  # cluster events asked for at first
EVENTS_MAX_LIMIT = 10_000  # the state API's cap (RAY_MAX_LIMIT_FROM_API_SERVER)
SEEN_IDS = EVENTS_MAX_LIMIT  # event ids remembered (the most one answer can hold)
REPEAT_S = 180.0  # a repeat of the same infeasible demand within this long is counted, not added
ZONE_GRAIN_S = 900.0  # time zones are whole quarter hours
FRESH_S = 300.0  # a report this far off a whole zone is old: no zone is read from it
# the filter for the state API: only the autoscaler's events
AUTOSCALER_EVENTS = [("source_type", "=", "AUTOSCALER")]

DEMAND_APPEARED = "demand appeared"
DEMAND_MET = "demand met"
DEMAND_INFEASIBLE = "demand infeasible"
CONSTRAINT_SET = "constraint set"
CONSTRAINT_CLEARED = "constraint cleared"
NODE_LAUNCHED = "node launched"
NODE_UP = "node up"
NODE_DOWN = "node down"
NODE_IDLE = "node idle"
NODE_KEPT = "node kept"
NODE_FAILED = "node failed"
NODE_IDLE_TERMINATED = "node idle-terminated"
NODE_TERMINATED = "node terminated"
NODE_RESTARTED = "node restarted"
RESIZED = "resized"
AUTOSCALER_ERROR = "autoscaler error"
AUTOSCALER = "autoscaler"  # any other line of the autoscaler's

REPEATING = frozenset({DEMAND_INFEASIBLE})
# Ray's event times are whole seconds, a report's have microseconds. Within its second, a
# decision on nodes goes before a report of that second (the node it launched or removed shows in
# the report after it), any other line after (the infeasible verdict on a demand that the report
# of that second lists, the size the cluster was resized to).
NODE_DECISIONS = frozenset({NODE_LAUNCHED, NODE_IDLE_TERMINATED, NODE_TERMINATED, NODE_RESTARTED})
LATE_IN_SECOND = 0.999

_ADDING = re.compile(r"Adding (\d+) node\(s\) of type (.+?)\.?$")
_REMOVING = re.compile(r"Removing (\d+) nodes of type (.+?) \((.+)\)\.?$")
_RESTARTING = re.compile(r"Restarting (\d+) nodes of type (.+?) \((.+)\)\.?$")
_INFEASIBLE = re.compile(r"(?:Error: )?No available node types can fulfill (.+?)\. Add suitable")
_STAMP_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")


def classify(message: str, severity: str = "") -> tuple[str, str]:
    """One autoscaler cluster-event line -> (kind, the text the feed shows)."""
    line = message.strip()
    if match := _ADDING.match(line):
        return NODE_LAUNCHED, f"{match[1]} {match[2]} launching"
    if match := _REMOVING.match(line):
        kind = NODE_IDLE_TERMINATED if match[3].strip() == "idle" else NODE_TERMINATED
        return kind, f"{match[1]} {match[2]} removed ({match[3]})"
    if match := _RESTARTING.match(line):
        return NODE_RESTARTED, f"{match[1]} {match[2]} restarted ({match[3]})"
    if match := _INFEASIBLE.search(line):
        return DEMAND_INFEASIBLE, f"no node type can fulfill {match[1]}: add a node type for it"
    if line.startswith("Failed to launch"):
        return NODE_FAILED, line
    if line.startswith("Resized to"):
        return RESIZED, line.rstrip(".")
    if severity.upper() in ("ERROR", "FATAL") or line.startswith("Error"):
        return AUTOSCALER_ERROR, line
    return AUTOSCALER, line


def parse_stamp(text: Any) -> datetime | None:
    """A naive head-local time ("2026-11-27 21:26:55[.123456]"), else None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    for fmt in _STAMP_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except (ValueError, OverflowError):
            continue
    return None


def _naive_epoch(moment: datetime) -> float:
    """The naive time read as if it were UTC (the zone offset is added later)."""
    return calendar.timegm(moment.timetuple()) + moment.microsecond / 1e6


def _demand_key(line: str) -> tuple[str, str]:
    """A pending-demand line -> (its key: the shape and what waits, without the count; the
    shape). "{'CPU': 1.0}: 1+ pending tasks/actors" -> ("{'CPU': 1.0} | pending tasks/actors",
    "{'CPU': 1.0}"); a line of another form is its own key."""
    shape, sep, what = line.rpartition(": ")
    if not sep:
        return line, line
    count, _, rest = what.partition(" ")
    what = rest if count.rstrip("+").isdigit() and rest else what
    return f"{shape} | {what}", shape


@dataclass
class _Counts:
    """What a report says, in the shapes the diff needs."""

    demands: dict[str, str]  # key -> line
    requested: tuple[str, ...]
    nodes: dict[str, int]  # node type -> active + idle
    idle: dict[str, int]
    failures: frozenset[str]
    error: str

    @classmethod
    def of(cls, status: AutoscalerStatus) -> _Counts:
        demands: dict[str, str] = {}
        for line in _strs(status.demands):
            demands.setdefault(_demand_key(line)[0], line)
        nodes: dict[str, int] = {}
        idle: dict[str, int] = {}
        for node_type, count in _pairs(status.active):
            nodes[node_type] = nodes.get(node_type, 0) + count
        for node_type, count in _pairs(status.idle):
            nodes[node_type] = nodes.get(node_type, 0) + count
            idle[node_type] = idle.get(node_type, 0) + count
        return cls(
            demands=demands,
            requested=tuple(dict.fromkeys(_strs(status.requested))),
            nodes=nodes,
            idle=idle,
            failures=frozenset(_strs(status.failures)),
            error=status.error if isinstance(status.error, str) else "",
        )


def _strs(items: Any) -> list[str]:
    try:
        return [s.strip() for s in items if isinstance(s, str) and s.strip()]
    except TypeError:
        return []


def _pairs(items: Any) -> list[tuple[str, int]]:
    out = []
    try:
        for item in items:
            if isinstance(item, tuple | list) and len(item) == 2:
                name, count = item
                if isinstance(name, str) and isinstance(count, int) and 0 <= count < 10**9:
                    out.append((name, count))
    except TypeError:
        pass
    return out


class AutoscalerFeed:
    """The feed: `add_report()` and `add_cluster_events()` in, `events` (newest first) out."""

    def __init__(self, *, clock: Callable[[], float] = time.time, limit: int = FEED_LIMIT) -> None:
        self.clock = clock
        self.limit = max(1, limit)
        self.clear()

    def clear(self) -> None:
        """Forget everything (a new cluster session behind the same address)."""
        self._items: list[tuple[float, int, FeedEvent]] = []  # sorted by (at, seq)
        self._seq = 0
        self._last: _Counts | None = None
        self._last_status: AutoscalerStatus | None = None
        self._last_stamp = ""
        self._offset: float | None = None  # head's naive clock -> unix s
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._kept: set[tuple[str, str]] = set()  # (constraint, node type) said "kept"
        self._events_total = 0
        self._frozen: tuple[FeedEvent, ...] | None = ()

    # -- out ---------------------------------------------------------------------------------

    @property
    def events(self) -> tuple[FeedEvent, ...]:
        """Newest first; THE SAME tuple object until something is added."""
        if self._frozen is None:
            self._frozen = tuple(item[2] for item in reversed(self._items))
        return self._frozen

    @property
    def events_limit(self) -> int:
        """The `limit` for the next cluster-events request: Ray lists the oldest first, so ask
        for all of them once an answer said there are more than were listed."""
        return max(EVENTS_MIN_LIMIT, min(EVENTS_MAX_LIMIT, self._events_total + 50))

    def __len__(self) -> int:
        return len(self._items)

    # -- in: the reports ---------------------------------------------------------------------

    def add_report(self, status: AutoscalerStatus, now: float | None = None) -> bool:
        """Diff this report against the last one; True when the feed changed."""
        if not isinstance(status, AutoscalerStatus) or not status.available:
            return False
        if status is self._last_status:
            return False
        self._last_status = status
        now = self.clock() if now is None else now
        at = self._report_time(status, now)
        counts = _Counts.of(status)
        last, self._last = self._last, counts
        if last is None:  # the baseline
            return False
        before = len(self._items), self._seq
        self._diff(last, counts, at)
        return (len(self._items), self._seq) != before

    def _report_time(self, status: AutoscalerStatus, now: float) -> float:
        stamp = parse_stamp(status.timestamp)
        if stamp is None:
            return now
        naive = _naive_epoch(stamp)
        if status.timestamp != self._last_stamp:  # a fresh report: the head's zone from it
            self._last_stamp = status.timestamp
            offset = round((now - naive) / ZONE_GRAIN_S) * ZONE_GRAIN_S
            if abs(now - naive - offset) <= FRESH_S:  # not a report left by a stuck autoscaler
                self._offset = offset
        return self._head_time(stamp, now)

    def _diff(self, old: _Counts, new: _Counts, at: float) -> None:
        for key, line in new.demands.items():
            if key not in old.demands:
                self._add(at, DEMAND_APPEARED, line)
        for key, line in old.demands.items():
            if key not in new.demands:
                shape = _demand_key(line)[1]
                what = key.partition(" | ")[2] or "demand"
                self._add(at, DEMAND_MET, f"{shape}: no longer {what}")
        for line in new.requested:
            if line not in old.requested:
                self._add(at, CONSTRAINT_SET, line)
        for line in old.requested:
            if line not in new.requested:
                self._add(at, CONSTRAINT_CLEARED, line)
        if not new.requested:
            self._kept.clear()
        for node_type in sorted(set(old.nodes) | set(new.nodes)):
            was, now = old.nodes.get(node_type, 0), new.nodes.get(node_type, 0)
            if now > was:
                self._add(at, NODE_UP, f"+{now - was} {node_type} ({now} up)")
            elif now < was:
                self._add(at, NODE_DOWN, f"-{was - now} {node_type} ({now} up)")
        for node_type, count in sorted(new.idle.items()):
            if count > old.idle.get(node_type, 0):
                self._add(at, NODE_IDLE, f"{count} {node_type} idle")
        for line in sorted(new.failures - old.failures):
            self._add(at, NODE_FAILED, line)
        if new.error and new.error != old.error:
            self._add(at, AUTOSCALER_ERROR, new.error)
        self._why_kept(old, new, at)

    def _why_kept(self, old: _Counts, new: _Counts, at: float) -> None:
        """Nodes that a request_resources() constraint keeps up: a node type that came up
        while a constraint is set and no demand waits was launched for the constraint, and Ray
        does not scale it down while the constraint stands. Said once per constraint and type."""
        if not new.requested or new.demands:
            return
        constraint = "; ".join(
            line.removesuffix(" from request_resources()") for line in new.requested
        )
        for node_type, count in sorted(new.nodes.items()):
            if count <= old.nodes.get(node_type, 0) or (constraint, node_type) in self._kept:
                continue
            self._kept.add((constraint, node_type))
            self._add(
                at,
                NODE_KEPT,
                f"{count} {node_type} kept, idle or not: request_resources() asks for "
                f"{constraint} (Ray does not scale down nodes a constraint needs)",
            )

    # -- in: Ray's cluster events ------------------------------------------------------------

    def add_cluster_events(self, data: Any) -> bool:
        """The `data` of a GET /api/v0/cluster_events answer; True when the feed changed."""
        listing = data.get("result") if isinstance(data, dict) else None
        if isinstance(listing, dict):
            total = listing.get("num_filtered", listing.get("total"))
            if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
                self._events_total = min(total, EVENTS_MAX_LIMIT)
            rows = listing.get("result")
        else:
            rows = listing
        if not isinstance(rows, list):
            return False
        changed = False
        for row in rows:
            changed = self._add_cluster_event(row) or changed
        return changed

    def _add_cluster_event(self, row: Any) -> bool:
        if not isinstance(row, dict):
            return False
        message = row.get("message")
        event_id = row.get("event_id")
        if not isinstance(message, str) or not message.strip():
            return False
        source = row.get("source_type")
        if isinstance(source, str) and source and source.upper() != "AUTOSCALER":
            return False
        if not isinstance(event_id, str) or not event_id:
            event_id = f"{row.get('time')}|{message}"
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        while len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
        severity = row.get("severity") if isinstance(row.get("severity"), str) else ""
        kind, text = classify(message, severity)
        at = self._event_time(row.get("time"))
        if kind not in NODE_DECISIONS:
            at += LATE_IN_SECOND  # a verdict on what a report of that second showed: after it
        return self._add(at, kind, text, source="ray")

    def _event_time(self, text: Any) -> float:
        stamp = parse_stamp(text)
        return self.clock() if stamp is None else self._head_time(stamp, None)

    def _head_time(self, stamp: datetime, now: float | None) -> float:
        """A head-local time on this machine's clock: with the zone read from the reports, or
        (none yet) read as this machine's local time."""
        if self._offset is not None:
            return _naive_epoch(stamp) + self._offset
        try:
            return time.mktime(stamp.timetuple()) + stamp.microsecond / 1e6
        except (OverflowError, ValueError):
            return self.clock() if now is None else now

    # -- the list ----------------------------------------------------------------------------

    def _add(self, at: float, kind: str, text: str, source: str = "report") -> bool:
        if kind in REPEATING:
            for index in range(len(self._items) - 1, -1, -1):
                _, seq, event = self._items[index]
                if event.kind == kind and event.text == text:
                    if abs(at - (event.last_at or event.at)) <= REPEAT_S:
                        last = max(at, event.last_at or event.at)
                        counted = replace(event, count=event.count + 1, last_at=last)
                        self._items[index] = (self._items[index][0], seq, counted)
                        self._frozen = None
                        return True
                    break
        self._seq += 1
        event = FeedEvent(at=at, kind=kind, text=text, source=source, key=f"{source}:{self._seq}")
        bisect.insort(self._items, (at, self._seq, event), key=lambda item: item[:2])
        while len(self._items) > self.limit:
            self._items.pop(0)
        self._frozen = None
        return True


def feed_lines(events: Iterable[FeedEvent], time_text: Callable[[float], str]) -> list[str]:
    """The feed as plain lines (newest first): "21:26:46  node up  +1 cpu_worker (1 up)"."""
    out = []
    for event in events:
        repeat = f" (x{event.count})" if event.count > 1 else ""
        out.append(f"{time_text(event.at)}  {event.kind:<20} {event.text}{repeat}")
    return out
