"""Typed errors of the cockpit core. Each one knows how to say itself in one line, with what to
do."""

from __future__ import annotations


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


def summarise_body(body: str) -> str:
    """The useful part of an error body: a traceback's last line, else the first two lines."""
    lines = [line.strip() for line in body.strip().splitlines() if line.strip()]
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        return lines[-1]
    return " | ".join(lines[:2])


class RequestRejected(BadResponse):
    """A 4xx that is the user's to fix (bad job request, wrong state)."""

    hint = "fix the request and try again"


class LocalHeadError(CockpitError):
    hint = "see the Ray log printed above, or start Ray yourself and pass --address"


class TunnelError(CockpitError):
    """The SSH link to a remote head could not be opened (host key, login, network, timeout)."""

    hint = "check that `ssh HOST` works from this terminal"
