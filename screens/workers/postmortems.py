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
import os
import tempfile
from pathlib import Path

from textual import work

from raycockpit.cockpit import postmortem
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.models import Snapshot
from raycockpit.cockpit.poller import Poller
from raycockpit.cockpit.recording import Recorder, RecordingError
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
        if getattr(self, "replay_clock", None) is not None:
            return  # a replay's failures were the recorded cluster's: nothing new to keep
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
        client = self.client
        recorder = self._moment_recorder()
        try:
            if recorder is not None and client is not None:
                await Poller(client).poll_once()  # every section, into the bundle's recording
            if failure.job is not None and client is not None:
                try:
                    info = await client.get_job(failure.key)
                except CockpitError as exc:
                    info_error = exc.one_line()
                try:
                    log = await client.job_logs(failure.key)
                except CockpitError as exc:
                    log_error = exc.one_line()
        finally:
            if recorder is not None:
                self.tap.moments.remove(recorder)  # type: ignore[attr-defined]
        if recorder is not None:
            if log:
                recorder.log_lines(failure.key, log.splitlines())
            await asyncio.to_thread(recorder.close)
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
                recording=(
                    recorder.path
                    if recorder is not None and recorder.answers and not recorder.error
                    else None
                ),
            )
        except OSError as exc:
            self.notify(  # type: ignore[attr-defined]
                f"post-mortem of {failure.kind} {failure.key} not kept: {folder}: "
                f"{exc.strerror or exc} (set postmortem_dir in the settings)",
                severity="warning",
                timeout=10,
            )
            return None
        finally:
            if recorder is not None:
                recorder.path.unlink(missing_ok=True)  # moved into the bundle, or not kept

    def _moment_recorder(self) -> Recorder | None:
        """A recording of this moment, fed by the app's client (the bundle's `recording.rcrec`,
        opened by `raycockpit --replay BUNDLE`); None when the app's client has no tap (a client
        handed in, a replay) or no temporary file can be made: the bundle is kept without it."""
        tap = getattr(self, "tap", None)
        if tap is None:
            return None
        token = self.settings.token()
        try:
            fd, name = tempfile.mkstemp(prefix="rc-pm-", suffix=".rcrec")
            os.close(fd)
            recorder = Recorder(
                name,
                address=self.address,  # type: ignore[attr-defined]
                max_bytes=int(self.settings.record_max_mb * 2**20),
                secrets=[token] if token else [],
            ).start()
        except (OSError, RecordingError):
            return None
        tap.moments.append(recorder)
        return recorder

    def action_postmortems(self) -> None:
        """`m` in the Jobs pane: the post-mortems kept, read from the folder alone."""
        if not isinstance(self.screen, PostmortemListScreen):  # type: ignore[attr-defined]
            self.push_screen(PostmortemListScreen(self.postmortem_folder))  # type: ignore[attr-defined]
