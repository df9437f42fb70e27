"""The tasks of one function on the answers recorded from the real Ray 2.60 head
(tests/fixtures/task_list/: `square` run 30 times, failing for inputs 3, 10, 17, 24): failed ones
first, each attempt once, the user's traceback without Ray's wrapping."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from raycockpit.cockpit.task_list import parse_task, task_list

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "task_list"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"square_{name}.json").read_text())


def test_failed_tasks_come_first_with_the_users_error():
    tasks = task_list("square", recorded("all"), recorded("failed"))
    assert tasks.total == 30 and tasks.failed_total == 4 and len(tasks.rows) == 30
    states = [row.state for row in tasks.rows]
    assert states[:4] == ["FAILED"] * 4 and set(states[4:]) == {"FINISHED"}
    assert sorted(row.error_line for row in tasks.rows[:4]) == [
        f"ValueError: bad input {n}" for n in (10, 17, 24, 3)
    ]
    first = tasks.rows[0]
    assert first.error_type == "TASK_EXECUTION_EXCEPTION"
    assert '  File "<working_dir>/tasks.py", line 8, in square' in first.error.splitlines()
    assert first.worker_pid and first.node_id and first.start_s and first.end_s >= first.start_s
    assert all(row.error == "" and row.error_line == "" for row in tasks.rows[4:])


def test_an_attempt_in_both_answers_is_listed_once():
    everything = recorded("all")
    tasks = task_list("square", everything, everything)
    assert len(tasks.rows) == len({row.key for row in tasks.rows}) == 30


def test_odd_answers_list_nothing():
    for odd in (None, {}, {"result": []}, {"result": {"result": "x"}}):
        tasks = task_list("f", odd, odd)
        assert tasks.rows == () and tasks.total == 0


@given(
    st.dictionaries(
        st.sampled_from(
            ["task_id", "state", "error_message", "start_time_ms", "attempt_number", "worker_pid"]
        ),
        st.none() | st.text() | st.integers() | st.floats(),
    )
)
def test_parse_task_never_raises(raw):
    row = parse_task(raw)
    assert row is None or isinstance(row.error_line, str)


def test_where_a_tasks_own_output_is():
    """Ray 2.60 records a normal task's offsets in its worker's files (task_log_info): its
    start while it runs, its end once the worker went on (a worker's last task may have none)."""
    tasks = task_list("square", recorded("all"), recorded("failed"))
    assert all(row.own_log for row in tasks.rows)
    assert any(row.log_closed for row in tasks.rows)
    assert all(row.output_complete for row in tasks.rows)  # all ended
    running = parse_task(
        {
            "task_id": "t1",
            "state": "RUNNING",
            "task_log_info": {"stdout_file": "w.out", "stdout_start": 66, "stderr_start": 52},
        }
    )
    assert running.own_log and not running.log_closed and not running.output_complete
    method = parse_task({"task_id": "t2", "state": "FINISHED", "task_log_info": None})
    assert not method.own_log and method.output_complete
