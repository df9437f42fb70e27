"""Launch: every workload spec (bundled and the user's) plus a Custom job; Enter opens its form.

Under the list, the preview of the one under the cursor (cockpit/launch_preview.py): what it
does, what each preset changes and asks of the cluster (with a warning when it does not fit),
and its last runs on this cluster."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from raycockpit.cockpit import clock
from raycockpit.cockpit.format import human_duration
from raycockpit.cockpit.launch import CUSTOM, WorkloadSpec
from raycockpit.cockpit.launch_preview import Preview, preview
from raycockpit.cockpit.models import Snapshot
from raycockpit.screens.base import PRESET_KEYS, Pane
from raycockpit.screens.styles import BAD, INFO, WARN, WARN_STRONG
from raycockpit.screens.widgets.render import status_text


class LaunchPane(Pane):
    TITLE = "Launch"
    SECTIONS = ("jobs", "nodes", "autoscaler")  # the preview's last runs and the cluster's size
    POLLS = ()  # not worth a poll of their own: they come on the poller's slow beat
    TICKS = True  # "3 min ago"

    BINDINGS = [
        Binding("enter", "open", "Open form", id="launch.open"),
        *[
            Binding(
                key,
                f"open({i})",
                f"Open with preset {i + 1}",
                show=False,
                id=f"launch.preset{i + 1}",
            )
            for i, key in enumerate(PRESET_KEYS)
        ],
    ]

    DEFAULT_CSS = """
    LaunchPane OptionList { height: auto; max-height: 60%; border: round $primary 50%; }
    LaunchPane #launch-preview {
        height: 1fr; padding: 0 1; border: round $primary 30%; border-title-color: $text;
    }
    LaunchPane #launch-help { height: auto; padding: 0 1; color: $text-muted; }
    """

    @dataclass
    class OpenForm(Message):
        spec: WorkloadSpec | None  # None: the custom job form
        preset: str | None = None  # filled with this preset (F2 ... on the list)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.specs: list[WorkloadSpec] = []
        self.problems: list[str] = []
        self.readonly = False

    def compose(self) -> ComposeResult:
        yield Static(id="launch-help", markup=False)
        yield OptionList(id="launch-list")
        yield Static(id="launch-preview", markup=False)

    def set_specs(self, specs: list[WorkloadSpec], problems: list[str], readonly: bool) -> None:
        self.specs, self.problems, self.readonly = specs, problems, readonly
        options = self.query_one(OptionList)
        options.clear_options()
        if readonly:
            self.query_one("#launch-help", Static).update(
                Text(
                    "Read-only mode (--readonly): launching jobs is turned off.",
                    style=WARN_STRONG,
                )
            )
            return
        for spec in specs:
            label = Text(f"{spec.title:<26}", style="bold")
            label.append(f" {spec.name:<8}", style=INFO)
            origin = "bundled" if spec.bundled else str(spec.source.parent if spec.source else "")
            label.append(f"  {', '.join(spec.presets) or 'no presets'}  ({origin})", style="dim")
            options.add_option(Option(label, id=spec.name))
        options.add_option(
            Option(
                Text(f"{'Custom job':<26}", style="bold")
                + Text(" any command, like ray job submit", style="dim"),
                id=CUSTOM,
            )
        )
        options.highlighted = 0
        self._render_preview()
        help_text = Text(
            "Enter opens a form. Bundled workloads come from configs/workloads/; add your own "
            "specs (with a working_dir) to ~/.config/raycockpit/workloads/.",
            style="dim",
        )
        for problem in problems:
            help_text.append(f"\n⚠ {problem}", style=WARN)
        self.query_one("#launch-help", Static).update(help_text)

    def render_snapshot(self, snapshot: Snapshot) -> None:
        self._render_preview()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._render_preview()

    def _render_preview(self) -> None:
        box = self.query_one("#launch-preview", Static)
        options = self.query_one(OptionList)
        box.display = not self.readonly and options.highlighted is not None
        if not box.display:
            return
        option_id = options.get_option_at_index(options.highlighted).id
        spec = next((s for s in self.specs if s.name == option_id), None)
        now = clock.now()
        shown = preview(spec, self.snapshot, now * 1000)
        title = shown.title if spec is None else f"{shown.title} · {shown.name}"
        box.border_title = Text(title)
        box.update(preview_text(shown, now))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._open(event.option.id)

    def action_open(self, preset: int | None = None) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self._open(options.get_option_at_index(options.highlighted).id, preset)

    def _open(self, option_id: str | None, preset: int | None = None) -> None:
        if self.readonly or option_id is None:
            return
        if option_id == CUSTOM:
            self.post_message(self.OpenForm(None))
            return
        for spec in self.specs:
            if spec.name == option_id:
                names = list(spec.presets)
                chosen = names[preset] if preset is not None and preset < len(names) else None
                if preset is not None and chosen is None:
                    key = PRESET_KEYS[preset].upper()
                    self.notify(f"{spec.name} has no preset on {key}", severity="warning")
                    return
                self.post_message(self.OpenForm(spec, chosen))


LABEL = 9  # the width of the preview's left column


def _row(text: Text, label: str, first: bool) -> None:
    if text:
        text.append("\n")
    text.append(f"{label if first else '':<{LABEL}}", style="bold")


def preview_text(shown: Preview, now: float) -> Text:
    """The preview as text: presets, what they ask and whether it fits, the last runs, then the
    description (the facts first: at 80x24 the box has 8 lines)."""
    text = Text()
    same_asks = len({p.asks for p in shown.presets}) <= 1
    for i, line in enumerate(shown.presets):
        _row(text, "Presets", i == 0)
        key = PRESET_KEYS[i].upper() if line.preset and i < len(PRESET_KEYS) else ""
        text.append(f"{key:<3}", style="bold")
        text.append(f"{line.name:<9}", style=INFO)
        text.append(line.changes, style="" if "=" in line.changes else "dim")
        if line.asks and not same_asks:
            text.append(f" · asks {line.asks}")
    if shown.presets and same_asks and shown.presets[0].asks:
        _row(text, "Asks", True)
        text.append(shown.presets[0].asks)
    if shown.fits_note:
        _row(text, "Cluster", True)
        text.append(shown.fits_note)
    for line in shown.presets:
        if line.fit:
            _row(text, "", False)
            text.append(f"⚠ {line.name}: {line.fit}", style=WARN)
    if not shown.runs:
        _row(text, "Runs", True)
        text.append("none on this cluster yet", style="dim")
    for i, run in enumerate(shown.runs):
        _row(text, "Runs", i == 0)
        status = status_text(run.status)
        status.pad_right(max(0, 9 - len(run.status)))
        text.append_text(status)
        text.append(f"  {run.submission_id}", style="dim")
        if run.preset:
            text.append(f"  {run.preset}", style=INFO)
        if run.start_ms:
            text.append(f"  {human_duration(now - run.start_ms / 1000)} ago")
        if run.duration_s is not None:
            verb = "took" if run.status in ("SUCCEEDED", "FAILED", "STOPPED") else "for"
            text.append(f", {verb} {human_duration(run.duration_s)}", style="dim")
        if run.error:
            text.append(f"  {run.error}", style=BAD)
    if shown.runs_total > len(shown.runs):
        _row(text, "", False)
        text.append(f"{shown.runs_total} runs in all; the Jobs pane (5) lists them", style="dim")
    text.append("\n\n")
    text.append(shown.description or "(no description in its spec)", style="dim")
    return text
