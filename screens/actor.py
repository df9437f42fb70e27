"""One actor: who and where it is, its process (CPU, memory, tasks) or why it died (the whole
traceback when its constructor raised), its GPU use, and its own stdout and stderr followed live.

Opened by Enter on the Actors pane. It renders and posts messages only: the app's worker
(screens/workers/actors.py) fetches the detail every few seconds and follows both logs; `o`
switches which one is shown (both keep following).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Static

from raycockpit.cockpit import clock
from raycockpit.cockpit.actor_detail import ActorDetail
from raycockpit.cockpit.format import human_bytes, human_duration, timestamp
from raycockpit.cockpit.models import Actor, ActorGpu, Snapshot
from raycockpit.cockpit.tail import ENDED, TailState
from raycockpit.screens.messages import ActorAction
from raycockpit.screens.styles import BAD, BAD_STRONG, WARN
from raycockpit.screens.widgets.key_footer import KeyFooter
from raycockpit.screens.widgets.log_view import LogView
from raycockpit.screens.widgets.render import gpu_text, resources_text, status_text
from raycockpit.screens.widgets.status_line import StatusLine

SUFFIXES = {"out": "stdout", "err": "stderr"}
ANONYMOUS = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TRACE_LINES = 12  # of a death's traceback in the head (its last); stderr holds it whole


def actor_head(detail: ActorDetail, gpu: ActorGpu | None, node_name: str, error: str = "") -> Text:
    """The screen's head: identity, placement, process or end, GPU use, death in full."""
    actor = detail.actor
    text = Text()
    label = actor.class_name + (f" ({actor.name})" if actor.name else "")
    text.append(f"{label}  ", style="bold")
    text.append_text(status_text(actor.state))
    text.append(f"  actor {actor.actor_id}  job {actor.job_id or '-'}")
    where = node_name or actor.node_id[:12] or "-"
    if detail.node_ip:
        where += f" ({detail.node_ip})"
    asks = resources_text(actor.resources)
    parts = [
        f"node {where}",
        f"pid {actor.pid or '-'}",
        f"asks {'nothing' if asks == '-' else asks}",
    ]
    if detail.placement_group_id:
        parts.append(f"placement group {detail.placement_group_id[:8]}")
    parts.append(f"restarts {actor.restarts}")
    if detail.detached:
        parts.append("detached")
    text.append("\n" + " · ".join(parts), style="dim")
    life = []
    if detail.started_at:
        life.append(f"started {timestamp(int(detail.started_at * 1000))}")
        end = detail.ended_at or (clock.now() if actor.state == "ALIVE" else None)
        if end:
            life.append(
                f"{'ran' if detail.ended_at else 'up'} {human_duration(end - detail.started_at)}"
            )
    if detail.cpu_percent is not None:
        life.append(f"process CPU {detail.cpu_percent:.0f}%")
    if detail.rss_bytes is not None:
        life.append(f"memory {human_bytes(detail.rss_bytes)}")
    if detail.namespace and not ANONYMOUS.match(detail.namespace):  # a job's own: a uuid
        life.append(f"namespace {detail.namespace}")
    if life:
        text.append("\n" + " · ".join(life))
    if gpu is not None:
        text.append("\nGPU ").append_text(gpu_text(gpu))
        for alert in gpu.alerts:
            text.append(f"\n⚠ {alert}", style=BAD_STRONG)
    if detail.death:
        first, _, trace = detail.death.partition("\n")
        style = BAD if actor.state == "DEAD" and "(INTENDED" not in first else ""
        # an actor alive again after a restart: Ray keeps why its last process ended
        said = "died" if actor.state == "DEAD" else "its last process ended"
        text.append(f"\n{said}: {first}", style=style)
        if trace:
            lines = trace.splitlines()
            shown = lines[-TRACE_LINES:]
            if len(lines) > len(shown):
                above = len(lines) - len(shown)
                text.append(f"\n  … {above} lines above (stderr has it whole)", style="dim")
            text.append("\n" + "\n".join(f"  {line}" for line in shown), style="dim")
    if detail.call_site:
        text.append(f"\ncreated at {detail.call_site}", style="dim")
    if error:
        text.append(f"\ndetail not refreshed: {error}", style=WARN)
    return text


