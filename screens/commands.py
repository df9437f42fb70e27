"""The command palette's provider: every pane and app action, found by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class CockpitCommands(Provider):
    def _commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        items = [
            (f"Go to {title}", f"show the {title} pane", partial(app.action_show_pane, name))
            for name, title in app.pane_titles()
        ]
        items += [
            (
                "Pause / resume refresh",
                "stop or restart polling the dashboard",
                app.action_toggle_pause,
            ),
            ("Refresh now", "poll the dashboard at once", app.action_refresh_now),
            ("Show keys", "list every key binding", app.action_keys),
            (
                "Stop the local head",
                "stop the Ray head raycockpit started or kept (:stop-head)",
                app.action_stop_head,
            ),
            (
                "Stop recording",
                "close the file :record FILE / --record writes (:stop-record)",
                app.stop_recording,
            ),
            ("Quit", "leave raycockpit", app.action_quit),
        ]
        return items

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
