"""The App's life in its terminal: the driver, the signals, ctrl+z and ctrl+c.

- The driver: Textual's, except that a terminal on Linux gets the one that lets a lone Escape go
  on time (screens/driver.py); --web's and Windows' drivers are kept.
- A hangup (SSH drop, closed terminal), SIGTERM and SIGINT leave the way q does; the CLI then
  stops the embedded head (unless --keep-cluster).
- ctrl+z steps out to the shell that started the cockpit; `fg` brings it back. Textual reads the
  terminal raw, so ctrl+z is a key (it binds none): the app sends itself SIGTSTP, and the
  driver's handler (screens/driver.py) leaves the screen, prints where it went, and stops the
  process group, as the terminal would have; SIGCONT brings the screen back. Only when a
  job-control shell can continue it (cockpit/job_control.py); else it says why and stays. The
  embedded head runs in its own process group, so it and its jobs keep running; once continued,
  the screen comes back and the poller asks for a fresh snapshot at once.
- ctrl+c is a key too (Textual copies with it in an input): it says how to quit.
"""

from __future__ import annotations

import asyncio
import signal

from textual.binding import Binding

from raycockpit.cockpit.job_control import NO_JOB_CONTROL, job_control_shell, suspended_message

SUSPEND_BINDING = Binding("ctrl+z", "suspend", "Suspend (fg resumes)", id="app.suspend", show=False)
QUIT_ACTIONS = ("quit", "app.quit")


class TerminalLife:
    """Mixed into CockpitApp."""

    def get_driver_class(self):
        chosen = super().get_driver_class()
        if chosen.__module__ == "textual.drivers.linux_driver":  # imported only where it runs
            from raycockpit.screens.driver import PromptEscapeDriver

            return PromptEscapeDriver
        return chosen

    # -- signals: a hangup, SIGTERM and SIGINT do what q does -----------------------------------

    HANDLED_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)

    def _catch_signals(self) -> None:
        self.app_resume_signal.subscribe(self, self._resumed)  # after ctrl+z and fg
        if self.is_headless:
            return  # tests drive the app; the test runner keeps its own signals
        loop = asyncio.get_running_loop()
        for sig in self.HANDLED_SIGNALS:
            try:
                loop.add_signal_handler(sig, self._exit_on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    def _exit_on_signal(self, sig: int) -> None:
        if self.exit_signal is None:
            self.exit_signal = sig
            self.exit(return_code=128 + sig)

    # -- keys the terminal would have taken ---------------------------------------------------

    def action_suspend(self) -> None:
        driver = self._driver
        if driver is None or not driver.can_suspend:
            self.notify("ctrl+z: this terminal cannot suspend raycockpit", severity="warning")
            return
        if job_control_shell(getattr(driver, "fileno", None)) is None:
            self.notify(NO_JOB_CONTROL, severity="warning", timeout=10)
            return
        head = self.head if self.head is not None and self.head_started else self.kept_head
        if hasattr(driver, "suspend_note"):  # the cockpit's driver prints it once off screen
            driver.suspend_note = suspended_message(head.pid if head is not None else None)
        # Textual's way: SIGTSTP to this process; the driver's handler leaves the screen and
        # stops the group; SIGCONT (fg) brings the screen back and publishes the resume
        self.action_suspend_process()

    def _resumed(self, _app) -> None:
        """After fg: what happened meanwhile, now rather than at the next tick."""
        self.action_refresh_now()

    def action_help_quit(self) -> None:
        """ctrl+c (Textual's binding): says how to quit, plainly (Textual's own said it with
        markup, which the cockpit's plain notifications showed as '[b]ctrl+q[/b]')."""
        keys = [k for k, b in self.active_bindings.items() if b.binding.action in QUIT_ACTIONS]
        if keys:
            quit_keys = " or ".join(
                self.get_key_display(self.active_bindings[k].binding) for k in keys
            )
            self.notify(f"Press {quit_keys} to quit", title="Do you want to quit?")