class ActorScreen(Screen):
    KEYS_TITLE = "Actor screen"  # its group on the ? screen
    BINDINGS = [
        Binding("escape", "back", "Back", id="actor.back"),
        # one key, named for the log it switches to: check_action leaves one of the two on
        Binding("o", "show_log('err')", "stderr", id="actor.stderr"),
        Binding("o", "show_log('out')", "stdout", id="actor.stdout"),
        Binding("c", "copy_id", "Copy id", id="actor.copy_id", show=False),
    ]
    FOOTER_FIRST = ("actor.stderr", "actor.stdout")  # before the log view's keys: kept at 80 cols

    DEFAULT_CSS = """
    ActorScreen #actor-head-box { height: auto; max-height: 45%; background: $boost; }
    ActorScreen #actor-head { height: auto; padding: 0 1; }
    ActorScreen ContentSwitcher { height: 1fr; }
    ActorScreen LogView { border: round $primary 50%; }
    """

    @dataclass
    class Closed(Message):
        """Posted to the app once the screen has left the stack: its followers stop."""

        actor_id: str

    def __init__(self, actor: Actor, *, node_name: str = "", max_lines: int = 20_000) -> None:
        super().__init__()
        self.detail = ActorDetail(actor=actor)
        self.node_name = node_name
        self.gpu: ActorGpu | None = None
        self.error = ""
        self.max_lines = max_lines
        # a constructor that raised printed its traceback to stderr, and stdout is empty
        failed = actor.state == "DEAD" and actor.death_cause.startswith("creation task")
        self.suffix = "err" if failed else "out"
        self.tails = {suffix: TailState("following", "connecting") for suffix in SUFFIXES}
        self._early: list[tuple[str, list[str]]] = []  # lines that came before on_mount

    @property
    def actor_id(self) -> str:
        return self.detail.actor.actor_id

    def compose(self) -> ComposeResult:
        yield StatusLine()
        with VerticalScroll(id="actor-head-box"):
            yield Static(id="actor-head", markup=False)
        with ContentSwitcher(initial=f"log-{self.suffix}"):
            for suffix in SUFFIXES:
                yield LogView(max_lines=self.max_lines, id=f"log-{suffix}")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"actor {self.actor_id}"
        for suffix, lines in self._early:
            self._log(suffix).append_lines(lines)
        self._early.clear()
        self._draw()
        self._log(self.suffix).query_one("#log-lines").focus()

    def on_screen_suspend(self) -> None:
        if self not in self.app.screen_stack:  # popped (escape, a pane key, the command bar)
            self.app.post_message(self.Closed(self.actor_id))

    def on_unmount(self) -> None:
        if self in self.app.screen_stack:  # the app is closing with the screen shown
            self.app.post_message(self.Closed(self.actor_id))

    def _log(self, suffix: str) -> LogView:
        return self.query_one(f"#log-{suffix}", LogView)

    # -- fed by the app ---------------------------------------------------------------------------

    def show_detail(self, detail: ActorDetail | None, error: str = "") -> None:
        if detail is not None:
            self.detail = detail
        self.error = error
        self._draw()

    def show_snapshot(self, snap: Snapshot) -> None:
        """The actor's GPU use as the Actors pane has it (the poller's), and its node's name.
        Its state comes with the detail (every few seconds), which holds more than the row."""
        gpu = snap.actors.gpu.get(self.actor_id)
        node = next((n for n in snap.nodes if n.node_id == self.detail.actor.node_id), None)
        name = node.name if node is not None else self.node_name
        if gpu != self.gpu or name != self.node_name:
            self.gpu, self.node_name = gpu, name
            self._draw()

    @property
    def stream_keys(self) -> frozenset[str]:
        """The followed logs it shows (screens/workers/log_streams.py)."""
        return frozenset(f"actor:{self.actor_id}:{suffix}" for suffix in SUFFIXES)

    def add_stream_lines(self, key: str, lines: list[str]) -> None:
        self.add_lines(key.rsplit(":", 1)[1], lines)

    def set_stream_state(self, key: str, state: TailState) -> None:
        self.set_tail_state(key.rsplit(":", 1)[1], state)

    def add_lines(self, suffix: str, lines: list[str]) -> None:
        if not self.is_mounted:  # a fast first answer: kept for on_mount
            self._early.append((suffix, lines))
            return
        self._log(suffix).append_lines(lines)
        if suffix != self.suffix:
            self._render_titles()

    def set_tail_state(self, suffix: str, state: TailState) -> None:
        self.tails[suffix] = state
        if self.is_mounted:
            self._render_titles()

    # -- drawing ----------------------------------------------------------------------------------

    def _draw(self) -> None:
        if not self.is_mounted:  # fed before it was laid out: on_mount draws what it was given
            return
        head = actor_head(self.detail, self.gpu, self.node_name, self.error)
        self.query_one("#actor-head", Static).update(head)
        self._render_titles()

    def _render_titles(self) -> None:
        other = "err" if self.suffix == "out" else "out"
        for suffix, name in SUFFIXES.items():
            log = self._log(suffix)
            log.border_title = name
            count = self._log(other).line_count
            log.border_subtitle = f"o: {SUFFIXES[other]} ({count:,} lines)"
            state = self.tails[suffix]
            if state.state == ENDED or state.reason:
                log.source_status = f"{name} {state.one_line()}"
            else:
                log.source_status = name

    # -- actions ----------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_log":
            return parameters[0] != self.suffix
        return True

    def action_show_log(self, suffix: str) -> None:
        self.suffix = suffix
        self.query_one(ContentSwitcher).current = f"log-{suffix}"
        self._render_titles()
        self.refresh_bindings()
        self._log(suffix).query_one("#log-lines").focus()

    def action_copy_id(self) -> None:
        self.post_message(ActorAction("copy", self.actor_id, self.suffix))

    def on_log_view_save_requested(self, event: LogView.SaveRequested) -> None:
        event.stop()
        self.post_message(ActorAction("save", self.actor_id, self.suffix))
