"""Typed errors of the cockpit core. Each one knows how to say itself in one line, with what to
do."""

from __future__ import annotations

import html
import json
import re
import reprlib
from typing import Any


class CockpitError(Exception):
    """Base of every error the core raises on purpose. `str()` is one readable line."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def one_line(self) -> str:
        """The message and the hint, ready for a banner, a toast or stderr."""
        return f"{self.message} — {self.hint}" if self.hint else self.message

    def __str__(self) -> str:
        return self.one_line()


class DashboardUnreachable(CockpitError):
    hint = "check the address and that the Ray head is running (ray status on the head)"


class DashboardTimeout(CockpitError):
    hint = "the dashboard is slow or overloaded; it is retried automatically"


class AuthRequired(CockpitError):
    hint = "set RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH, or put the token in ~/.ray/auth_token"


class AuthForbidden(CockpitError):
    hint = "the token was refused; get the right one with 'ray get-auth-token' on the head"


class NotFound(CockpitError):
    hint = "it may have been deleted, or the id is mistyped"


class BadResponse(CockpitError):
    """The dashboard answered, but not with what we expected."""

    hint = "the dashboard may be a different Ray version or restarting; it is retried automatically"

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        first = summarise_body(body)
        if len(first) > 160:
            first = first[:157] + "..."
        text = message if status is None else f"{message} (HTTP {status})"
        if first:
            text = f"{text}: {first}"
        super().__init__(text)
        self.status = status
        self.body = body


_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel, _PREVIEW.maxstring, _PREVIEW.maxother = 3, 120, 120


def preview(value: Any, limit: int = 300) -> str:
    """The start of an unexpected answer for a BadResponse body: bounded, and it never raises
    (a 5,000-digit number or a structure nested past the recursion limit has no str())."""
    if isinstance(value, str):
        return value[:limit]
    try:
        return _PREVIEW.repr(value)[:limit]
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def summarise_body(body: str) -> str:
    """The useful part of an error body, as text a person reads: a traceback's last line; an
    HTML page's title (or its first words), never its tags; JSON text that does not parse (cut
    short, or malformed) said as such, not its first bytes; else the first two lines."""
    text = body.strip()
    if _HTML_START.match(text):
        return _html_summary(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        return lines[-1]
    if _JSON_START.match(text) and not _parses(text):
        return "JSON that is cut short or malformed"
    return " | ".join(lines[:2])


_HTML_START = re.compile(r"<(!doctype\s+html|html|head|body|title|h1|div|p)\b", re.IGNORECASE)
_JSON_START = re.compile(r'[\[{]\s*["\[{]')  # JSON text; a Python repr quotes with '
_TAG = re.compile(r"<[^>]*>?")


def _html_summary(page: str) -> str:
    """An HTML page in words: "an HTML page: <its title, else its first words>"."""
    title = re.search(r"<title[^>]*>(.*?)</title>", page, re.IGNORECASE | re.DOTALL)
    words = title.group(1) if title and title.group(1).strip() else page
    words = re.sub(r"<(script|style)\b.*?(</\1>|$)", " ", words, flags=re.IGNORECASE | re.DOTALL)
    words = " ".join(html.unescape(_TAG.sub(" ", words)).split())
    if len(words) > 80:
        words = words[:77] + "..."
    return f"an HTML page: {words}" if words else "an HTML page"


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


class RequestRejected(BadResponse):
    """A 4xx that is the user's to fix (bad job request, wrong state)."""

    hint = "fix the request and try again"


class LocalHeadError(CockpitError):
    hint = "see the Ray log printed above, or start Ray yourself and pass --address"


class TunnelError(CockpitError):
    """The SSH link to a remote head could not be opened (host key, login, network, timeout)."""

    hint = "check that `ssh HOST` works from this terminal"
