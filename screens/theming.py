"""The app's part in themes: the settings' `theme:` applied at start, the Rich styles of
`screens/styles.py` coloured by the theme in use, and a theme picked in the cockpit (ctrl+p ->
Theme, or `:theme NAME`) applied at once and kept in the settings file for the next start."""

from __future__ import annotations

import difflib
from pathlib import Path

from textual.theme import Theme
from textual.widgets import Static

from raycockpit.cockpit.config import remember_setting
from raycockpit.screens.styles import rich_theme


class ThemeStyles:
    """Mixin of CockpitApp (an App with `settings`, `base_settings`, `settings_path`, `notify`)."""

    settings_path: Path | None  # where a picked theme is kept; None (tests): not kept

    def init_styles(self) -> None:
        """From __init__: the styles of the theme in use before anything is drawn."""
        self._styles_pushed = False
        self._theme_kept: str | None = None  # what the settings file says
        self._push_styles(self.current_theme)

    def start_theme(self) -> None:
        """From on_mount: the settings' theme (an unknown one is said, with what is known)."""
        wanted = self.settings.theme
        self._theme_kept = wanted or self.theme
        if wanted and wanted not in self.available_themes:
            self.notify(
                f"theme {wanted!r} in the settings: {theme_hint(wanted, self.available_themes)};"
                f" showing {self.theme}",
                severity="warning",
                timeout=15,
            )
        elif wanted and wanted != self.theme:
            self.theme = wanted
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    def use_theme(self, name: str) -> None:
        """`:theme NAME`: that theme, or a line saying which ones there are."""
        name = name.strip()
        if not name:
            self.notify(
                f"theme {self.theme}; :theme NAME picks another (ctrl+p -> Theme lists them)"
            )
        elif name not in self.available_themes:
            self.notify(
                f"theme {name!r}: {theme_hint(name, self.available_themes)}", severity="warning"
            )
        else:
            self.theme = name

    def _push_styles(self, theme: Theme) -> None:
        variables = {**theme.to_color_system().generate(), **theme.variables}
        if self._styles_pushed:
            self.console.pop_theme()
        self.console.push_theme(rich_theme(variables))
        self._styles_pushed = True

    def _theme_changed(self, theme: Theme) -> None:
        self._push_styles(theme)
        self._restyle_statics()
        if theme.name != self._theme_kept:
            self._keep_theme(theme.name)

    def _restyle_statics(self) -> None:
        """Textual fixes the colours of what a Static shows when it is set (a Text's spans) or
        first drawn (a Rich table or panel): every Static on every open screen, panes hidden or
        shown, is set again with what it holds. The line widgets (tables, logs) resolve their
        styles when drawn, and the change of theme clears their caches."""
        for screen in self.screen_stack:
            for widget in screen.query(Static):
                widget.update(widget.content, layout=False)

    def _keep_theme(self, name: str) -> None:
        self.settings = self.settings.model_copy(update={"theme": name})
        self.base_settings = self.base_settings.model_copy(update={"theme": name})
        if self.settings_path is None:
            return
        try:
            remember_setting(self.settings_path, "theme", name)
        except ValueError as exc:
            self.notify(f"theme {name} for this session; {exc}", severity="warning", timeout=15)
            return
        self._theme_kept = name
        self.notify(f"theme {name}: kept in {self.settings_path}", timeout=4)


def theme_hint(name: str, themes: dict[str, Theme]) -> str:
    """'not a theme (did you mean 'nord'?)', or the known ones when nothing is close."""
    close = difflib.get_close_matches(name, list(themes), n=1, cutoff=0.6)
    if close:
        return f"not a theme (did you mean {close[0]!r}?)"
    return "not a theme (known: " + ", ".join(sorted(themes)) + ")"
