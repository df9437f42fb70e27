"""The app's post-mortem keeper (a mixin of CockpitApp): on each new snapshot it asks the core
(cockpit/postmortem.py) which jobs failed and which nodes died since the last one, adds the job
whose screen is open when that job is FAILED, and keeps one bundle of each: the job's info and
whole log fetched from the dashboard, the snapshot as `--once --json` prints it, the
why-explanations. The fetches are awaited (no blocking), the JSON and the files are written in a
thread. `m` in the Jobs pane (`app.postmortems`) lists them, from the folder alone.

Textual calls a message handler of every class in the App's MRO, so this `on_snapshot_updated`
runs after CockpitApp's own for the same message."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import work

from raycockpit.cockpit import postmortem
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.models import Snapshot
from raycockpit.screens.job import JobScreen
from raycockpit.screens.messages import SnapshotUpdated
from raycockpit.screens.postmortems import PostmortemListScreen


class PostmortemWorkers:
    """Mixed into CockpitApp: uses its client, settings and screen stack."""

    client: DashboardClient | None
    settings: Settings
    _pm_previous: Snapshot | None = None
    _pm_seen: set[str] | None = None  # bundle ids written, found on disk, or being written

    @property
    def postmortem_folder(self) -> Path:
        return postmortem.folder_for(self.settings.postmortem_dir)

    def on_snapshot_updated(self, message: SnapshotUpdated) -> None:
        snap = message.snapshot
        previous, self._pm_previous = self._pm_previous, snap
        found = postmortem.failures(previous, snap)
        for screen in self.screen_stack:  # type: ignore[attr-defined]
            if isinstance(screen, JobScreen):
                job = next((j for j in snap.jobs if j.key == screen.job_id), screen.job)
                if job.status == "FAILED":
                    found.append(postmortem.job_failure(job))
        if self._pm_seen is None:
            self._pm_seen = set()
        for failure in found:
            if failure.bundle_id not in self._pm_seen and self.client is not None:
                self._pm_seen.add(failure.bundle_id)
                self.keep_postmortem(failure, snap)

    @work(group="postmortems", exit_on_error=False)
    async def keep_postmortem(self, failure: postmortem.Failure, snap: Snapshot) -> Path | None:
        """Fetch the job's info and whole log, then write the bundle (once per job or node; a
        dashboard that does not answer leaves the snapshot's row and says why)."""
        folder, keep = self.postmortem_folder, self.settings.postmortem_keep
        if await asyncio.to_thread(postmortem.exists, folder, failure):
            return None
        info = log = None
        info_error = log_error = ""
        if failure.job is not None and self.client is not None:
            try:
                info = await self.client.get_job(failure.key)
            except CockpitError as exc:
                info_error = exc.one_line()
            try:
                log = await self.client.job_logs(failure.key)
            except CockpitError as exc:
                log_error = exc.one_line()
        try:
            return await asyncio.to_thread(
                postmortem.write,
                folder,
                failure,
                snap,
                job_info=info,
                log=log,
                log_error=log_error,
                job_info_error=info_error,
                keep=keep,
            )
        except OSError as exc:
            self.notify(  # type: ignore[attr-defined]
                f"post-mortem of {failure.kind} {failure.key} not kept: {folder}: "
                f"{exc.strerror or exc} (set postmortem_dir in the settings)",
                severity="warning",
                timeout=10,
            )
            return None

    def action_postmortems(self) -> None:
        """`m` in the Jobs pane: the post-mortems kept, read from the folder alone."""
        if not isinstance(self.screen, PostmortemListScreen):  # type: ignore[attr-defined]
            self.push_screen(PostmortemListScreen(self.postmortem_folder))  # type: ignore[attr-defined]
