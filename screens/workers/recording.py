"""The app's recording and replay (cockpit/recording.py, cockpit/replay.py): `--record FILE`,
`:record FILE`, `:stop-record`; and in a replay (`--replay FILE`) the clock's keys, the status
line's slider, and a refresh whenever the moment shown changes."""

from __future__ import annotations

import asyncio

from textual import work
from textual.binding import Binding

from raycockpit.cockpit import clock as wall_clock
from raycockpit.cockpit.format import human_duration
from raycockpit.cockpit.recording import Recorder, RecordingError, TapTransport
from raycockpit.cockpit.replay import ReplayClock
from raycockpit.screens.job import JobScreen

REPLAY_BINDINGS = [
    Binding("left_square_bracket", "replay_step(-10)", "−10 s", id="replay.back"),
    Binding("right_square_bracket", "replay_step(10)", "+10 s", id="replay.forward"),
    Binding("left_curly_bracket", "replay_step(-60)", "−1 min", id="replay.back_minute"),
    Binding("right_curly_bracket", "replay_step(60)", "+1 min", id="replay.forward_minute"),
    Binding("less_than_sign", "replay_edge('start')", "Start", id="replay.start"),
    Binding("greater_than_sign", "replay_edge('end')", "End", id="replay.end"),
    Binding("full_stop", "replay_play(1)", "Play 1x", id="replay.play"),
    Binding("asterisk", "replay_play(10)", "Play 10x", id="replay.fast"),
]
SLIDER_WIDTH = 20


def replay_line(clock: ReplayClock) -> str:
    """`⏵ 10x  ━━━━━━●────────  02:10 / 10:00`: where the replay stands, as a slider."""
    share = clock.offset / clock.length if clock.length else 1.0
    done = min(SLIDER_WIDTH - 1, int(share * SLIDER_WIDTH))
    slider = "━" * done + "●" + "─" * (SLIDER_WIDTH - 1 - done)
    mode = f"⏵ {clock.speed:g}x" if clock.speed else "‖ paused"
    return f"replay {mode}  {slider}  {_clock(clock.offset)} / {_clock(clock.length)}"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return (
        f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
        if hours
        else f"{rest // 60:02d}:{rest % 60:02d}"
    )


