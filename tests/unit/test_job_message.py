"""A failed job's message in one line (cockpit/job_message.py), on Ray 2.60's own wording."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from raycockpit.cockpit.job_message import error_line, failure_line, message_head
from raycockpit.cockpit.models import Job

HEAD = "Job entrypoint command failed with exit code {}, last available logs (truncated to 20,000 chars):"  # noqa: E501


def failed(tail: str, code: int = 1, **kw) -> Job:
    message = HEAD.format(code) + "\n" + tail
    return Job("raysubmit_x", "", "SUBMISSION", "FAILED", "python x.py", message=message, **kw)


def test_the_exit_code_and_the_error_a_traceback_ends_with():
    tail = (
        "2026-11-29 06:42:19,286 INFO job_manager.py:581 -- Runtime env is setting up.\n"
        'Running entrypoint for job raysubmit_x: python -c "..."\n'
        "Traceback (most recent call last):\n"
        '  File "<string>", line 1, in <module>\n'
        "FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent'\n"
    )
    assert failure_line(failed(tail)) == (
        "exit code 1: FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent'"
    )


def test_a_task_error_and_the_noise_after_it():
    tail = (
        "Traceback (most recent call last):\n"
        "ray.exceptions.RayTaskError(ZeroDivisionError): ray::f() (pid=4242, ip=127.0.0.1)\n"
        '  File "x.py", line 3, in f\n'
        "ZeroDivisionError: division by zero\n"
        "(raylet) [2026-11-29 06:42:20] WARNING: a worker was killed\n"
        "\n"
    )
    assert failure_line(failed(tail, 3)) == "exit code 3: ZeroDivisionError: division by zero"
    assert error_line("(TrainWorker pid=7) RuntimeError: nccl\nbye") == (
        "(TrainWorker pid=7) RuntimeError: nccl"
    )
    assert error_line("KeyboardInterrupt\n") == "KeyboardInterrupt"


def test_no_traceback_is_the_logs_last_line():
    assert failure_line(failed("about to fail\n\n", 3)) == "exit code 3: about to fail"


def test_other_messages_are_their_first_line():
    stopped = Job("s", "", "SUBMISSION", "STOPPED", "x", message="Job was intentionally stopped.")
    assert failure_line(stopped) == "Job was intentionally stopped."
    env = Job("e", "", "SUBMISSION", "FAILED", "x", message="Failed to set up runtime env.\nx")
    assert failure_line(env) == "Failed to set up runtime env."
    no_tail = Job("n", "", "SUBMISSION", "FAILED", "x", message=HEAD.format(2))
    assert failure_line(no_tail) == "Job entrypoint command failed with exit code 2"
    assert message_head("") == "" and failure_line(Job("z", "", "S", "FAILED", "x")) == ""


@given(st.text(max_size=300), st.sampled_from(["FAILED", "STOPPED", "SUCCEEDED", "RUNNING"]))
def test_any_message_gives_one_line(message, status):
    line = failure_line(Job("h", "", "SUBMISSION", status, "x", message=message))
    assert "\n" not in line and "\r" not in line
