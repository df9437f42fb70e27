"""Serve: applications -> deployments -> replicas, a request tester, a load test, and the actions
Ray's REST API allows (scale a deployment, delete an app, shut down Serve).

The pane never does I/O: it validates the form, then posts request Messages (`SendRequest`,
`RunLoadTest`, `ScaleDeployment`, `DeleteApp`, `ShutdownServe`); the app's workers answer by
calling `show_result`, `show_load_result` and `show_action`.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static, TextArea, Tree

from raycockpit.cockpit.models import ServeApp, ServeDeployment, ServeReplica, ServeStatus, Snapshot
from raycockpit.cockpit.serve_tester import (
    BODY_METHODS,
    DEFAULT_PATH,
    MAX_CONCURRENCY,
    MAX_REQUESTS,
    METHODS,
    FormError,
    LoadResult,
    Result,
    build_url,
    example_body,
    parse_count,
    parse_json_body,
    pretty_body,
    serve_base_url,
)
from raycockpit.screens.widgets.render import status_text
from raycockpit.screens.base import Pane
from raycockpit.screens.dialogs import ConfirmScreen, ScaleScreen

NOT_RUNNING = (
    "Serve is not running on this cluster. Start it by launching the serve workload "
    "(python -m workloads.serve --preset full, as a job): it deploys the digits app with "
    "POST /predict and GET /health."
)

NodeKey = tuple[str, ...]  # ("app", app) / ("dep", app, dep) / ("rep", app, dep, replica)


def _parent(key: NodeKey) -> NodeKey | None:
    if key[0] == "dep":
        return ("app", key[1])
    if key[0] == "rep":
        return ("dep", key[1], key[2])
    return None


def app_label(app: ServeApp) -> Text:
    text = Text(app.name, style="bold")
    text.append("  ")
    text.append_text(status_text(app.status))
    text.append(f"  {app.route_prefix or '(no route)'}", style="cyan")
    if app.message:
        text.append("  " + app.message.replace("\n", " "), style="dim")
    return text


def deployment_label(dep: ServeDeployment) -> Text:
    text = Text(dep.name, style="bold")
    text.append("  ")
    text.append_text(status_text(dep.status))
    running = sum(1 for r in dep.replicas if r.state == "RUNNING")
    target = "?" if dep.target_replicas is None else str(dep.target_replicas)
    text.append(f"  {running}/{target} replicas")
    if dep.message:
        text.append("  " + dep.message.replace("\n", " "), style="dim")
    return text


def replica_label(replica: ServeReplica) -> Text:
    text = Text(replica.replica_id or "?")
    text.append("  ")
    text.append_text(status_text(replica.state))
    if replica.pid:
        text.append(f"  pid {replica.pid}", style="dim")
    if replica.node_ip:
        text.append(f" on {replica.node_ip}", style="dim")
    return text


def load_result_text(result: LoadResult) -> Text:
    text = Text("load test ", style="bold")
    text.append(f"{result.n} requests in {result.elapsed_s:.2f} s")
    if result.n < result.requested:
        text.append(f" (stopped at the time limit; {result.requested} asked)", style="yellow")
    text.append("\n")
    for name, value in (("p50", result.p50), ("p95", result.p95), ("p99", result.p99)):
        text.append(f"{name} ", style="bold")
        text.append(f"{value:.1f} ms  ")
    text.append("rps ", style="bold")
    text.append(f"{result.rps:.1f}  ")
    text.append("errors ", style="bold")
    text.append(str(result.errors), style="bold red" if result.errors else "green")
    if result.statuses:
        text.append("\nstatus " + ", ".join(f"{s}×{c}" for s, c in result.statuses.items()), style="dim")
    if result.first_error:
        text.append(f"\nfirst error: {result.first_error}", style="red")
    return text


class ServePane(Pane):
    TITLE = "Serve"
    SECTIONS = ("serve",)

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
    ServePane .row { height: auto; }
    ServePane .row Label { padding: 0 1 0 0; }
    ServePane #serve-route { width: 1fr; }
    ServePane #serve-method { width: 12; margin-left: 1; }
    ServePane #serve-path { width: 1fr; }
    ServePane #serve-body { height: 6; margin-top: 1; }
    ServePane #serve-body.-invalid { border-left: thick $error; }
    ServePane #serve-form-error { height: auto; color: $error; }
    ServePane .count { width: 8; margin-right: 1; }
    ServePane .count.-invalid { background: $error 30%; }
    ServePane Button { margin-right: 1; }
    ServePane #serve-result { height: auto; margin-top: 1; }
    """

    # -- request Messages (handled by the app's workers: cockpit/serve_actions.py) ------------------

    class SendRequest(Message):
        def __init__(self, url: str, method: str, body: str | None) -> None:
            super().__init__()
            self.url, self.method, self.body = url, method, body

    class RunLoadTest(Message):
        def __init__(self, url: str, method: str, body: str | None, n: int, concurrency: int) -> None:
            super().__init__()
            self.url, self.method, self.body = url, method, body
            self.n, self.concurrency = n, concurrency

    class ScaleDeployment(Message):
        def __init__(self, app: str, deployment: str, replicas: int) -> None:
            super().__init__()
            self.app_name, self.deployment, self.replicas = app, deployment, replicas

    class DeleteApp(Message):
        def __init__(self, app: str) -> None:
            super().__init__()
            self.app_name = app

    class ShutdownServe(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._tree_nodes: dict[NodeKey, Any] = {}
        self._routes: tuple[tuple[str, str], ...] = ()
        self.load_running = False
        self.result_text = ""  # the plain text of what the result area shows (tests read it)
        self.action_text = ""
        self.last_load: LoadResult | None = None

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.compose_stale()
        yield Static("waiting for the first refresh…", id="serve-state")
        with Horizontal(id="serve-main"):
            with Vertical(id="serve-left"):
                tree: Tree[NodeKey] = Tree("Serve", id="serve-tree")
                tree.show_root = False
                tree.root.expand()
                yield tree
                yield Static("", id="serve-detail")
                yield Static("", id="serve-action")
            with VerticalScroll(id="serve-tester", can_focus=False):
                with Horizontal(classes="row"):
                    yield Select([], prompt="no app yet", id="serve-route", compact=True)
                    yield Select([(m, m) for m in METHODS], value="POST", allow_blank=False,
                                 id="serve-method", compact=True)  # fmt: skip
                with Horizontal(classes="row"):
                    yield Label("path")
                    yield Input(DEFAULT_PATH, id="serve-path", compact=True)
                yield TextArea(example_body(), id="serve-body", compact=True, soft_wrap=True,
                               show_line_numbers=False)  # fmt: skip
                yield Static("", id="serve-form-error")
                with Horizontal(classes="row"):
                    yield Label("load test: N")
                    yield Input("100", id="serve-n", classes="count", compact=True)
                    yield Label("at C")
                    yield Input("8", id="serve-c", classes="count", compact=True)
                with Horizontal(classes="row"):
                    yield Button("Send ^r", id="serve-send", compact=True)
                    yield Button("Load test b", id="serve-load", compact=True)
                yield Static("", id="serve-result")

    def on_mount(self) -> None:
        self.query_one("#serve-tester").border_title = "request tester"
        self.query_one("#serve-tree").border_title = "applications"

    def on_show(self) -> None:
        # The app focuses a pane's first table; this pane has a tree, so it takes the focus itself.
        self.call_after_refresh(self._focus_tree_if_idle)

    def _focus_tree_if_idle(self) -> None:
        if self.display and (self.app.focused is None or not self.app.focused.display):
            self.tree.focus()

    @property
    def tree(self) -> Tree:
        return self.query_one("#serve-tree", Tree)

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
        self._sync_tree(serve)
        self._sync_routes(serve)
        self._render_detail()

    def _state_text(self, serve: ServeStatus, snap: Snapshot) -> Text:
        if not serve.running:
            return Text(NOT_RUNNING, style="yellow")
        base = serve_base_url(serve.http_host, serve.http_port, snap.info.address) or "no HTTP proxy"
        text = Text("Serve HTTP ", style="bold")
        text.append(base, style="cyan")
        proxies = ", ".join(f"{where} {status}" for where, status in serve.proxies)
        if proxies:
            text.append(f"  proxies: {proxies}", style="dim")
        text.append(f"  {len(serve.apps)} app{'s' if len(serve.apps) != 1 else ''}")
        if not serve.apps:
            text.append("  (no applications: launch the serve workload to deploy one)", style="yellow")
        return text

    def _sync_tree(self, serve: ServeStatus) -> None:
        """Update labels in place, add what is new, remove what is gone: expansion and cursor stay."""
        tree = self.tree
        wanted: set[NodeKey] = set()

        def put(key: NodeKey, parent, label: Text, leaf: bool = False):
            wanted.add(key)
            node = self._tree_nodes.get(key)
            if node is None:
                node = parent.add_leaf(label, data=key) if leaf else parent.add(label, data=key, expand=True)
                self._tree_nodes[key] = node
            elif node.label != label:
                node.set_label(label)
            return node

        for app in serve.apps:
            app_node = put(("app", app.name), tree.root, app_label(app))
            for dep in app.deployments:
                dep_node = put(("dep", app.name, dep.name), app_node, deployment_label(dep))
                for replica in dep.replicas:
                    put(("rep", app.name, dep.name, replica.replica_id), dep_node, replica_label(replica), leaf=True)
        gone = [k for k in self._tree_nodes if k not in wanted]
        for key in sorted(gone, key=len):
            parent = _parent(key)
            if key in self._tree_nodes and (parent is None or parent in self._tree_nodes):
                self._tree_nodes[key].remove()
            self._tree_nodes.pop(key, None)
        # children of removed parents are gone with them
        for key in [k for k in self._tree_nodes if _parent(k) is not None and _parent(k) not in self._tree_nodes]:
            self._tree_nodes.pop(key, None)
        if tree.cursor_node is None and self._tree_nodes:
            tree.cursor_line = 0  # the first app, so the detail line and the actions have a target

    def _sync_routes(self, serve: ServeStatus) -> None:
        routes = tuple((app.name, app.route_prefix) for app in serve.apps if app.route_prefix)
        if routes == self._routes:
            return
        self._routes = routes
        select = self.query_one("#serve-route", Select)
        previous = select.value
        select.set_options([(f"{name}  {prefix}", name) for name, prefix in routes])
        names = [name for name, _ in routes]
        if previous in names:
            select.value = previous
        elif names:
            select.value = names[0]

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        self._render_detail()

    def _render_detail(self) -> None:
        self.query_one("#serve-detail", Static).update(self._detail_text())

    def _detail_text(self) -> Text:
        found = self._selected()
        if found is None:
            return Text("")
        app, dep, replica = found
        if replica is not None:
            return Text(f"replica {replica.replica_id} {replica.state} pid {replica.pid or '-'} node {replica.node_ip or '-'}")
        if dep is not None:
            res = ", ".join(f"{k} {v:g}" for k, v in sorted(dep.resources.items()))
            text = Text(f"{app.name}/{dep.name}: {dep.status}, target {dep.target_replicas} replicas")
            if res:
                text.append(f", each {res}")
            if dep.message:
                text.append(f"\n{dep.message}", style="yellow")
            return text
        text = Text(f"{app.name}: {app.status}, route {app.route_prefix or '-'}")
        if app.message:
            text.append(f"\n{app.message}", style="yellow")
        return text

    def _selected(self) -> tuple[ServeApp, ServeDeployment | None, ServeReplica | None] | None:
        """The app (and deployment, replica) under the tree cursor, from the latest snapshot."""
        node = self.tree.cursor_node
        if node is None or node.data is None or self.snapshot is None:
            return None
        key: NodeKey = node.data
        for app in self.snapshot.serve.apps:
            if app.name != key[1]:
                continue
            if key[0] == "app":
                return app, None, None
            for dep in app.deployments:
                if dep.name != key[2]:
                    continue
                if key[0] == "dep":
                    return app, dep, None
                for replica in dep.replicas:
                    if replica.replica_id == key[3]:
                        return app, dep, replica
                return app, dep, None
        return None

    # -- the request tester -------------------------------------------------------------------------

    def _request_form(self) -> tuple[str, str, str | None] | None:
        """(url, method, body) from the form, or None after marking what is wrong."""
        error = self.query_one("#serve-form-error", Static)
        body_area = self.query_one("#serve-body", TextArea)
        body_area.remove_class("-invalid")
        error.update("")
        snap = self.snapshot
        serve = snap.serve if snap else ServeStatus()
        base = serve_base_url(serve.http_host, serve.http_port, snap.info.address) if snap else None
        route = self.query_one("#serve-route", Select).value
        app = next((a for a in serve.apps if a.name == route), None)
        if not serve.running or base is None or app is None:
            error.update("no Serve app to send to: " + ("Serve is not running" if not serve.running else "choose an app route"))
            return None
        method = str(self.query_one("#serve-method", Select).value)
        try:
            url = build_url(base, app.route_prefix, self.query_one("#serve-path", Input).value)
            body: str | None = None
            if method in BODY_METHODS:
                body = body_area.text
                parse_json_body(body)
        except FormError as exc:
            if str(exc).startswith("body"):
                body_area.add_class("-invalid")
            error.update(f"{exc}; nothing sent")
            return None
        return url, method, body

    def _counts(self) -> tuple[int, int] | None:
        error = self.query_one("#serve-form-error", Static)
        values = []
        for selector, name, maximum in (("#serve-n", "N (requests)", MAX_REQUESTS),
                                        ("#serve-c", "C (concurrency)", MAX_CONCURRENCY)):  # fmt: skip
            field = self.query_one(selector, Input)
            field.remove_class("-invalid")
            try:
                values.append(parse_count(field.value, name, maximum))
            except FormError as exc:
                field.add_class("-invalid")
                error.update(f"{exc}; nothing sent")
                return None
        return values[0], values[1]

    def action_send(self) -> None:
        form = self._request_form()
        if form is None:
            return
        url, method, body = form
        pending = Text(f"{method} {url} …", style="dim")
        self._show(pending, pending.plain)
        self.post_message(self.SendRequest(url, method, body))

    def action_load_test(self) -> None:
        if self.load_running:
            self.query_one("#serve-form-error", Static).update("a load test is running; wait for its result")
            return
        form = self._request_form()
        counts = self._counts() if form is not None else None
        if form is None or counts is None:
            return
        url, method, body = form
        n, concurrency = counts
        self.load_running = True
        pending = Text(f"load test: {n} × {method} {url}, {concurrency} at a time …", style="dim")
        self._show(pending, pending.plain)
        self.post_message(self.RunLoadTest(url, method, body, n, concurrency))

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

    def _show(self, renderable: Text | Group, plain: str) -> None:
        self.result_text = plain
        self.query_one("#serve-result", Static).update(renderable)

    def show_result(self, method: str, url: str, result: Result) -> None:
        head = Text(f"{method} {url}\n", style="bold")
        if result.error:
            head.append(result.error, style="bold red")
            head.append(f"  ({result.latency_ms:.1f} ms)", style="dim")
            self._show(head, head.plain)
            return
        head.append(f"HTTP {result.status}", style="bold green" if result.ok else "bold red")
        head.append(f"  {result.latency_ms:.1f} ms\n")
        body = Text(pretty_body(result.body_text))
        self._show(Group(head, body), head.plain + body.plain)

    def show_load_result(self, result: LoadResult | None, error: str = "") -> None:
        self.load_running = False
        self.last_load = result
        shown = load_result_text(result) if result is not None else Text(f"load test failed: {error}", style="red")
        self._show(shown, shown.plain)

    # -- cluster actions -----------------------------------------------------------------------------

    def show_action(self, text: str, error: bool = False) -> None:
        """One line saying what an action did, or the server's reason for refusing it."""
        line = " ".join(text.split())
        self.action_text = line
        self.query_one("#serve-action", Static).update(Text(line, style="red" if error else "green"))

    def action_focus_tree(self) -> None:
        self.tree.focus()

    def _refuse_readonly(self) -> bool:
        if self.readonly:
            self.show_action("read-only mode: scaling and deleting are off (started with --readonly)", error=True)
            return True
        return False

    def action_scale(self) -> None:
        if self._refuse_readonly():
            return
        found = self._selected()
        if found is None or found[1] is None:
            self.show_action("put the tree cursor on a deployment (or a replica) to scale it", error=True)
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
        name = found[0].name if found else self.query_one("#serve-route", Select).value
        if not isinstance(name, str) or not name:
            self.show_action("no Serve app selected", error=True)
            return
        detail = (
            "Ray's REST API removes an app deployed declaratively (a Serve config) by re-applying "
            "the others. An app deployed by serve.run, like the serve workload's, cannot be deleted "
            "alone: Ray refuses, and you stop the job that runs it (Jobs pane) instead, or shut "
            "down all of Serve (D)."
        )

        def done(yes: bool | None) -> None:
            if yes:
                self.show_action(f"deleting app {name} …")
                self.post_message(self.DeleteApp(name))

        self.app.push_screen(ConfirmScreen(f"Delete the Serve application '{name}'?", detail, "Delete"), done)

    def action_shutdown(self) -> None:
        if self._refuse_readonly():
            return
        apps = [a.name for a in self.snapshot.serve.apps] if self.snapshot else []
        detail = (f"This deletes EVERY application ({len(apps)}: {', '.join(apps) or 'none'}) and stops "
                  "Serve's controller and proxies (DELETE /api/serve/applications/). Jobs that "
                  "deployed them keep running.")  # fmt: skip

        def done(yes: bool | None) -> None:
            if yes:
                self.show_action("shutting down Serve …")
                self.post_message(self.ShutdownServe())

        self.app.push_screen(ConfirmScreen("Shut down ALL of Serve on this cluster?", detail, "Shut down"), done)
