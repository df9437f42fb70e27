"""Command-line parsing shared by the workloads (standard library only, no ray).

Each workload declares its parameters once, as a tuple of `Param`, and its presets once, as a
dict literal; `configs/workloads/<name>.yaml` describes the same for the cockpit's form and a
unit test checks that both sides agree. Every flag takes exactly one value (`--flag value`,
bools as `true`/`false`); `--preset NAME` applies the preset first and explicit flags override
it. Any bad argument exits with status 2 and ONE line on stderr, before ray is imported.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TYPES = ("int", "float", "bool", "str", "choice")
GPU_CHOICES = ("auto", "true", "false")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    path: str | None = (
        None  # "file" | "dir": a str naming what the program reads (the form checks it)
    )

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        if self.type == "int":
            return f"an integer between {self.min} and {self.max}"
        if self.type == "float":
            return f"a number between {self.min} and {self.max}"
        if self.type == "bool":
            return "true or false"
        if self.type == "choice":
            return "one of " + ", ".join(self.choices or ())
        return "a string"

    def convert(self, raw: Any) -> Any:
        """Convert a CLI string (or a preset's literal value) to this parameter's type.

        Raises ValueError with the message tail on a bad value.
        """
        bad = ValueError(f"{self.flag} must be {self.describe()}, got {raw!r}")
        if self.type == "int":
            if isinstance(raw, bool):
                raise bad
            if isinstance(raw, int):
                value = raw
            else:
                try:
                    value = int(str(raw).strip())
                except ValueError:
                    raise bad from None
        elif self.type == "float":
            if isinstance(raw, bool):
                raise bad
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise bad from None
            if not math.isfinite(value):
                raise bad
        elif self.type == "bool":
            if isinstance(raw, bool):
                value = raw
            elif str(raw).strip().lower() in ("true", "false"):
                value = str(raw).strip().lower() == "true"
            else:
                raise bad
        elif self.type == "choice":
            value = str(raw)
            if value not in (self.choices or ()):
                raise bad
        else:
            value = "" if raw is None else str(raw)
        if self.type in ("int", "float"):
            if (self.min is not None and value < self.min) or (
                self.max is not None and value > self.max
            ):
                raise bad
        return value


def gpu_param(help_text: str) -> Param:
    return Param("use_gpu", "choice", "auto", help_text, choices=GPU_CHOICES)


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors as one line and exit status 2 (no usage dump)."""

    def error(self, message: str):  # type: ignore[override]
        message = " ".join(str(message).split())
        sys.stderr.write(f"{self.prog}: {message}\n")
        sys.stderr.flush()
        raise SystemExit(2)


def build_parser(
    workload: str, params: Sequence[Param], presets: Mapping[str, Mapping[str, Any]]
) -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=workload, allow_abbrev=False, description=f"raycockpit bundled workload '{workload}'"
    )
    parser.add_argument(
        "--preset", default=None, metavar="NAME", help="apply a preset first: " + ", ".join(presets)
    )
    for p in params:
        parser.add_argument(
            p.flag,
            dest=p.name,
            default=None,
            metavar=p.type.upper(),
            help=f"{p.help} ({p.describe()}; default {p.default!r})",
        )
    return parser


def parse(
    workload: str,
    params: Sequence[Param],
    presets: Mapping[str, Mapping[str, Any]],
    argv: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Parse argv into a dict of resolved values: defaults, then preset, then explicit flags."""
    parser = build_parser(workload, params, presets)
    ns = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    by_name = {p.name: p for p in params}
    values = {p.name: p.default for p in params}
    if ns.preset is not None:
        if ns.preset not in presets:
            parser.error(f"unknown preset {ns.preset!r}; choose one of: {', '.join(presets)}")
        for key, raw in presets[ns.preset].items():
            if key not in by_name:
                parser.error(f"preset {ns.preset!r} sets unknown parameter {key!r}")
            try:
                values[key] = by_name[key].convert(raw)
            except ValueError as exc:
                parser.error(f"preset {ns.preset!r}: {exc}")
    for p in params:
        raw = getattr(ns, p.name)
        if raw is not None:
            try:
                values[p.name] = p.convert(raw)
            except ValueError as exc:
                parser.error(str(exc))
    values["preset"] = ns.preset or ""
    return values


def fail(workload: str, message: str) -> None:
    """Exit 2 with one line, like a bad flag (for cross-parameter checks)."""
    sys.stderr.write(f"{workload}: {' '.join(message.split())}\n")
    sys.stderr.flush()
    raise SystemExit(2)


def not_above(workload: str, params: Mapping[str, Any], low: str, high: str) -> None:
    """Exit 2 in one line unless params[low] <= params[high] (e.g. --waves vs --num-tasks)."""
    if params[low] > params[high]:
        flag = lambda name: "--" + name.replace("_", "-")  # noqa: E731
        fail(workload, f"{flag(low)} ({params[low]}) must not exceed {flag(high)} ({params[high]})")


def require_mlflow(workload: str, uri: str) -> None:
    """`--mlflow-uri` needs mlflow; say so in one line before touching the cluster."""
    if not uri:
        return
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        fail(
            workload,
            f"--mlflow-uri {uri!r} needs the 'mlflow' package, which is not "
            "installed in this Python (pip install mlflow), or leave the flag out",
        )
