"""Settings and the discovery of where to connect and which token to send. No UI, no Ray."""

from __future__ import annotations

import contextlib
import difflib
import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

DASHBOARD_PORT = 8265  # Ray's dashboard port: a bare host gets it
DEFAULT_ADDRESS = f"http://127.0.0.1:{DASHBOARD_PORT}"
REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "RAYCOCKPIT_CONFIG"


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "raycockpit" / "cockpit.yaml"


# What each key must hold, as the one-line error messages say it ("expected ...").
EXPECTED = {
    "address": "a dashboard URL string, e.g. 'http://head:8265'",
    "ssh": "a string '[user@]host[:port]'",
    "ssh_key": "a path string to a private key",
    "ssh_options": "a list of strings, e.g. ['-J', 'bastion']",
    "remote_dashboard": "a port number 1..65535",
    "refresh": "a number of seconds > 0 and <= 3600",
    "request_timeout": "a number of seconds > 0 and <= 3600",
    "log_max_lines": "a whole number of lines 100..10000000",
    "keep_cluster": "true or false",
    "readonly": "true or false",
    "keys": "a mapping of binding id to key, e.g. {app.quit: ctrl+q}",
    "workloads_dirs": "a list of folder path strings",
    "token_path": "a path string to a file holding the dashboard's auth token",
    "contexts": "a mapping of context name to {address: URL} or {ssh: '[user@]host'}",
    "context": "the name of a context under contexts:",
    "postmortem_dir": "a folder path string for the post-mortems of failed jobs and dead nodes",
    "postmortem_keep": "a whole number of post-mortems to keep 1..10000",
    "record_max_mb": "a number of megabytes 1..100000 (a recording's size limit)",
    "theme": "a Textual theme's name, e.g. 'nord' (ctrl+p -> Theme lists them)",
}
_ITEM_EXPECTED = {
    "keys": "a key string, e.g. 'ctrl+q' (several: 'ctrl+q,f10')",
    "ssh_options": "a string",
    "workloads_dirs": "a folder path string",
}


def _str_tuple(value: object) -> object:
    """A YAML list (or a tuple from Python) -> a tuple; None -> (); numbers in it -> strings
    (`ssh_options: [-p, 2222]`). Anything else is left for the strict check to refuse."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(
            str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value
        )
    return value


StrTuple = Annotated[tuple[str, ...], BeforeValidator(_str_tuple)]
Seconds = Annotated[float, Field(gt=0, le=3600)]
Port = Annotated[int, Field(ge=1, le=65535)]


def _dashboard_url(value: str) -> str:
    problem = address_problem(value)
    if problem:
        raise ValueError(f"{value!r} is not a dashboard URL: {problem}")
    return value


DashboardUrl = Annotated[str, AfterValidator(_dashboard_url)]
# the keys a context may set, and the settings they replace while it is the current one
CONTEXT_KEYS = (
    "address",
    "ssh",
    "ssh_key",
    "ssh_options",
    "k8s",
    "k8s_namespace",
    "kube_context",
    "remote_dashboard",
    "token_path",
)


class Context(BaseModel):
    """One cluster under `contexts:`: where it is (an address, or an ssh login to its head) and
    how to talk to it. `raycockpit --context NAME`, `:ctx NAME` and the Fleet pane use them."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    address: DashboardUrl | None = None
    ssh: str | None = None
    ssh_key: str | None = None
    ssh_options: StrTuple = ()
    k8s: str | None = None  # a KubeRay RayCluster's name (its head-svc), reached by kubectl
    k8s_namespace: str | None = None
    kube_context: str | None = None
    remote_dashboard: Port = 8265
    token_path: str | None = None
    readonly: bool = False  # this cluster is only looked at, whatever --readonly says

    @model_validator(mode="after")
    def _one_place(self) -> Context:
        if sum(bool(x) for x in (self.address, self.ssh, self.k8s)) != 1:
            raise ValueError(
                "give exactly one of address: URL, ssh: [user@]host[:port] or k8s: RAYCLUSTER"
            )
        return self

    @property
    def where(self) -> str:
        """Where it is, for a person: the URL, `ssh user@host` or `k8s [namespace/]cluster`."""
        if self.address:
            return normalise_address(self.address)
        if self.k8s:
            return f"k8s {self.k8s_namespace + '/' if self.k8s_namespace else ''}{self.k8s}"
        return f"ssh {self.ssh}"


