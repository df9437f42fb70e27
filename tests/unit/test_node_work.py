"""cockpit/node_work.py: a state API page of tasks or actors -> groups by name and state."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raycockpit.cockpit.errors import BadResponse
from raycockpit.cockpit.node_work import fetch_node_work, parse_listing


def page(rows, matched=None, total=None, kept=None):
    n = len(rows)
    return {
        "result": {
            "total": n if total is None else total,
            "num_after_truncation": n if kept is None else kept,
            "num_filtered": n if matched is None else matched,
            "result": rows,
        }
    }


def test_groups_by_name_then_state_largest_first():
    rows = [{"func_or_class_name": "mc", "state": "FINISHED"}] * 5
    rows += [{"func_or_class_name": "mc", "state": "RUNNING"}]
    rows += [{"func_or_class_name": "read", "state": "FAILED"}] * 2
    listing = parse_listing(page(rows), "func_or_class_name", "task")
    assert [(g.name, g.states, g.total) for g in listing.groups] == [
        ("mc", (("RUNNING", 1), ("FINISHED", 5)), 6),  # live first, then how it ended
        ("read", (("FAILED", 2),), 2),
    ]
    assert (listing.listed, listing.matched, listing.partial) == (8, 8, False)


def test_a_page_past_the_limit_says_it_is_partial():
    rows = [{"class_name": "A", "state": "ALIVE"}] * 3
    listing = parse_listing(page(rows, matched=10_000), "class_name", "actor")
    assert listing.partial and listing.matched == 10_000 and listing.listed == 3


def test_rows_ray_dropped_at_the_source_are_said():
    rows = [{"func_or_class_name": "f", "state": "FINISHED"}] * 3
    listing = parse_listing(page(rows, total=9, kept=4), "func_or_class_name", "task")
    assert listing.partial and listing.dropped == 5 and listing.matched == 3
    # the driver filtered out after the source: more kept than matched is not partial
    whole = parse_listing(page(rows, total=4, kept=4), "func_or_class_name", "task")
    assert not whole.partial


def test_a_page_without_rows_is_a_bad_response():
    with pytest.raises(BadResponse, match="task list"):
        parse_listing({"result": {"total": 3}}, "func_or_class_name", "task")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=8))
def test_junk_rows_are_skipped_never_raise(junk):
    listing = parse_listing(
        page([junk, {"func_or_class_name": "f", "state": "FINISHED"}]), "func_or_class_name", "task"
    )
    assert any(g.name == "f" for g in listing.groups)


async def test_fetch_filters_both_lists_by_the_node():
    asked = []

    class Lister:
        async def list_state(self, kind, filters, limit):
            asked.append((kind, filters, limit))
            name = "func_or_class_name" if kind == "tasks" else "class_name"
            return page([{name: kind, "state": "FINISHED"}])

    work = await fetch_node_work(Lister(), "abc", limit=7)
    assert asked == [
        ("tasks", [("node_id", "=", "abc")], 7),
        ("actors", [("node_id", "=", "abc")], 7),
    ]
    assert work.tasks.groups[0].name == "tasks" and work.actors.groups[0].name == "actors"
