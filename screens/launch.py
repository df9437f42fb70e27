"""Launch: every workload spec (bundled and the user's) plus a Custom job; Enter opens its form."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from raycockpit.cockpit.launch import CUSTOM, WorkloadSpec
from raycockpit.cockpit.models import Snapshot
from raycockpit.screens.base import Pane


class LaunchPane(Pane):
    TITLE = "Launch"
    SECTIONS = ()

    BINDINGS = [Binding("enter", "open", "Open form", id="launch.open")]

    DEFAULT_CSS = """
    LaunchPane OptionList { height: 1fr; border: round $primary 50%; }
    LaunchPane #launch-help { height: auto; padding: 0 1; color: $text-muted; }
    """

    @dataclass
    class OpenForm(Message):
        spec: WorkloadSpec | None  # None: the custom job form

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.specs: list[WorkloadSpec] = []
        self.problems: list[str] = []
        self.readonly = False

    def compose(self) -> ComposeResult:
        yield Static(id="launch-help", markup=False)
        yield OptionList(id="launch-list")

    def set_specs(self, specs: list[WorkloadSpec], problems: list[str], readonly: bool) -> None:
        self.specs, self.problems, self.readonly = specs, problems, readonly
        options = self.query_one(OptionList)
        options.clear_options()
        if readonly:
            self.query_one("#launch-help", Static).update(
                Text(
                    "Read-only mode (--readonly): launching jobs is turned off.",
                    style="bold yellow",
                )
            )
            return
        for spec in specs:
            label = Text(f"{spec.title:<26}", style="bold")
            label.append(f" {spec.name:<8}", style="cyan")
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
        help_text = Text(
            "Enter opens a form. Bundled workloads come from configs/workloads/; add your own "
            "specs (with a working_dir) to ~/.config/raycockpit/workloads/.",
            style="dim",
        )
        for problem in problems:
            help_text.append(f"\n⚠ {problem}", style="yellow")
        self.query_one("#launch-help", Static).update(help_text)

    def render_snapshot(self, snapshot: Snapshot) -> None:
        pass  # the list does not depend on the cluster

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._open(event.option.id)

    def action_open(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self._open(options.get_option_at_index(options.highlighted).id)

    def _open(self, option_id: str | None) -> None:
        if self.readonly or option_id is None:
            return
        if option_id == CUSTOM:
            self.post_message(self.OpenForm(None))
            return
        for spec in self.specs:
            if spec.name == option_id:
                self.post_message(self.OpenForm(spec))
