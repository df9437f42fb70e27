"""What runs on one node: its tasks and actors grouped by name with their states, from Ray's state
API filtered by node id (`/api/v0/tasks`, `/api/v0/actors`, `detail=false`, one bounded page each).

The state API has no pagination: when more than `limit` rows match, the answer says how many
matched (`num_filtered`) and the groups cover the listed ones only; when Ray itself dropped rows
at the source (task events past its buffer, `total > num_after_truncation`) that is said too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from raycockpit.cockpit.errors import BadResponse, preview

LIMIT = 1000
# the order states are shown in: what is live first, then how it ended
STATE_ORDER = (
    "RUNNING",
    "RUNNING_IN_RAY_GET",
    "RUNNING_IN_RAY_WAIT",
    "ALIVE",
    "PENDING_NODE_ASSIGNMENT",
    "PENDING_ARGS_AVAIL",
    "PENDING_OBJ_STORE_MEM_AVAIL",
    "SUBMITTED_TO_WORKER",
    "PENDING_ACTOR_TASK_ARGS_FETCH",
    "PENDING_ACTOR_TASK_ORDERING_OR_CONCURRENCY",
    "PENDING_CREATION",
    "DEPENDENCIES_UNREADY",
    "RESTARTING",
    "FINISHED",
    "FAILED",
    "DEAD",
)


@dataclass(frozen=True, slots=True)
class WorkGroup:
    """The tasks of one function (or the actors of one class) on the node, counted by state."""

    name: str
    states: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.states)


@dataclass(frozen=True, slots=True)
class Listing:
    """One state API list, grouped: `listed` rows were returned of `matched`; `dropped` more
    were lost by Ray before filtering (so they may or may not have matched)."""

    groups: tuple[WorkGroup, ...]
    listed: int
    matched: int
    dropped: int = 0

    @property
    def partial(self) -> bool:
        return self.matched > self.listed or self.dropped > 0


@dataclass(frozen=True, slots=True)
class NodeWork:
    node_id: str
    tasks: Listing
    actors: Listing


class StateLister(Protocol):
    async def list_state(
        self, kind: str, filters: list[tuple[str, str, str]], limit: int
    ) -> dict[str, Any]: ...


def state_rank(state: str) -> int:
    """Where a task's or actor's state sorts (STATE_ORDER; others after, by name)."""
    return STATE_ORDER.index(state) if state in STATE_ORDER else len(STATE_ORDER)


def parse_listing(data: Any, name_key: str, what: str) -> Listing:
    """The `data` of a state API list envelope -> groups by `name_key`, largest first."""
    inner = data.get("result") if isinstance(data, dict) else None
    rows = inner.get("result") if isinstance(inner, dict) else None
    if not isinstance(rows, list):
        raise BadResponse(f"the {what} list has no rows", body=preview(data))
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        name = row.get(name_key) or row.get("name") or "?"
        state = row.get("state") or "?"
        if not isinstance(name, str) or not isinstance(state, str):
            continue
        by_state = counts.setdefault(name, {})
        by_state[state] = by_state.get(state, 0) + 1
    groups = [
        WorkGroup(name, tuple(sorted(states.items(), key=lambda kv: (state_rank(kv[0]), kv[0]))))
        for name, states in counts.items()
    ]
    groups.sort(key=lambda g: (-g.total, g.name))
    listed = len(rows)
    matched = _count(inner.get("num_filtered"))
    total, kept = _count(inner.get("total")), _count(inner.get("num_after_truncation"))
    dropped = total - kept if total is not None and kept is not None else 0
    return Listing(tuple(groups), listed, max(matched or 0, listed), max(dropped, 0))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def fetch_node_work(client: StateLister, node_id: str, limit: int = LIMIT) -> NodeWork:
    """The tasks and actors Ray's state API knows on `node_id` (two requests)."""
    where = [("node_id", "=", node_id)]
    tasks = await client.list_state("tasks", where, limit)
    actors = await client.list_state("actors", where, limit)
    return NodeWork(
        node_id,
        parse_listing(tasks, "func_or_class_name", "task"),
        parse_listing(actors, "class_name", "actor"),
    )
