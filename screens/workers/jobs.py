"""The app's handlers and workers for launching jobs and watching them (a mixin of CockpitApp).

Forms and the job screen post messages; these workers package, submit, follow logs, stop, delete
and save, and post their results as Messages (screens/messages.py) that the handlers here hand to
the launch pane, the form or the job screen. Failures become one readable line, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from pathlib import Path

from textual import work
from textual._compositor import Compositor
from textual.worker import Worker

from raycockpit.cockpit.client import preload_log_tail
from raycockpit.cockpit.config import default_config_path
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.job_actions import job_action_refusal
from raycockpit.cockpit.launch import (
    CUSTOM,
    JobRequest,
    build_custom_request,
    build_request,
    launched_by_cockpit,
    load_specs,
    submit,
)
from raycockpit.cockpit.models import Job
from raycockpit.cockpit.packaging import build_package
from raycockpit.cockpit.preflight import Finding, Preflight, check_request
from raycockpit.cockpit.prom_metrics import (
    job_metrics,
    job_places,
    metrics_targets,
    scrape_nodes,
    unreachable_line,
)
from raycockpit.cockpit.tail import JobLogFollower
from raycockpit.screens.dialogs import ConfirmScreen, PreviewScreen
from raycockpit.screens.job import JobScreen
from raycockpit.screens.launch import LaunchPane
from raycockpit.screens.launch_form import LaunchFormScreen
from raycockpit.screens.messages import (
    JobAction,
    JobDeleted,
    JobLogLines,
    JobSubmitFailed,
    JobSubmitted,
    JobTailState,
    PreviewReady,
    SpecsLoaded,
)

PROM_BEAT_S = 10.0  # the nodes' metrics: Ray itself exports them every ~10 s
FIRST_BEAT_S = 1.0  # after the job screen opens (scale.py: opening a job was 100+ ms without)
# After the job ends: Ray exports a worker's last values up to ~10 s after it set them (later on a
# loaded head), so the scraper goes on for AFTER_END_BEATS beats that answered, or at most
# MAX_AFTER_END_BEATS beats when the head does not answer.
AFTER_END_BEATS = 3
MAX_AFTER_END_BEATS = 8
NO_METRICS_PORT = (
    "no node says a metrics export port (Ray's metrics export is off?): charts use the log only"
)
NO_JOB = Job(submission_id="", job_id="", type="SUBMISSION", status="PENDING", entrypoint="")

# Ray's job stop is a call on the job's supervisor actor, created only when the job starts
PENDING_STOP = (
    "Ray delivers a stop to a PENDING job only once it starts (until then it stays PENDING, "
    "and Ray fails it at its start timeout); its 'why' says what it waits for"
)


def default_user_workloads() -> Path:
    return default_config_path().parent / "workloads"


def write_log_file(stem: str, text: str) -> Path:
    """./raycockpit-<stem>.log (a job's id, an actor's), or in the home folder when the current
    one is not writable."""
    name = f"raycockpit-{stem}.log"
    for folder in (Path.cwd(), Path.home()):
        path = folder / name
        try:
            path.write_text(text)
            return path
        except OSError:
            continue
    raise OSError(f"cannot write {name} in {Path.cwd()} or {Path.home()}")


class JobWorkers:
    """Mixed into CockpitApp: uses its client, poller, settings, address and screens."""

    _tail_workers: dict[str, list[Worker]]
    _job_screen: JobScreen | None

    @work(thread=True, group="specs", exit_on_error=False)
    def _load_specs(self) -> None:
        dirs = [default_user_workloads(), *map(Path, self.settings.workloads_dirs)]
        specs, problems = load_specs(dirs)
        self.post_message(SpecsLoaded(specs, problems))

    def on_specs_loaded(self, message: SpecsLoaded) -> None:
        pane = self.query_one(LaunchPane)
        pane.set_specs(message.specs, message.problems, self.settings.readonly)

    def on_launch_pane_open_form(self, message: LaunchPane.OpenForm) -> None:
        self.push_screen(LaunchFormScreen(message.spec, preset=message.preset))

    def on_launch_form_screen_submitted(self, message: LaunchFormScreen.Submitted) -> None:
        if self.settings.readonly:
            self.notify("read-only mode: nothing is submitted", severity="warning")
            return
        self._submit(message.request)

    def on_launch_form_screen_preview_wanted(self, message: LaunchFormScreen.PreviewWanted) -> None:
        self._preview(message.request)

    def on_launch_form_screen_checks_wanted(self, message: LaunchFormScreen.ChecksWanted) -> None:
        self._check_launch(message.form, message.request)

    @work(group="preflight", exclusive=True, exit_on_error=False)
    async def _check_launch(self, form: LaunchFormScreen, request: JobRequest) -> None:
        """The checks before submit (preflight.check_request) in a thread: the working_dir is
        walked, and read when near the limit; the answer goes to the form if it is still up."""
        try:
            result = await asyncio.to_thread(check_request, request, self.snapshot)
        except OSError as exc:
            result = Preflight([Finding("warn", f"working_dir not checked: {exc}")])
        if form.is_attached:
            form.show_checks(result)

    @work(group="launch", exit_on_error=False)
    async def _submit(self, request: JobRequest) -> None:
        form = self.screen if isinstance(self.screen, LaunchFormScreen) else None
        if self.client is None:
            self.notify("not connected yet", severity="warning")
            return
        try:
            job_id = await submit(self.client, request)
        except CockpitError as exc:
            self.post_message(JobSubmitFailed(exc.one_line(), form))
            return
        job = Job(
            submission_id=job_id,
            job_id="",
            type="SUBMISSION",
            status="PENDING",
            entrypoint=request.entrypoint,
            metadata=dict(request.metadata),
        )
        self.post_message(JobSubmitted(job, form))

    def on_job_submit_failed(self, message: JobSubmitFailed) -> None:
        if isinstance(message.form, LaunchFormScreen):
            message.form.show_failure(message.error)
        self.notify(f"not submitted: {message.error}", severity="error", timeout=8)

    def on_job_submitted(self, message: JobSubmitted) -> None:
        self.notify(f"submitted {message.job.key}", timeout=4)
        if message.form is not None and message.form is self.screen:
            self.pop_screen()
        self.poller and self.poller.refresh_now()
        self.open_job(message.job)

    @work(group="launch", exit_on_error=False)
    async def _preview(self, request: JobRequest) -> None:
        uri, note = None, ""
        if request.package_root is not None:
            try:
                package = await asyncio.to_thread(
                    build_package, request.package_root, request.package_include
                )
            except CockpitError as exc:
                self.notify(exc.one_line(), severity="error")
                return
            uri = package.uri
            note = (
                f"working_dir: {request.package_root} → {package.name} "
                f"({package.files} files, {package.size:,} bytes), uploaded once per content hash"
            )
        body = json.dumps(request.body(uri), indent=2)
        self.post_message(PreviewReady(body, request.ray_job_submit(self.address), note))

    def on_preview_ready(self, message: PreviewReady) -> None:
        self.push_screen(PreviewScreen(message.body, message.command, message.note))

    def prebuild_job_screen(self) -> None:
        """Build the job screen, unshown, while the user reads the first snapshot: the first
        Enter on a job then only switches screens (building it costs ~100 ms of the UI thread).
        The log tail's websocket library is imported meanwhile, in a thread."""
        if self._job_screen is None:
            jobs = self.snapshot.jobs if self.snapshot is not None else ()
            # built on a real job: its head is laid out at the height a job's head has
            screen = self._new_job_screen(jobs[0] if jobs else NO_JOB)
            _, mounted = self._get_screen(screen)  # Textual (pinned): mounts it, shows nothing
            self.run_worker(preload_log_tail, thread=True, group="preload", exit_on_error=False)
            self.run_worker(self._lay_out_job_screen(screen, mounted), group="preload")

    async def _lay_out_job_screen(self, screen: JobScreen, mounted: Awaitable) -> None:
        """Lay out the unshown job screen at the terminal's size and render it once: the first
        showing of a screen otherwise lays it out (its widgets' Show and Resize, their first
        renders, Textual's first-use caches), ~40 ms over later showings at 120x40, and the
        first Enter on a job paid for it. Showing it later at the same size only repaints (a
        resized terminal lays it out again, as Textual does for any screen)."""
        await mounted
        if screen in self.screen_stack or not screen.is_attached:
            return
        screen._refresh_layout(self.size)  # Textual (pinned): the resume does it when shown
        screen._layout_required = False  # what mounting it asked for is done: no layout again
        compositor = Compositor()  # a first render, on a compositor of its own: not displayed
        compositor.reflow(screen, self.size)
        compositor.render_full_update()

    def _new_job_screen(self, job: Job) -> JobScreen:
        screen = self._job_screen = JobScreen(
            job, readonly=self.settings.readonly, max_lines=self.settings.log_max_lines
        )
        self.install_screen(screen, name="job")
        return screen

    def open_job(self, job: Job) -> None:
        """The job's screen and its one log follower. The app keeps one job screen, installed,
        and shows each job on it: a job already shown is brought back, never followed twice.
        Followers live exactly while their job is on the screen and the screen in the stack."""
        screen = self._job_screen
        if screen is not None and screen in self.screen_stack:
            while self.screen is not screen:
                self.pop_screen()  # e.g. a dialog or a form over it
            if screen.job_id == job.key:
                return
        if screen is None:
            screen = self._new_job_screen(job)
        else:  # a fresh log: the new follower tails from the start
            if screen.job_id != job.key:
                self._stop_following(screen.job_id)
            screen.show_job(job)
        # Followers left from when this job was shown last: its Closed may still be queued.
        self._stop_following(job.key)
        if screen not in self.screen_stack:
            self.push_screen(screen)
        self._tail_workers[job.key] = [self._follow(job.key)]
        self._metric_scrapers()[job.key] = self._scrape_job_metrics(job.key)
        self._watch(job.key, True)

    def _stop_following(self, job_id: str) -> None:
        for worker in self._tail_workers.pop(job_id, []):
            worker.cancel()
        scraper = self._metric_scrapers().pop(job_id, None)
        if scraper is not None:
            scraper.cancel()
        self._watch(job_id, False)

    def _watch(self, job_id: str, on: bool) -> None:
        """While its screen is open, the poller fetches this one job every refresh (not the
        whole list, which it fetches on its slow beat when the Jobs pane is not shown)."""
        if self.poller is None:
            return
        watching = job_id in self.poller.watched_jobs
        if on and not watching:
            self.poller.watch_job(job_id)
        elif not on and watching:
            self.poller.unwatch_job(job_id)

    @work(group="tail", exit_on_error=False)
    async def _follow(self, job_id: str) -> None:
        if self.client is None:
            return
        self.tail_restarted(job_id)  # this follower delivers the log from its first line
        follower = JobLogFollower(
            self.client,
            job_id,
            on_state=lambda state: self.post_message(JobTailState(job_id, state)),
        )
        await follower.run(lambda lines: self.post_message(JobLogLines(job_id, lines)))

    def _metric_scrapers(self) -> dict[str, Worker]:
        """Job id -> its Prometheus scraper (beside its log followers, which tests count)."""
        return self.__dict__.setdefault("_job_metric_scrapers", {})

    @work(group="job-metrics", exit_on_error=False)
    async def _scrape_job_metrics(self, job_id: str) -> None:
        """While the job's screen is open, every PROM_BEAT_S: the job's own metrics from each
        node's Prometheus port (cockpit/prom_metrics.py), handed to the screen. Cancelled with
        the job's log follower; done AFTER_END_BEATS answered beats after the job has ended
        (MAX_AFTER_END_BEATS beats at most)."""
        if self.client is None or getattr(self.client, "replay", None):
            return  # a replay has no nodes to ask
        start = time.monotonic()
        beats_after_end = answered_after_end = 0
        await asyncio.sleep(FIRST_BEAT_S)  # the screen is painted first: its key is answered
        async with self.client.node_http() as http:
            while True:
                screens = self._job_screens(job_id)
                job = screens[0].job if screens else None
                answered = False
                nodes = self.snapshot.nodes if self.snapshot is not None else ()
                if job is not None and job.job_id and nodes:  # no nodes yet: the next beat
                    try:
                        places = await job_places(self.client, job.job_id)
                    except CockpitError:
                        places = None  # the poller says what is wrong with the head
                    if places is not None:
                        # the poller's nodes (no fetch of our own), those the job ran on
                        targets = metrics_targets(nodes, only=places.nodes)
                        scrape = await scrape_nodes(http, targets)
                        note = unreachable_line(scrape) if targets else NO_METRICS_PORT
                        metrics = job_metrics(scrape.samples, job.job_id, places.workers)
                        seconds = round(time.monotonic() - start, 1)
                        self.post_message(JobScreen.PromMetrics(job_id, metrics, seconds, note))
                        if not targets:
                            return
                        answered = not scrape.unreachable
                if job is not None and job.terminal:
                    beats_after_end += 1
                    answered_after_end += answered
                    if (
                        not job.job_id
                        or answered_after_end > AFTER_END_BEATS
                        or beats_after_end > MAX_AFTER_END_BEATS
                    ):
                        return
                await asyncio.sleep(PROM_BEAT_S)

    def on_job_screen_prom_metrics(self, message: JobScreen.PromMetrics) -> None:
        for screen in self._job_screens(message.job_id):
            screen.add_prom_metrics(message)

    def _job_screens(self, job_id: str) -> list[JobScreen]:
        return [s for s in self.screen_stack if isinstance(s, JobScreen) and s.job_id == job_id]

    def on_job_log_lines(self, message: JobLogLines) -> None:
        self.record_log_lines(message.job_id, message.lines)  # while :record writes
        for screen in self._job_screens(message.job_id):
            screen.add_lines(message.lines)

    def on_job_tail_state(self, message: JobTailState) -> None:
        for screen in self._job_screens(message.job_id):
            screen.set_tail_state(message.state)

    def on_job_screen_closed(self, message: JobScreen.Closed) -> None:
        # The screen is out of the stack by now; a newer screen of the same job keeps its follower.
        if not self._job_screens(message.job_id):
            self._stop_following(message.job_id)

    def on_job_action(self, message: JobAction) -> None:
        job = message.job
        if message.action == "copy":  # the submission id, by OSC 52 (through SSH and tmux)
            self.copy_to_clipboard(job.key)
            self.notify(f"copied {job.key} (e.g. ray job logs {job.key} --follow)", timeout=4)
            return
        if self.settings.readonly:
            self.notify("read-only mode: the cluster is not changed", severity="warning")
            return
        refusal = job_action_refusal(message.action, job)
        if refusal:
            self.notify(refusal, severity="warning", timeout=6)
            return
        if message.action == "stop":
            detail = job.entrypoint[:300]
            if job.status == "PENDING":
                detail += f"\n\n{PENDING_STOP}"
            self.push_screen(
                ConfirmScreen(f"Stop job {job.key}?", detail, "Stop"),
                lambda yes: yes and self._job_call("stop", job),
            )
        elif message.action == "delete":
            self.push_screen(
                ConfirmScreen(
                    f"Delete job {job.key} and its record?", job.entrypoint[:300], "Delete"
                ),
                lambda yes: yes and self._job_call("delete", job),
            )
        elif message.action in ("resubmit", "duplicate"):
            self._relaunch(job, edit=message.action == "duplicate")

    @work(group="job-actions", exit_on_error=False)
    async def _job_call(self, action: str, job: Job) -> None:
        if self.client is None:
            return
        try:
            if action == "stop":
                ok = await self.client.stop_job(job.key)
                if ok and job.status == "PENDING":
                    self.notify(f"stop requested for {job.key}; {PENDING_STOP}", timeout=10)
                else:
                    self.notify(
                        f"stop requested for {job.key}" if ok else f"{job.key} was not running",
                        timeout=4,
                    )
            else:
                ok = await self.client.delete_job(job.key)
                self.notify(f"deleted {job.key}" if ok else f"{job.key} was not deleted", timeout=4)
                if ok:
                    self.post_message(JobDeleted(job.key))
        except CockpitError as exc:
            self.notify(f"{action} {job.key}: {exc.one_line()}", severity="error", timeout=8)
        if self.poller:
            self.poller.refresh_now()

    def on_job_deleted(self, message: JobDeleted) -> None:
        for screen in self._job_screens(message.job_id):
            if screen is self.screen:
                self.pop_screen()

    def _relaunch(self, job: Job, edit: bool) -> None:
        launched = launched_by_cockpit(job.metadata)
        if launched is None:
            self.notify("only jobs launched from raycockpit can be resubmitted", severity="warning")
            return
        name, values, options = launched
        if name == CUSTOM:
            spec = None
        else:
            specs = self.query_one(LaunchPane).specs
            spec = next((s for s in specs if s.name == name), None)
            if spec is None:
                self.notify(f"the workload spec {name!r} is not loaded here", severity="error")
                return
        form = LaunchFormScreen(spec, values=values, options=options)
        if edit:
            self.push_screen(form)
            return
        request, errors = (
            build_custom_request(
                values.get("entrypoint", ""),
                values.get("working_dir", ""),
                options,
                values.get("metadata", ""),
            )
            if spec is None
            else build_request(spec, values, options)
        )
        if request is None:
            self.notify(
                "cannot resubmit as it was: " + "; ".join(errors.values()) + " (use e to edit)",
                severity="error",
            )
            return
        self._submit(request)

    def on_log_view_save_requested(self, message) -> None:
        screen = self.screen
        if isinstance(screen, JobScreen):
            self._save_log(screen.job_id)

    @work(group="save", exit_on_error=False)
    async def _save_log(self, job_id: str) -> None:
        if self.client is None:
            return
        try:
            text = await self.client.job_logs(job_id)
            path = await asyncio.to_thread(write_log_file, job_id, text)
        except (CockpitError, OSError) as exc:
            self.notify(f"log not saved: {exc}", severity="error", timeout=8)
            return
        self.notify(f"saved the whole log ({len(text.splitlines())} lines) to {path}", timeout=8)
