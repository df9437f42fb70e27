"""Which of stop, delete, resubmit and duplicate a job allows, and, when not, why in words.

One rule for the job's screen (which hides the keys that do not apply) and its Jobs pane row
(whose keys stay put as the cursor moves, so a key that does not apply says why).
"""

from __future__ import annotations

from raycockpit.cockpit.launch import launched_by_cockpit
from raycockpit.cockpit.models import Job

JOB_ACTIONS = ("stop", "delete", "resubmit", "duplicate")


def job_action_refusal(action: str, job: Job) -> str:
    """Why `action` cannot be done to `job` ("" when it can)."""
    if action in ("stop", "delete") and job.type != "SUBMISSION":
        return (
            f"{job.key} is a {job.type.lower() or 'driver'} job, not one submitted through the "
            "Jobs API: Ray cannot stop or delete it from here"
        )
    if action == "stop" and job.terminal:
        return f"{job.key} has ended ({job.status}): nothing to stop; d deletes it"
    if action == "delete" and not job.terminal:
        return f"{job.key} is {job.status}: only an ended job can be deleted; x stops it first"
    if action in ("resubmit", "duplicate") and launched_by_cockpit(job.metadata) is None:
        return f"{job.key} was not launched from raycockpit: only those can be resubmitted"
    return ""
