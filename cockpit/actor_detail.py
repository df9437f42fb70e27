"""One actor in full, for its screen: what the Actors pane's row holds plus where and how it runs
or why it died, its process's CPU and memory, and the traceback that killed it.

Two answers make it (`DashboardClient.actor_detail`): the state API's row with `detail=true`
(`death_cause` with a creation task's `formatted_exception_string`, `ray_namespace`,
`placement_group_id`, `is_detached`, `call_site`) and `/logical/actors/{id}` (`startTime` /
`endTime` in ms, `address.ipAddress`, `processStats` with `cpuPercent` and `memoryInfo.rss` while
the actor is alive, `exitDetail`; its task counts lag many seconds behind and are not shown). Ray
writes int64 fields as strings; either answer may be empty (an actor Ray forgot; `detail:
null`). Pure functions: no I/O, no Textual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from raycockpit.cockpit.actors import death_line, parse_actor
from raycockpit.cockpit.models import Actor

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+')
_WORKING_DIR = re.compile(r"/\S*/runtime_resources/working_dir_files/_ray_pkg_[0-9a-f]+/")


@dataclass(frozen=True, slots=True)
class ActorDetail:
    actor: Actor
    namespace: str = ""
    placement_group_id: str = ""
    detached: bool = False
    node_ip: str = ""
    started_at: float | None = None  # epoch seconds
    ended_at: float | None = None
    cpu_percent: float | None = None  # its process, while alive
    rss_bytes: int | None = None
    death: str = ""  # the death cause in full: Ray's message, then the traceback if one raised
    call_site: str = ""  # where it was created (when RAY_record_actor_task_call_site is on)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _ms(value: Any) -> float | None:
    number = _number(value)
    return number / 1000.0 if number else None  # 0: not ended (or not started)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def user_traceback(trace: str) -> str:
    """The part of Ray's `formatted_exception_string` a user reads: the first exception of the
    chain (Ray wraps it in an ActorDiedError raised "during handling" of it), without the frames
    of Ray's own code (`python/ray/_raylet.pyx`, `site-packages/ray/`), caret lines and blank
    lines, with the job's unpacked working_dir shown as `<working_dir>/`."""
    trace = _ANSI.sub("", trace)
    trace = trace.split("During handling of the above exception", 1)[0]
    out: list[str] = []
    skipping = False
    for line in trace.splitlines():
        if not line.strip() or set(line.strip()) <= set("^~"):
            continue
        frame = _FRAME.match(line)
        if frame:
            skipping = _is_ray_code(frame.group(1))
        elif not line.startswith(" "):
            skipping = False  # the exception's own line, or "Traceback ..."
        if not skipping:
            out.append(_WORKING_DIR.sub("<working_dir>/", line))
    return "\n".join(out)


def _is_ray_code(path: str) -> bool:
    return path.startswith("python/ray/") or "/site-packages/ray/" in path


def death_text(cause: Any, exit_detail: str = "") -> str:
    """The whole death cause: its one line (kind, reason, message) and, when the actor's
    constructor or a task raised, the user's part of the traceback (`user_traceback`)."""
    line = death_line(cause)
    trace = ""
    if not line and exit_detail and exit_detail != "-":  # the state row is missing
        trace = user_traceback(exit_detail) if "Traceback" in exit_detail else ""
        line = trace.splitlines()[-1] if trace else " ".join(exit_detail.split())
    if isinstance(cause, dict):
        for context in cause.values():
            if isinstance(context, dict):
                trace = user_traceback(_str(context.get("formatted_exception_string")))
                if trace:
                    break
    return f"{line}\n{trace}" if trace else line


def actor_detail(row: dict[str, Any], logical: dict[str, Any], known: Actor | None) -> ActorDetail:
    """The detail from the two answers; `known` (the Actors pane's row) fills what both miss."""
    actor = parse_actor(row) if row else None
    if actor is None:
        actor = known
    if actor is None:
        actor = Actor(
            actor_id=_str(logical.get("actorId")) or "?",
            class_name=_str(logical.get("className")) or "?",
            state=_str(logical.get("state")) or "?",
        )
    address = logical.get("address") if isinstance(logical.get("address"), dict) else {}
    stats = logical.get("processStats") if isinstance(logical.get("processStats"), dict) else {}
    memory = stats.get("memoryInfo") if isinstance(stats.get("memoryInfo"), dict) else {}
    alive = actor.state == "ALIVE"
    rss = _number(memory.get("rss")) if alive else None
    return ActorDetail(
        actor=actor,
        namespace=_str(row.get("ray_namespace")),
        placement_group_id=_str(row.get("placement_group_id")),
        detached=row.get("is_detached") is True,
        node_ip=_str(address.get("ipAddress")),
        started_at=_ms(logical.get("startTime")),
        ended_at=_ms(logical.get("endTime")),
        cpu_percent=_number(stats.get("cpuPercent")) if alive else None,
        rss_bytes=int(rss) if rss is not None else None,
        death=death_text(row.get("death_cause"), _str(logical.get("exitDetail"))),
        call_site=_str(row.get("call_site")),
    )
