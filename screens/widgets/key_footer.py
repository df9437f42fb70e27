"""Textual's Footer, recomposed only when the keys it shows change.

Footer rebuilds itself (a widget per key, each styled and mounted) on every focus or binding
change; on a pane switch that was most of the time from the key press to the new screen. Switching
between two tables with the same keys now costs nothing here."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            shown = tuple(
                (binding.key, binding.action, binding.description, enabled, tooltip)
                for (_, binding, enabled, tooltip) in screen.active_bindings.values()
                if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING
            )
            if shown == self._shown:
                return
            self._shown = shown
            self.call_after_refresh(self.recompose)
