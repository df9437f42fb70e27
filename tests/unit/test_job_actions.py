"""cockpit/job_actions.py: which actions a job allows, and the words when it does not."""

from __future__ import annotations

from raycockpit.cockpit.job_actions import JOB_ACTIONS, job_action_refusal
from raycockpit.cockpit.launch import JobOptions, build_custom_request
from raycockpit.cockpit.models import Job


def job(status: str, type_: str = "SUBMISSION", metadata=None) -> Job:
    return Job("raysubmit_1", "", type_, status, "python x.py", metadata=metadata or {})


def test_a_running_job_can_be_stopped_not_deleted():
    running = job("RUNNING")
    assert job_action_refusal("stop", running) == ""
    assert job_action_refusal("delete", running) == (
        "raysubmit_1 is RUNNING: only an ended job can be deleted; x stops it first"
    )
    assert job_action_refusal("stop", job("PENDING")) == ""


def test_an_ended_job_can_be_deleted_not_stopped():
    for status in ("SUCCEEDED", "FAILED", "STOPPED"):
        ended = job(status)
        assert job_action_refusal("delete", ended) == ""
        assert job_action_refusal("stop", ended) == (
            f"raysubmit_1 has ended ({status}): nothing to stop; d deletes it"
        )


def test_a_driver_job_is_not_ours_to_stop_and_only_launched_jobs_resubmit():
    driver = job("RUNNING", type_="DRIVER")
    assert "not one submitted through the Jobs API" in job_action_refusal("stop", driver)
    assert "not one submitted through the Jobs API" in job_action_refusal("delete", driver)
    for action in ("resubmit", "duplicate"):
        assert "not launched from raycockpit" in job_action_refusal(action, job("FAILED"))
    request, _ = build_custom_request("python x.py", "", JobOptions())
    launched = job("FAILED", metadata=request.metadata)
    assert all(job_action_refusal(a, launched) == "" for a in ("resubmit", "duplicate", "delete"))
    assert set(JOB_ACTIONS) == {"stop", "delete", "resubmit", "duplicate"}
