"""The Serve pane: the applications tree (`tree.py`), the request tester (`tester.py`) with its
load test (`load_test.py`), and the actions Ray's REST API allows (scale a deployment, delete an
app, shut down Serve).

The pane never does I/O: its parts check the form, then the pane posts request Messages
(`SendRequest`, `RunLoadTest`, `ScaleDeployment`, `DeleteApp`, `ShutdownServe`); the app's workers
answer with result Messages (screens/messages.py) that the app hands to `show_result`,
`show_load_result` and `show_action`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from raycockpit.cockpit.models import ServeStatus, Snapshot
from raycockpit.cockpit.serve_tester import LoadResult, Result, serve_base_url
from raycockpit.cockpit.serve_traffic import AppTraffic
from raycockpit.screens.base import Pane
from raycockpit.screens.dialogs import ConfirmScreen, ScaleScreen
from raycockpit.screens.serve.tester import RequestTester
from raycockpit.screens.serve.tree import Selection, ServeTree, detail_text
from raycockpit.screens.styles import BAD, INFO, OK, WARN

NOT_RUNNING = (
    "Serve is not running on this cluster. Start it by launching the serve workload "
    "(python -m workloads.serve --preset full, as a job): it deploys the digits app with "
    "POST /predict and GET /health."
)


class ServePane(Pane):
    TITLE = "Serve"
    SECTIONS = ("serve", "pending")

    BINDINGS = [
        Binding("ctrl+r", "send", "Send", id="serve.send"),
        Binding("b,ctrl+b", "load_test", "Load test", id="serve.load"),
        Binding("n", "scale", "Scale", id="serve.scale"),
        Binding("d", "delete_app", "Delete app", id="serve.delete"),
        Binding("D", "shutdown", "Shutdown", id="serve.shutdown"),
        Binding("escape", "focus_tree", "Tree", show=False, id="serve.tree"),
    ]

    DEFAULT_CSS = """
    ServePane #serve-state { height: auto; padding: 0 1; }
    ServePane #serve-main { height: 1fr; }
    ServePane #serve-left { width: 45%; height: 1fr; }
    ServePane #serve-tree { height: 1fr; border: round $primary 50%; }
    ServePane #serve-tree:focus { border: round $primary; }
    ServePane #serve-detail { height: auto; max-height: 6; padding: 0 1; color: $text-muted; }
    ServePane #serve-action { height: auto; padding: 0 1; }
    ServePane #serve-tester { width: 1fr; height: 1fr; border: round $primary 50%; padding: 0 1; }
    ServePane #serve-tester:focus-within { border: round $primary; }
    """

    # -- request Messages (handled by the app's workers: screens/workers/serve.py) ----------------

    @dataclass
    class SendRequest(Message):
        url: str
        method: str
        body: str | None

    @dataclass
    class RunLoadTest(Message):
        url: str
        method: str
        body: str | None
        n: int
        concurrency: int

    @dataclass
    class ScaleDeployment(Message):
        app_name: str
        deployment: str
        replicas: int

    @dataclass
    class DeleteApp(Message):
        app_name: str

    class ShutdownServe(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.action_text = ""  # the plain text of the action line (tests read it)
        self.traffic: dict[str, AppTraffic] = {}  # each app's requests, from its proxies
        self.traffic_note = ""  # proxies whose metrics could not be read

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.compose_stale()
        yield Static("waiting for the first refresh…", id="serve-state", markup=False)
        with Horizontal(id="serve-main"):
            with Vertical(id="serve-left"):
                yield ServeTree(id="serve-tree")
                yield Static("", id="serve-detail", markup=False)
                yield Static("", id="serve-action", markup=False)
            yield RequestTester(id="serve-tester")

    def on_show(self) -> None:
        # The app focuses a pane's first table; this pane has a tree, so it takes the focus itself.
        self.call_after_refresh(self._focus_tree_if_idle)

    def _focus_tree_if_idle(self) -> None:
        if self.display and (self.app.focused is None or not self.app.focused.display):
            self.tree.focus()

    @property
    def tree(self) -> ServeTree:
        return self.query_one(ServeTree)

    @property
    def tester(self) -> RequestTester:
        return self.query_one(RequestTester)

    @property
    def result_text(self) -> str:
        """The plain text of what the result area shows."""
        return self.tester.result_text

    @property
    def load_running(self) -> bool:
        return self.tester.load_test.running

    @property
    def last_load(self) -> LoadResult | None:
        return self.tester.load_test.last

    @property
    def readonly(self) -> bool:
        settings = getattr(self.app, "settings", None)
        return bool(getattr(settings, "readonly", False))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("scale", "delete_app", "shutdown") and self.readonly:
            return False  # hidden from the footer and refused
        return True

    # -- rendering ------------------------------------------------------------------------------

    def render_snapshot(self, snap: Snapshot) -> None:
        serve = snap.serve
        self.query_one("#serve-state", Static).update(self._state_text(serve, snap))
        self.tree.sync(serve, snap.pending.why, self.traffic)
        self.tester.sync_routes(serve)
        self._render_detail()

    def set_traffic(self, traffic: dict[str, AppTraffic], note: str = "") -> None:
        """The app's answer from the proxies' metrics: each app's label says its traffic."""
        self.traffic = traffic
        self.traffic_note = note
        if self.snapshot is not None:
            self.render_snapshot(self.snapshot)

    def _state_text(self, serve: ServeStatus, snap: Snapshot) -> Text:
        if not serve.running:
            return Text(NOT_RUNNING, style=WARN)
        base = serve_base_url(serve.http_host, serve.http_port, snap.info.address)
        text = Text("Serve HTTP ", style="bold")
        text.append(base or "no HTTP proxy", style=INFO)
        proxies = ", ".join(f"{where} {status}" for where, status in serve.proxies)
        if proxies:
            text.append(f"  proxies: {proxies}", style="dim")
        text.append(f"  {len(serve.apps)} app{'s' if len(serve.apps) != 1 else ''}")
        if not serve.apps:
            text.append("  (no applications: launch the serve workload to deploy one)", style=WARN)
        elif self.traffic_note:
            text.append(f"  traffic: {self.traffic_note}", style=WARN)
        return text

    def on_tree_node_highlighted(self, event: ServeTree.NodeHighlighted) -> None:
        event.stop()
        self._render_detail()

    def _render_detail(self) -> None:
        whys = self.snapshot.pending.why if self.snapshot is not None else {}
        detail = detail_text(self._selected(), whys, self.traffic)
        self.query_one("#serve-detail", Static).update(detail)

    def _selected(self) -> Selection | None:
        """The app (and deployment, replica) under the tree cursor, from the latest snapshot."""
        if self.snapshot is None:
            return None
        return self.tree.selected(self.snapshot.serve)

    # -- the request tester and the load test -----------------------------------------------------

    def action_send(self) -> None:
        request = self.tester.send_request(self.snapshot)
        if request is not None:
            self.post_message(self.SendRequest(*request))

    def action_load_test(self) -> None:
        request = self.tester.load_test_request(self.snapshot)
        if request is not None:
            self.post_message(self.RunLoadTest(*request))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "serve-send":
            self.action_send()
        elif event.button.id == "serve-load":
            self.action_load_test()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # Enter in the path or the counts: N/C send a load test, the path a request
        if event.input.id in ("serve-n", "serve-c"):
            self.action_load_test()
        elif event.input.id == "serve-path":
            self.action_send()

    def show_result(self, method: str, url: str, result: Result) -> None:
        self.tester.show_result(method, url, result)

    def show_load_result(self, result: LoadResult | None, error: str = "") -> None:
        self.tester.show_load_result(result, error)

    # -- cluster actions ---------------------------------------------------------------------------

    def show_action(self, text: str, error: bool = False) -> None:
        """One line saying what an action did, or the server's reason for refusing it."""
        line = " ".join(text.split())
        self.action_text = line
        shown = Text(line, style=BAD if error else OK)
        self.query_one("#serve-action", Static).update(shown)

    def action_focus_tree(self) -> None:
        self.tree.focus()

    def _refuse_readonly(self) -> bool:
        if self.readonly:
            why = "read-only mode: scaling and deleting are off (started with --readonly)"
            self.show_action(why, error=True)
            return True
        return False

    def action_scale(self) -> None:
        if self._refuse_readonly():
            return
        found = self._selected()
        if found is not None and found[1] is None and len(found[0].deployments) == 1:
            found = (found[0], found[0].deployments[0], None)  # an app of one deployment: it
        if found is None or found[1] is None:
            self.show_action(
                "put the tree cursor on a deployment (or a replica) to scale it", error=True
            )
            return
        app, dep, _ = found

        def done(replicas: int | None) -> None:
            if replicas is not None:
                self.show_action(f"scaling {app.name}/{dep.name} to {replicas} …")
                self.post_message(self.ScaleDeployment(app.name, dep.name, replicas))

        self.app.push_screen(ScaleScreen(app.name, dep.name, dep.target_replicas), done)

    def action_delete_app(self) -> None:
        if self._refuse_readonly():
            return
        found = self._selected()
        name = found[0].name if found else self.tester.route
        if not isinstance(name, str) or not name:
            self.show_action("no Serve app selected", error=True)
            return
        detail = (
            "Ray's REST API removes an app deployed declaratively (a Serve config) by re-applying "
            "the others. An app deployed by serve.run, like the serve workload's, cannot be "
            "deleted alone: Ray refuses, and you stop the job that runs it (Jobs pane) instead, or "
            "shut down all of Serve (D)."
        )

        def done(yes: bool | None) -> None:
            if yes:
                self.show_action(f"deleting app {name} …")
                self.post_message(self.DeleteApp(name))

        question = f"Delete the Serve application '{name}'?"
        self.app.push_screen(ConfirmScreen(question, detail, "Delete"), done)

    def action_shutdown(self) -> None:
        if self._refuse_readonly():
            return
        apps = [a.name for a in self.snapshot.serve.apps] if self.snapshot else []
        detail = (
            f"This deletes EVERY application ({len(apps)}: {', '.join(apps) or 'none'}) and "
            "stops Serve's controller and proxies (DELETE /api/serve/applications/). Jobs "
            "that deployed them keep running."
        )

        def done(yes: bool | None) -> None:
            if yes:
                self.show_action("shutting down Serve …")
                self.post_message(self.ShutdownServe())

        question = "Shut down ALL of Serve on this cluster?"
        self.app.push_screen(ConfirmScreen(question, detail, "Shut down"), done)
