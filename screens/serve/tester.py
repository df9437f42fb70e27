"""The Serve pane's request tester: an app route, a method, a path and a JSON body, checked before
anything is sent, and the area that shows the answer (a request's, or the load test's).

It never sends: `send_request()` and `load_test_request()` return what to send (or None after
marking what is wrong), and the pane posts it for the app's workers.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from raycockpit.cockpit.models import ServeStatus, Snapshot
from raycockpit.cockpit.serve_tester import (
    BODY_METHODS,
    DEFAULT_PATH,
    METHODS,
    FormError,
    LoadResult,
    Result,
    build_url,
    example_body,
    parse_json_body,
    pretty_body,
    serve_base_url,
)
from raycockpit.screens.serve.load_test import LoadTest
from raycockpit.screens.styles import BAD_STRONG, OK_STRONG
from raycockpit.screens.widgets.ordered_input import OrderedInput, OrderedTextArea

Request = tuple[str, str, str | None]  # (url, method, body)
LoadRequest = tuple[str, str, str | None, int, int]  # (url, method, body, N, C)


class RequestTester(VerticalScroll):
    """The form and its result area; the load test's N and C sit in it and share the request."""

    DEFAULT_CSS = """
    RequestTester .row { height: auto; }
    RequestTester .row Label { padding: 0 1 0 0; }
    RequestTester #serve-route { width: 1fr; }
    RequestTester #serve-method { width: 12; margin-left: 1; }
    RequestTester #serve-path { width: 1fr; }
    RequestTester #serve-body { height: 6; margin-top: 1; }
    RequestTester #serve-body.-invalid { border-left: thick $error; }
    RequestTester #serve-form-error { height: auto; color: $error; }
    RequestTester Button { margin-right: 1; }
    RequestTester #serve-result { height: auto; margin-top: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        self._routes: tuple[tuple[str, str], ...] = ()
        self.result_text = ""  # the plain text of what the result area shows (tests read it)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Select([], prompt="no app yet", id="serve-route", compact=True)
            yield Select(
                [(m, m) for m in METHODS],
                value="POST",
                allow_blank=False,
                id="serve-method",
                compact=True,
            )
        with Horizontal(classes="row"):
            yield Label("path")
            yield OrderedInput(DEFAULT_PATH, id="serve-path", compact=True)
        yield OrderedTextArea(
            example_body(), id="serve-body", compact=True, soft_wrap=True, show_line_numbers=False
        )
        yield Static("", id="serve-form-error", markup=False)
        yield LoadTest(classes="row")
        with Horizontal(classes="row"):
            yield Button("Send ^r", id="serve-send", compact=True)
            yield Button("Load test b", id="serve-load", compact=True)
        yield Static("", id="serve-result", markup=False)

    def on_mount(self) -> None:
        self.border_title = "request tester"

    @property
    def load_test(self) -> LoadTest:
        return self.query_one(LoadTest)

    @property
    def route(self) -> object:
        """The app chosen in the route list (its name), or Select.BLANK."""
        return self.query_one("#serve-route", Select).value

    def sync_routes(self, serve: ServeStatus) -> None:
        """The route list follows the apps; the chosen one stays while it exists."""
        routes = tuple((app.name, app.route_prefix) for app in serve.apps if app.route_prefix)
        if routes == self._routes:
            return
        self._routes = routes
        select = self.query_one("#serve-route", Select)
        previous = select.value
        select.set_options([(Text(f"{name}  {prefix}"), name) for name, prefix in routes])
        names = [name for name, _ in routes]
        if previous in names:
            select.value = previous
        elif names:
            select.value = names[0]

    # -- checking the form ------------------------------------------------------------------------

    def _error(self, text: str) -> None:
        self.query_one("#serve-form-error", Static).update(Text(text))  # may quote a path

    def _request_form(self, snap: Snapshot | None) -> Request | None:
        """(url, method, body) from the form, or None after marking what is wrong."""
        body_area = self.query_one("#serve-body", TextArea)
        body_area.remove_class("-invalid")
        self._error("")
        serve = snap.serve if snap else ServeStatus()
        base = serve_base_url(serve.http_host, serve.http_port, snap.info.address) if snap else None
        route = self.route
        app = next((a for a in serve.apps if a.name == route), None)
        if not serve.running or base is None or app is None:
            why = "Serve is not running" if not serve.running else "choose an app route"
            self._error(f"no Serve app to send to: {why}")
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
            self._error(f"{exc}; nothing sent")
            return None
        return url, method, body

    def send_request(self, snap: Snapshot | None) -> Request | None:
        """The request to send, shown as pending; None after marking what is wrong."""
        form = self._request_form(snap)
        if form is None:
            return None
        url, method, _ = form
        pending = Text(f"{method} {url} …", style="dim")
        self.show(pending, pending.plain)
        return form

    def load_test_request(self, snap: Snapshot | None) -> LoadRequest | None:
        """(url, method, body, N, C) for a load test, now running; None when one runs already or
        after marking what is wrong."""
        load = self.load_test
        if load.running:
            self._error("a load test is running; wait for its result")
            return None
        form = self._request_form(snap)
        if form is None:
            return None
        try:
            n, concurrency = load.counts()
        except FormError as exc:
            self._error(f"{exc}; nothing sent")
            return None
        url, method, body = form
        load.start()
        pending = Text(f"load test: {n} × {method} {url}, {concurrency} at a time …", style="dim")
        self.show(pending, pending.plain)
        return url, method, body, n, concurrency

    # -- the answer -------------------------------------------------------------------------------

    def show(self, renderable: Text | Group, plain: str) -> None:
        self.result_text = plain
        self.query_one("#serve-result", Static).update(renderable)

    def show_result(self, method: str, url: str, result: Result) -> None:
        head = Text(f"{method} {url}\n", style="bold")
        if result.error:
            head.append(result.error, style=BAD_STRONG)
            head.append(f"  ({result.latency_ms:.1f} ms)", style="dim")
            self.show(head, head.plain)
            return
        head.append(f"HTTP {result.status}", style=OK_STRONG if result.ok else BAD_STRONG)
        head.append(f"  {result.latency_ms:.1f} ms\n")
        body = Text(pretty_body(result.body_text))
        self.show(Group(head, body), head.plain + body.plain)

    def show_load_result(self, result: LoadResult | None, error: str = "") -> None:
        shown = self.load_test.finish(result, error)
        self.show(shown, shown.plain)
