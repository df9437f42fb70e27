"""The key line at the bottom: the keys of where you are, drawn as one line of text.

Textual's Footer is a widget per key, restyled and remounted on every focus or binding change:
opening a job's screen spent most of its second there, and a pane switch a third of its time.
This is one widget that repaints its one line when the keys it shows change (keyboard first:
the keys are to read, not to click)."""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widget import Widget


class KeyFooter(Widget):
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description"}

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
        & > .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: tuple[tuple[str, str, bool], ...] = ()  # (key shown, description, enabled)
        self._palette: tuple[str, str] | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        app = self.app
        keys, actions, palette = [], set(), None
        for _, binding, enabled, _tooltip in screen.active_bindings.values():
            if binding.key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = (app.get_key_display(binding), binding.description)
                continue
            if not binding.show or binding.action in actions:
                continue  # one entry per action, as Textual's Footer groups them
            actions.add(binding.action)
            first = binding.id is not None and binding.id in getattr(screen, "FOOTER_FIRST", ())
            keys.append((not first, app.get_key_display(binding), binding.description, enabled))
        # a screen's own key that says what it is for (FOOTER_FIRST) before the focused widget's
        keys = [key[1:] for key in sorted(keys, key=lambda key: key[0])]
        if (tuple(keys), palette) != (self._keys, self._palette):
            self._keys, self._palette = tuple(keys), palette
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key")
        description_style = self.get_component_rich_style("key-footer--description")
        tail = Text(end="")
        if self._palette is not None:
            key, description = self._palette
            tail = Text.assemble(("▏", description_style), (f"{key}", key_style))
            tail.append_text(Text(f" {description} ", style=description_style))
        parts = []
        for key, description, enabled in self._keys:
            part = Text.assemble((f" {key}", key_style), (f" {description} ", description_style))
            if not enabled:
                part.stylize("dim")
            parts.append((key, part))
        line = Text(no_wrap=True, overflow="crop", end="")
        for part in fitting(parts, self.size.width - tail.cell_len):
            line.append_text(part)
        if self._palette is not None:
            line.truncate(max(0, self.size.width - tail.cell_len), overflow="crop", pad=True)
            line.append_text(tail)
        return line


MORE = "…"
KEPT_KEYS = ("esc", "?")  # the way back and the list of every key: kept when others are not


def fitting(parts: list[tuple[str, Text]], room: int) -> list[Text]:
    """The key entries that fit in `room` cells, each whole: when some do not, the last ones are
    left off (the focused widget's keys come first, then the screen's, then the app's), `esc`
    and `?` (which lists them all) are kept, and `…` before `?` says keys were left off."""
    if sum(part.cell_len for _, part in parts) <= room:
        return [part for _, part in parts]
    more = Text(f" {MORE} ", style="dim")
    kept = {id(part) for key, part in parts if key in KEPT_KEYS}
    left = room - more.cell_len - sum(part.cell_len for _, part in parts if id(part) in kept)
    shown, full = [], False
    for _key, part in parts:
        if id(part) not in kept:
            full = full or part.cell_len > left
            if full:
                continue
            left -= part.cell_len
        shown.append(part)
    at = next((i for i, (key, _) in enumerate(parts) if key == "?"), None)
    at = shown.index(parts[at][1]) if at is not None else len(shown)
    return [*shown[:at], more, *shown[at:]]
