"""An actor's detail from the two answers recorded on the real Ray 2.60 head
(tests/fixtures/actor_detail/: the state row with `detail=true` and `/logical/actors/{id}`), for
an actor whose constructor raised, one alive and printing, one waiting for 64 CPUs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raycockpit.cockpit.actor_detail import actor_detail, death_text, user_traceback
from raycockpit.cockpit.models import Actor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "actor_detail"


def answers(name: str) -> tuple[dict, dict]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return data["row"], data["logical"]


def test_a_constructor_that_raised_shows_the_users_traceback_not_rays():
    row, logical = answers("dead")
    detail = actor_detail(row, logical, None)
    assert detail.actor.class_name == "Broken" and detail.actor.state == "DEAD"
    first, *trace = detail.death.splitlines()
    assert first == "creation task failure: ValueError: bad config: lr must be > 0"
    assert trace == [
        "Traceback (most recent call last):",
        '  File "<working_dir>/demo.py", line 18, in __init__',
        '    raise ValueError("bad config: lr must be > 0")',
        "ValueError: bad config: lr must be > 0",
    ]
    assert detail.started_at and detail.ended_at and detail.ended_at >= detail.started_at
    assert detail.cpu_percent is None and detail.rss_bytes is None  # no process any more
    assert detail.node_ip == "127.0.0.1"


def test_without_the_state_row_the_exit_detail_gives_the_same_traceback():
    row, logical = answers("dead")
    known = Actor(actor_id=row["actor_id"], class_name="Broken", state="DEAD")
    detail = actor_detail({}, logical, known)
    assert detail.actor is known
    assert detail.death.splitlines()[0] == "ValueError: bad config: lr must be > 0"
    assert '  File "<working_dir>/demo.py", line 18, in __init__' in detail.death
    assert "_raylet.pyx" not in detail.death and "ActorDiedError" not in detail.death


def test_an_alive_actor_has_its_process_cpu_and_memory():
    row, logical = answers("alive")
    detail = actor_detail(row, logical, None)
    assert detail.actor.state == "ALIVE" and detail.actor.resources == {"CPU": 0.5}
    assert detail.rss_bytes == int(logical["processStats"]["memoryInfo"]["rss"]) > 10 * 2**20
    assert detail.cpu_percent is not None and detail.cpu_percent >= 0
    assert detail.started_at == logical["startTime"] / 1000 and detail.ended_at is None
    assert detail.death == "" and detail.namespace


def test_a_pending_actor_has_no_process_and_no_times():
    row, logical = answers("pending")
    detail = actor_detail(row, logical, None)
    assert detail.actor.state == "PENDING_CREATION" and detail.actor.resources == {"CPU": 64.0}
    assert detail.started_at is None and detail.ended_at is None
    assert detail.rss_bytes is None and detail.node_ip == "" and detail.death == ""


def test_a_forgotten_actor_keeps_what_the_pane_knew():
    known = Actor(actor_id="ab" * 16, class_name="Gone", state="DEAD", death_cause="x")
    detail = actor_detail({}, {}, known)
    assert detail.actor is known and detail.death == ""


def test_rays_own_frames_are_dropped_and_library_frames_kept():
    trace = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "python/ray/_raylet.pyx", line 2198, in ray._raylet.execute_task',
            '  File "/v/site-packages/ray/_private/function_manager.py", line 740, in x',
            "    return method(__ray_actor, *args, **kwargs)",
            "           ^^^^^^^^^^^^^^^^^^^^",
            '  File "/v/lib/python3.11/site-packages/torch/nn/modules/module.py", line 9, in f',
            "    raise RuntimeError('shape')",
            "",
            "RuntimeError: shape",
            "",
            "During handling of the above exception, another exception occurred:",
            "ray.exceptions.ActorDiedError: ...",
        ]
    )
    assert user_traceback(trace).splitlines() == [
        "Traceback (most recent call last):",
        '  File "/v/lib/python3.11/site-packages/torch/nn/modules/module.py", line 9, in f',
        "    raise RuntimeError('shape')",
        "RuntimeError: shape",
    ]


@pytest.mark.parametrize("cause", [None, {}, {"x": 1}, {"a_context": {"reason": 3}}, "text"])
def test_odd_death_causes_are_no_death(cause):
    assert death_text(cause) in ("", "a")


@given(st.recursive(st.none() | st.text() | st.integers(), lambda c: st.dictionaries(st.text(), c)))
def test_death_text_never_raises(cause):
    assert isinstance(death_text(cause, "-"), str)


def test_the_head_of_a_restarted_actor_and_of_a_long_traceback():
    from raycockpit.cockpit.actor_detail import ActorDetail
    from raycockpit.screens.actor import TRACE_LINES, actor_head

    trace = "\n".join(f"  frame {i}" for i in range(TRACE_LINES + 8))
    restarted = Actor(actor_id="a" * 32, class_name="W", state="ALIVE", restarts=1)
    detail = ActorDetail(actor=restarted, death=f"worker died (SYSTEM_ERROR): gone\n{trace}")
    lines = actor_head(detail, None, "vm").plain.splitlines()
    assert lines[2] == "its last process ended: worker died (SYSTEM_ERROR): gone"
    assert lines[3] == "  … 8 lines above (stderr has it whole)"
    assert lines[-1] == f"    frame {TRACE_LINES + 7}" and len(lines) == 4 + TRACE_LINES
    dead = ActorDetail(actor=Actor(actor_id="b" * 32, class_name="W", state="DEAD"), death="x")
    assert "died: x" in actor_head(dead, None, "").plain
