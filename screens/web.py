"""`raycockpit --web`: the same cockpit in a browser, served by textual-serve.

Each browser tab gets a cockpit process of its own (textual-serve starts the command below for
every websocket, with Textual's web driver), attached to the cluster this server resolved: the
server opens the ssh tunnel or starts the embedded head once, and every tab is a thin client of
its dashboard. The cluster's auth token stays in the tab processes' environment and in their
Authorization headers to the dashboard: the page only ever receives the rendered screen.

Loopback by default. On any other address the server needs `--web-token`: the page is then
served only to `/?token=TOKEN` (which sets an HttpOnly, SameSite=Strict cookie) and the
websocket only to that cookie, so nobody else who reaches the port drives the cluster.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import shlex
import signal
import sys
import weakref
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, log, to_int

COOKIE = "raycockpit_web"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def tab_command(address: str, extra: list[str]) -> str:
    """The shell command textual-serve runs for each tab: this Python's cockpit on `address`."""
    argv = [sys.executable, "-m", "raycockpit.cockpit.cli", "--address", address, *extra]
    return "exec " + shlex.join(argv)  # exec: the tab's process is the cockpit itself


class CockpitWebServer(Server):
    """textual-serve's Server with the web token's check, and every tab closed at shutdown (so
    each tab's cockpit quits and nothing is left running)."""

    def __init__(self, command: str, *, host: str, port: int, web_token: str | None) -> None:
        super().__init__(command, host=host, port=port, title="raycockpit")
        self.web_token = web_token
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._check_token)
        return app

    def _allowed(self, request: web.Request) -> bool:
        if not self.web_token:
            return True
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        return hmac.compare_digest(given.encode(), self.web_token.encode())

    @web.middleware
    async def _check_token(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if request.path in ("/", "/ws") and not self._allowed(request):
            raise web.HTTPUnauthorized(
                text="raycockpit --web: open this page as /?token=<the --web-token it was "
                "started with>\n"
            )
        response = await handler(request)
        if self.web_token and request.path == "/" and request.query.get("token"):
            response.set_cookie(COOKIE, self.web_token, httponly=True, samesite="Strict", path="/")
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's handler (one cockpit process per websocket), with each socket kept
        so that shutdown closes them: the tab's cockpit is told to quit and is waited for."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        service: AppService | None = None
        self._sockets.add(websocket)
        try:
            await websocket.prepare(request)
            service = AppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # a tab's failure is logged; the server and other tabs go on
            log.exception(error)
        finally:
            self._sockets.discard(websocket)
            if service is not None:
                await service.stop()
        return websocket

    def initialize_logging(self) -> None:
        logging.basicConfig(level=logging.WARNING, format="raycockpit --web: %(message)s")

    def serve_until_signal(self) -> None:
        """Serve until Ctrl+C, SIGTERM or a hangup (the terminal of an ssh session closing);
        the line that gives the address is printed once the port listens. An OSError (the port
        taken, an address not here) is the caller's to say."""
        self.initialize_logging()
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        runner = web.AppRunner(await self._make_app(), handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            where = f"http://{self.host}:{self.port}/"
            if self.web_token:
                where += "?token=<--web-token>"
            print(
                f"raycockpit: serving the cockpit on {where} (one cockpit per tab; Ctrl+C stops)",
                file=sys.stderr,
                flush=True,
            )
            await stop.wait()
        finally:
            await runner.cleanup()  # on_shutdown closes every tab first

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints its logo here; the address is printed once the port listens."""

    async def on_shutdown(self, app: web.Application) -> None:
        for socket in list(self._sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
