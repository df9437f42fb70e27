"""The `:` command bar: the widget, and what each command does (a mixin of CockpitApp).

`:nodes`, `:jobs`, ... show a pane; `:actor ID` / `:job ID` open one by id; `:ctx NAME` switches
cluster; `:record FILE`, `:theme NAME`, `:pause`, `:refresh`, `:keys`, `:stop-head`, `:quit`. A
mistyped command is one line with the nearest known one."""

from __future__ import annotations

import difflib

from textual.binding import Binding
from textual.widgets import Input

from raycockpit.screens.widgets.ordered_input import OrderedInput


class CommandBar(OrderedInput):
    """`:` opens it; `:nodes`, `:gpus`, `:jobs`, `:autoscaler`, `:overview`, `:pause`, `:quit`...
    On a pushed screen (a job's, a node's) the app mounts one there, where the keys go."""

    BINDINGS = [Binding("escape", "close", "Close", id="command.close")]
    DEFAULT_CSS = """
    CommandBar { dock: bottom; display: none; height: 3; }
    CommandBar.-open { display: block; }
    """
    PLACEHOLDER = (
        ":nodes  :gpus  :autoscaler  :jobs  :serve  :launch  :clusters  :fleet  :actors  "
        ":ctx NAME  :pause  "
        ":refresh  :keys  :record FILE  :stop-record  :stop-head  :theme NAME  :quit"
    )

    can_focus = False  # only while open

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder=self.PLACEHOLDER, **kwargs)
        self._focused_before = None

    def open(self) -> None:
        self._focused_before = self.screen.focused
        self.value = ""
        self.can_focus = True
        self.add_class("-open")
        self.focus()

    def action_close(self) -> None:
        self.remove_class("-open")
        self.can_focus = False
        self.app.set_focus(None)
        if self.screen is self.app.screen_stack[0]:
            self.app.focus_pane()
        elif self._focused_before is not None and self._focused_before.is_attached:
            self._focused_before.focus()


class CommandBarActions:
    """Mixin of CockpitApp: opens the bar on the current screen and runs what is typed."""

    async def action_command_bar(self) -> None:
        bars = self.screen.query(CommandBar)
        if bars:
            bar = bars.first()
        else:  # a pushed screen: the panes' bar is hidden under it
            bar = CommandBar()
            await self.screen.mount(bar)
        bar.open()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not isinstance(event.input, CommandBar):
            return
        event.stop()
        bar = event.input
        command = bar.value.strip().lstrip(":").strip()
        bar.action_close()
        self.run_command(command)

    def run_command(self, command: str) -> None:
        word, _, argument = command.partition(" ")
        command, argument = word.lower(), argument.strip()
        if command in ("ctx", "context"):
            if argument:
                self.switch_context(argument)
            else:
                self.action_show_pane("fleet")
                self.notify("contexts: " + ", ".join(self.context_names()), timeout=5)
            return
        names = [name for name, _ in self.pane_titles()]
        aliases = {
            "gpu": "gpus",
            "node": "nodes",
            "job": "jobs",
            "as": "autoscaler",
            "ov": "overview",
            "actor": "actors",
            "tasks": "actors",
        }
        command = aliases.get(command, command)
        if command in ("actors", "jobs") and argument:  # :actor ID, :job ID: open that one
            self.open_by_id(command, argument)
            return
        if command == "record":
            self.start_recording(argument)
            return
        if command == "theme":
            self.use_theme(argument)
            return
        actions = {
            "pause": self.action_toggle_pause,
            "resume": self.action_toggle_pause,
            "refresh": self.action_refresh_now,
            "keys": self.action_keys,
            "help": self.action_keys,
            "stop-head": self.action_stop_head,
            "stop-record": self.stop_recording,
            "quit": self.exit,
            "q": self.exit,
        }
        if command in names:
            self.action_show_pane(command)
        elif command in actions:
            actions[command]()
        elif command:
            known = [*names, *aliases, *actions, "ctx", "record", "theme"]
            close = difflib.get_close_matches(command, known, n=1, cutoff=0.6)
            hint = f"did you mean :{close[0]}?" if close else "try :" + " :".join(names)
            self.notify(f"unknown command ':{command}'; {hint}", severity="warning")
