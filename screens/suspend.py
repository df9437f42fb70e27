"""ctrl+z: the cockpit steps out of the terminal to the shell that started it; `fg` brings it back.

Textual reads the terminal raw, so ctrl+z is a key (it binds none): the app leaves its screen
(`App.suspend`), prints where it went, and stops its process group, as the terminal would have.
Only when a job-control shell can continue it (cockpit/job_control.py); else it says why and
stays. The embedded head runs in its own process group, so it and its jobs keep running; once
continued, the screen comes back and the poller asks for a fresh snapshot at once.
"""

from __future__ import annotations

import os
import signal
import sys

from textual.app import SuspendNotSupported
from textual.binding import Binding

from raycockpit.cockpit.job_control import NO_JOB_CONTROL, job_control_shell, suspended_message

SUSPEND_BINDING = Binding("ctrl+z", "suspend", "Suspend (fg resumes)", id="app.suspend", show=False)


class Suspending:
    """The App's ctrl+z (mixed into CockpitApp)."""

    def action_suspend(self) -> None:
        driver = self._driver
        if driver is None or not driver.can_suspend:
            self.notify("ctrl+z: this terminal cannot suspend raycockpit", severity="warning")
            return
        if job_control_shell(getattr(driver, "fileno", None)) is None:
            self.notify(NO_JOB_CONTROL, severity="warning", timeout=10)
            return
        head = self.head if self.head is not None and self.head_started else self.kept_head
        message = suspended_message(head.pid if head is not None else None)
        try:
            with self.suspend():
                print(message, file=sys.__stderr__, flush=True)
                os.killpg(os.getpgrp(), signal.SIGSTOP)  # returns once the shell continues us
        except (SuspendNotSupported, OSError) as e:
            self.notify(f"ctrl+z: could not suspend ({e})", severity="warning")
            return
        self.action_refresh_now()  # what happened meanwhile, now rather than at the next tick