class Settings(BaseModel):
    """What the user can set in cockpit.yaml (see configs/cockpit.yaml) or on the command line.

    Validated with pydantic in strict mode: a value must already have the right YAML type (a
    number, not the string "2"; true/false, not "maybe" - PyYAML also reads yes/no/on/off as
    booleans), be within its range, and every key must be known. Settings.load turns the problems
    into one line each; constructing Settings(...) in Python raises pydantic's ValidationError
    (a ValueError)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    address: DashboardUrl | None = None
    ssh: str | None = None  # [user@]host[:port]: reach a head whose dashboard is on its loopback
    ssh_key: str | None = None
    ssh_options: StrTuple = ()  # extra ssh arguments, e.g. ["-F", "~/.ssh/other_config"]
    k8s: str | None = None  # a KubeRay RayCluster: kubectl port-forward to its head service
    k8s_namespace: str | None = None
    kube_context: str | None = None  # kubectl's --context (else the kubeconfig's current one)
    remote_dashboard: Annotated[int, Field(ge=1, le=65535)] = (
        8265  # the dashboard port beyond the tunnel
    )
    refresh: Seconds = 2.0
    request_timeout: Seconds = 10.0
    log_max_lines: Annotated[int, Field(ge=100, le=10_000_000)] = 20_000
    keep_cluster: bool = False
    readonly: bool = False
    # binding id -> key(s), for remapping
    keys: dict[Annotated[str, Field(min_length=1)], Annotated[str, Field(min_length=1)]] = {}
    workloads_dirs: StrTuple = ()
    token_path: str | None = None  # the dashboard's auth token, read from this file
    contexts: dict[Annotated[str, Field(min_length=1, pattern=r"^[\w.-]+$")], Context] = {}
    context: str | None = None  # the context to open when no --address / --ssh / --context
    # post-mortems of failed jobs and dead nodes (cockpit/postmortem.py): where, and how many
    postmortem_dir: str | None = None  # else $XDG_STATE_HOME/raycockpit/postmortems
    postmortem_keep: Annotated[int, Field(ge=1, le=10_000)] = 50
    # --record / :record (cockpit/recording.py): past this size the oldest half is dropped
    record_max_mb: Annotated[float, Field(ge=1, le=100_000)] = 64.0
    # the colours: a Textual theme (textual-dark when unset); a pick in the cockpit is kept here
    theme: Annotated[str, Field(min_length=1, pattern=r"^[\w.-]+$")] | None = None

    @model_validator(mode="after")
    def _known_context(self) -> Settings:
        if self.context is not None and self.context not in self.contexts:
            raise ValueError(unknown_context(self.context, self.contexts))
        return self

    def for_context(self, name: str) -> Settings:
        """These settings with context `name`'s place and credentials in them (and read-only if
        it is); a ValueError naming the known contexts when there is none of that name."""
        if name not in self.contexts:
            raise ValueError(unknown_context(name, self.contexts))
        ctx = self.contexts[name]
        changes = {key: getattr(ctx, key) for key in CONTEXT_KEYS}
        return self.model_copy(
            update={**changes, "readonly": self.readonly or ctx.readonly, "context": name}
        )

    def token(self) -> str | None:
        """The token from token_path (a missing or empty file: a ValueError that says so), else
        what RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token hold."""
        if not self.token_path:
            return discover_token()
        path = Path(self.token_path).expanduser()
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"token_path {path}: {exc.strerror or exc}") from None
        if not token:
            raise ValueError(f"token_path {path} is empty")
        return token

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read the YAML settings file; a missing file gives the defaults. Any problem is a
        ValueError whose text has one line per problem (all of them, not just the first)."""
        path = settings_file(path)
        if not path.exists():
            return cls()
        try:
            raw = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise ValueError(f"cannot read settings {path}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"cannot read settings {path}: {_yaml_problem(exc)}") from None
        if raw is None:  # an empty file, or only comments
            return cls()
        if not isinstance(raw, dict):  # a ValueError like every other settings problem
            got = f"{type(raw).__name__} {_short(raw)}"
            raise ValueError(f"settings {path}: expected a mapping of keys to values, got {got}")  # noqa: TRY004
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            order = {key: i for i, key in enumerate(raw)}  # report in the file's order
            errors = sorted(
                exc.errors(), key=lambda e: order.get(e["loc"][0] if e["loc"] else "", len(order))
            )
            raise ValueError(
                "\n".join(f"settings {path}: {line}" for line in problems(errors))
            ) from None

    def updated(self, changes: dict[str, object], names: dict[str, str] | None = None) -> Settings:
        """A copy with `changes` applied and validated like the file (model_copy alone does not
        validate); a ValueError with one line per problem, each key shown by its name in `names`
        (e.g. {"refresh": "--refresh"})."""
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise ValueError("\n".join(problems(exc.errors(), names))) from None


def settings_file(path: Path | None = None) -> Path:
    """Where the settings are read from (and a kept choice written): `path` (--config), else
    $RAYCOCKPIT_CONFIG, else ~/.config/raycockpit/cockpit.yaml."""
    return path or Path(os.environ.get(CONFIG_ENV) or default_config_path())


def remember_setting(path: Path, key: str, value: str) -> None:
    """Set one top-level scalar `key: value` in the settings file, leaving every other line and
    comment as it was: its `key:` line is replaced, or the line is added at the end (the file
    and its folder are made when missing). The file is written whole or not at all (a temporary
    file renamed over it); a ValueError says why it was not (it cannot be read or written, or
    the key's line is not one simple line, e.g. `theme: {a: b}` or inside a `{...}` mapping)."""
    line = f"{key}: {value}"
    try:
        old = path.read_text() if path.exists() else ""
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = old.splitlines()
    at = [i for i, text in enumerate(lines) if text.split(":", 1)[0] == key and ":" in text]
    if at:
        lines[at[0]] = line
    else:
        lines += ["", f"# {key}: kept by raycockpit when chosen in it", line] if lines else [line]
    new = "\n".join(lines) + "\n"
    try:
        ok = (yaml.safe_load(new) or {}).get(key) == value
    except (yaml.YAMLError, AttributeError):
        ok = False
    if not ok:
        raise ValueError(f"{path} was left as it was: write `{line}` in it yourself")
    path = path.resolve()  # a settings file linked from a dotfiles folder stays a link
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(new)
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None


def unknown_context(name: str, contexts: dict[str, Context]) -> str:
    known = ", ".join(sorted(contexts)) or "none: add them under contexts: in the settings file"
    return f"no context named {name!r} (known: {known})"


def problems(errors: list[ErrorDetails], names: dict[str, str] | None = None) -> list[str]:
    """One line per pydantic error: `KEY = VALUE: expected WHAT`, or
    `unknown key 'X' (did you mean 'Y'?)`; inside a context, `contexts['NAME'].KEY ...`."""
    lines = []
    for err in errors:
        loc = err["loc"]
        if err["type"] == "value_error":  # a rule across keys (a model validator's message)
            where = _where(loc[:2], names) + ": " if loc else ""
            lines.append(where + err["msg"].removeprefix("Value error, "))
            continue
        if err["type"] in ("extra_forbidden", "invalid_key") and len(loc) == 1:
            lines.append(_unknown(loc[0]))
            continue
        field, rest = str(loc[0]), loc[1:]
        if field == "contexts" and len(rest) == 2 and rest[1] != "[key]":
            where = _where(loc[:2], names)
            if err["type"] == "extra_forbidden":
                lines.append(f"{where}: {_unknown(rest[1], list(Context.model_fields))}")
            else:
                expected = EXPECTED.get(str(rest[1]), err["msg"])
                lines.append(f"{where}.{rest[1]} = {_short(err['input'])}: expected {expected}")
            continue
        if rest and rest[-1] == "[key]":  # a mapping key that is not a (non-empty) string
            what = "context name" if field == "contexts" else "binding id"
            rule = "letters, digits, . _ -" if field == "contexts" else "a non-empty string"
            where = _where(loc[:1] + rest[:-1], names)
            lines.append(f"{where}: {what} {_short(err['input'])}: expected {rule}")
            continue
        expected = (
            _ITEM_EXPECTED.get(field, "a valid value") if rest else EXPECTED.get(field, err["msg"])
        )
        lines.append(f"{_where(loc, names)} = {_short(err['input'])}: expected {expected}")
    return lines


def _where(loc: tuple, names: dict[str, str] | None) -> str:
    field = str(loc[0])
    return (names or {}).get(field, field) + "".join(f"[{p!r}]" for p in loc[1:])


def _unknown(key: object, known: list[str] | None = None) -> str:
    known = known or list(Settings.model_fields)
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(known)
    return f"unknown key {key!r} ({hint})"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's several-line message as one line: where, then what."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = ": ".join(" ".join(p.split()) for p in (exc.context, exc.problem) if p)
        return where + what
    return " ".join(str(exc).split())


def address_from_env(env: dict[str, str] | None = None) -> str | None:
    """RAY_API_SERVER_ADDRESS, or RAY_ADDRESS when it is an http(s) URL (else it names a GCS)."""
    env = os.environ if env is None else env
    if env.get("RAY_API_SERVER_ADDRESS"):
        return normalise_address(env["RAY_API_SERVER_ADDRESS"])
    ray_address = env.get("RAY_ADDRESS", "")
    if ray_address.startswith(("http://", "https://")):
        return normalise_address(ray_address)
    return None


def normalise_address(address: str) -> str:
    """`head` -> `http://head:8265` (a bare host: Ray's dashboard port), `head:9000` ->
    `http://head:9000`; a URL with its scheme is kept as given (`https://ray.example.com`)."""
    address = address.strip().rstrip("/")
    if "://" not in address:
        address = "http://" + address
        try:
            bare = urlsplit(address).port is None and not urlsplit(address).path
        except ValueError:
            bare = False  # address_problem says what is wrong with its port
        if bare and urlsplit(address).hostname:
            address += f":{DASHBOARD_PORT}"
    return address


def address_problem(address: str) -> str | None:
    """What keeps `address` from being a dashboard URL (said so a person can fix it), or None."""
    url = normalise_address(address)
    if not address.strip():
        return "it is empty"
    if any(c.isspace() for c in url):
        return "it holds a space"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "Port out of range 0-65535", "Port could not be cast ..."
        text = str(exc)
        if "out of range" in text:
            return "its port is out of range (1-65535)"
        if "Port" in text:
            return "its port is not a number"
        return text
    if parts.scheme not in ("http", "https"):
        return f"{parts.scheme}:// is not http:// or https://"
    if not parts.hostname:
        return "it names no host"
    if port == 0:
        return "its port is out of range (1-65535)"
    return None


def discover_token(env: dict[str, str] | None = None) -> str | None:
    """The auth token, from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token.

    Never logged."""
    env = os.environ if env is None else env
    if env.get("RAY_AUTH_TOKEN"):
        return env["RAY_AUTH_TOKEN"].strip()
    candidates = []
    if env.get("RAY_AUTH_TOKEN_PATH"):
        candidates.append(Path(env["RAY_AUTH_TOKEN_PATH"]).expanduser())
    candidates.append(Path.home() / ".ray" / "auth_token")
    for path in candidates:
        try:
            token = path.read_text().strip()
        except OSError:
            continue
        if token:
            return token
    return None