class RecordingWorkers:
    """Mixed into CockpitApp."""

    tap: TapTransport | None = None  # the dashboard client's transport, where :record listens
    recorder: Recorder | None = None
    replay_clock: ReplayClock | None = None

    # -- recording -----------------------------------------------------------------------------

    def start_recording(self, path: str) -> None:
        if self.replay_clock is not None:
            self.notify("a replay is not recorded again: copy its file", severity="warning")
            return
        if self.tap is None:
            self.notify("nothing to record: not connected to a dashboard yet", severity="warning")
            return
        if self.recorder is not None:
            self.notify(f"already recording to {self.recorder.path} (:stop-record first)")
            return
        if not path:
            self.notify("give the file: :record FILE (e.g. :record ~/session.rcrec)")
            return
        token = self.settings.token()
        try:
            recorder = Recorder(
                path,
                address=self.address,
                max_bytes=int(self.settings.record_max_mb * 2**20),
                secrets=[token] if token else [],
            ).start()
        except RecordingError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        self.recorder = recorder
        self.tap.recorder = recorder
        counts = self._tail_counts()
        for screen in self.screen_stack:  # a tail open now: the lines it has shown so far
            if isinstance(screen, JobScreen):
                shown = list(screen.query_one("#job-log").lines)
                recorder.log_lines(screen.job_id, shown)
                delivered = counts.get(screen.job_id, (0, 0))[0]
                counts[screen.job_id] = (delivered, delivered)
        self._show_recording()
        self.notify(
            f"recording to {recorder.path} (:stop-record ends it; secrets are left out)",
            timeout=5,
        )

    def stop_recording(self, quiet: bool = False) -> None:
        recorder = self.recorder
        if recorder is None:
            if not quiet:
                self.notify("not recording (:record FILE starts)")
            return
        if self.tap is not None:
            self.tap.recorder = None
        self.recorder = None
        self._show_recording()
        if quiet:  # the app is closing: write out what is queued before the process ends
            recorder.close()
        else:
            self._close_recorder(recorder)

    @work(group="recorder", exit_on_error=False)
    async def _close_recorder(self, recorder: Recorder) -> None:
        await asyncio.to_thread(recorder.close)
        lost = f"; {recorder.lost} answers lost (the writer fell behind)" if recorder.lost else ""
        if recorder.error:
            self.notify(recorder.error, severity="error", timeout=10)
        else:
            self.notify(f"recording saved: {recorder.path}{lost}", timeout=8)

    def tail_restarted(self, job_id: str) -> None:
        """A new follower of `job_id` starts from the log's first line (the screen opened again):
        the lines it delivers again are not recorded twice."""
        self._tail_counts()[job_id] = (0, self._tail_counts().get(job_id, (0, 0))[1])

    def record_log_lines(self, job_id: str, lines: list[str]) -> None:
        """The lines of the log beyond those already recorded (by this follower or one before)."""
        counts = self._tail_counts()
        delivered, recorded = counts.get(job_id, (0, 0))
        total = delivered + len(lines)
        if self.recorder is None:
            counts[job_id] = (total, recorded)
            return
        counts[job_id] = (total, max(recorded, total))
        if total > recorded:
            self.recorder.log_lines(job_id, lines[max(0, recorded - delivered) :])

    def _tail_counts(self) -> dict[str, tuple[int, int]]:
        """Job id -> (lines its current follower delivered, lines of it recorded)."""
        return self.__dict__.setdefault("_recorded_tail_counts", {})

    def recording_note(self) -> str:
        return f"● rec {self.recorder.path.name}" if self.recorder is not None else ""

    def _show_recording(self) -> None:
        self._update_status_lines()

    # -- replay --------------------------------------------------------------------------------

    def start_replay_ticker(self) -> None:
        """Ages and durations as they were at the moment shown; while it plays, the slider
        moves and the panes refresh every second."""
        wall_clock.follow(self.replay_clock.now)
        self.set_interval(1.0, self._replay_tick)
        self._show_replay()

    def end_replay(self) -> None:
        if self.replay_clock is not None:
            wall_clock.follow(None)

    def _replay_tick(self) -> None:
        if self.replay_clock is not None and self.replay_clock.speed:
            self._show_replay()
            if self.poller is not None:
                self.poller.refresh_now()

    def replay_note(self) -> str:
        return replay_line(self.replay_clock) if self.replay_clock is not None else ""

    def _show_replay(self) -> None:
        self._update_status_lines()

    def _replay_moved(self, before: float) -> None:
        clock = self.replay_clock
        assert clock is not None
        self._show_replay()
        if self.poller is not None:
            self.poller.refresh_now()
        screen = self.screen
        if clock.now() < before and isinstance(screen, JobScreen):  # back in time: the log too
            job = screen.job
            screen.show_job(job)
            self._stop_following(job.key)
            self._tail_workers[job.key] = [self._follow(job.key)]
            self._watch(job.key, True)

    def action_replay_step(self, seconds: float) -> None:
        if self.replay_clock is not None:
            before = self.replay_clock.now()
            self.replay_clock.step(seconds)
            self._replay_moved(before)

    def action_replay_edge(self, edge: str) -> None:
        if self.replay_clock is not None:
            clock = self.replay_clock
            before = clock.now()
            clock.seek(clock.start if edge == "start" else clock.end)
            self._replay_moved(before)

    def action_replay_play(self, speed: float) -> None:
        if self.replay_clock is not None:
            before = self.replay_clock.now()
            self.replay_clock.play(speed)
            self._replay_moved(before)
            where = human_duration(self.replay_clock.offset)
            state = f"playing at {speed:g}x" if self.replay_clock.speed else "paused"
            self.notify(f"replay {state} at {where} from the start", timeout=2)
