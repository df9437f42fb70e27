"""The command log: every call that changed a cluster, as the user could repeat it in a script.

Each entry keeps when it ran, what it did and how it ended (ok, or the error line), the REST call
(method, path, JSON body) with a ready `curl` line, and the `ray` CLI line that does the same
(`ray job submit ...`, `ray job stop ID`, `serve shutdown`, `ray up FILE` ...), or a note saying
why Ray has none. Secrets never enter an entry: the auth token is written `$RAY_AUTH_TOKEN` (the
variable Ray's CLI reads too), and env vars or metadata whose name or value looks secret, and
credentials inside URLs, are left out and named in the entry's note.

The log is bounded (oldest dropped) and UI-free; the client records into it at the one place
each mutating call goes through (cockpit/client.py), the app's launcher worker records `ray up`
/ `ray down` / `ray exec`. The cockpit keeps it across sessions in a file of JSON lines
(`$XDG_STATE_HOME/raycockpit/commands.jsonl`, else `~/.local/state/...`; what yesterday's
session stopped, and how to do it again): each entry is appended as it is recorded, the last
`limit` are read back at the start, and the file is rewritten to those when it holds twice as
many. A line that cannot be read is skipped; a file that cannot be written leaves the log in
memory, said once in the screen's title.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_ENTRIES = 500
TOKEN_VARIABLE = "RAY_AUTH_TOKEN"

SECRET_NAME = re.compile(
    r"token|secret|passw(or)?d|passwd|pwd|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"credential|auth|cookie|session[_-]?id|signature|_key$|^key$",
    re.IGNORECASE,
)
SECRET_VALUE = re.compile(
    r"^(ghp_|gho_|ghs_|github_pat_|glpat-|sk-|sk_live_|rk_live_|xox[abpr]-|AKIA|ASIA|hf_|"
    r"eyJ[A-Za-z0-9_-]{8,}\.)"
)
RANDOM_LOOKING = re.compile(r"^[A-Za-z0-9+/=_\-]{32,}$")
URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")


def secret_looking(name: str, value: object) -> bool:
    """True for a name like HF_TOKEN / DB_PASSWORD, or a value like a key, a JWT or a long random
    string (letters and digits mixed, 32 characters or more)."""
    if SECRET_NAME.search(name):
        return True
    text = str(value)
    if SECRET_VALUE.match(text):
        return True
    return bool(
        RANDOM_LOOKING.match(text)
        and re.search(r"\d", text)
        and re.search(r"[A-Za-z]", text)
        and "/" not in text.strip("/")
    )


def strip_userinfo(text: str) -> tuple[str, bool]:
    """`https://user:pass@host/x` -> `https://host/x`; (text, whether something was removed)."""
    cleaned = URL_USERINFO.sub(lambda m: m["scheme"], text)
    return cleaned, cleaned != text


def redact_runtime_env(runtime_env: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The runtime_env without secret-looking env vars or URL credentials; (env, what was left
    out, as `env_vars.NAME` / `pip` / `working_dir`)."""
    out: dict[str, Any] = {}
    left_out: list[str] = []
    for key, value in runtime_env.items():
        if key == "env_vars" and isinstance(value, dict):
            kept = {}
            for name, item in value.items():
                if secret_looking(str(name), item):
                    left_out.append(f"env_vars.{name}")
                else:
                    kept[name] = item
            if kept:
                out[key] = kept
        elif key in ("pip", "uv", "py_modules") and isinstance(value, list):
            items = []
            for item in value:
                cleaned, changed = strip_userinfo(str(item)) if isinstance(item, str) else (item, 0)
                if changed:
                    left_out.append(f"{key} credentials")
                items.append(cleaned)
            out[key] = items
        elif isinstance(value, str):
            cleaned, changed = strip_userinfo(value)
            if changed:
                left_out.append(f"{key} credentials")
            out[key] = cleaned
        else:
            out[key] = value
    return out, left_out


def redact_job_body(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A POST /api/jobs/ body fit to show: runtime_env and metadata redacted."""
    out = dict(body)
    left_out: list[str] = []
    if isinstance(body.get("runtime_env"), dict):
        env, gone = redact_runtime_env(body["runtime_env"])
        left_out += gone
        if env:
            out["runtime_env"] = env
        else:
            out.pop("runtime_env")
    if isinstance(body.get("metadata"), dict):
        kept = {}
        for name, value in body["metadata"].items():
            if secret_looking(str(name), value):
                left_out.append(f"metadata.{name}")
            else:
                kept[name], gone = _redact_pairs(str(value))
                left_out += [f"metadata.{name} {item}" for item in gone]
        out["metadata"] = kept
    return out, left_out


ASSIGNMENT = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>\\\"(?:(?!\\\").)*\\\"|'[^']*'|\S*)"
)


def _redact_pairs(text: str) -> tuple[str, list[str]]:
    """A metadata value with `NAME=value` words inside (the cockpit keeps a form's env vars
    field, `HF_TOKEN=... A=1`, in `raycockpit.options`): each secret-looking pair is cut out,
    the JSON around it kept valid."""
    gone: list[str] = []

    def cut(match: re.Match[str]) -> str:
        value = match["value"].strip("\"'\\")
        if secret_looking(match["name"], value):
            gone.append(match["name"])
            return f"{match['name']}=<left out>"
        return match.group(0)

    return ASSIGNMENT.sub(cut, text), gone


def entrypoint_words(entrypoint: str) -> list[str]:
    """The words after `--` that make `ray job submit` post exactly this entrypoint (Ray joins
    them with shlex.join): the entrypoint's own words when that gives it back byte for byte,
    else `bash -c ENTRYPOINT` (the same command: Ray runs the entrypoint through a shell)."""
    try:
        words = shlex.split(entrypoint)
    except ValueError:
        words = []
    if words and shlex.join(words) == entrypoint:
        return words
    return ["bash", "-c", entrypoint]


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def submit_cli(
    address: str,
    body: dict[str, Any],
    *,
    working_dir: Path | None = None,
    include: Iterable[str] | None = None,
    excludes: Iterable[str] = (),
) -> str:
    """`ray job submit` for a (redacted) POST /api/jobs/ body. With the local `working_dir` it
    ships the same folder (`--working-dir`; only `include` of it when given, and without the
    packer's own `excludes`, both through runtime_env excludes) instead of naming the uploaded
    gcs:// package, which Ray deletes once no job uses it."""
    words = ["ray", "job", "submit", "--address", address]
    runtime_env = dict(body.get("runtime_env") or {})
    if working_dir is not None:
        runtime_env.pop("working_dir", None)
        words += ["--working-dir", str(working_dir)]
        patterns: list[str] = []
        if include is not None:
            keep = set(include)
            try:
                others = sorted(p.name for p in Path(working_dir).iterdir() if p.name not in keep)
            except OSError:
                others = []
            patterns += [f"/{name}" for name in others]
        patterns += list(excludes)
        if patterns:
            runtime_env["excludes"] = patterns
    if body.get("submission_id"):
        words += ["--submission-id", str(body["submission_id"])]
    if runtime_env:
        words += ["--runtime-env-json", json.dumps(runtime_env, sort_keys=True)]
    if body.get("metadata"):
        words += ["--metadata-json", json.dumps(body["metadata"], sort_keys=True)]
    for key, flag in (
        ("entrypoint_num_cpus", "--entrypoint-num-cpus"),
        ("entrypoint_num_gpus", "--entrypoint-num-gpus"),
        ("entrypoint_memory", "--entrypoint-memory"),
    ):
        if body.get(key) is not None:
            words += [flag, _number(body[key])]
    if body.get("entrypoint_resources"):
        words += ["--entrypoint-resources", json.dumps(body["entrypoint_resources"])]
    words += ["--", *entrypoint_words(str(body.get("entrypoint", "")))]
    return shlex.join(words)


@dataclass(frozen=True)
class Command:
    """One call that changed the cluster."""

    at: float  # unix seconds
    action: str  # "job submit", "job stop", "serve shutdown", "ray up" ...
    target: str  # job id, app/deployment, cluster file
    ok: bool
    result: str  # "ok", "ok: raysubmit_...", or the error line
    address: str = ""
    method: str = ""  # "" when it is no REST call (Ray's launcher)
    path: str = ""
    body: Any = None  # redacted JSON body, or a description of a binary one (str)
    cli: str = ""  # the `ray` / `serve` line; "" when Ray's CLI has none (see note)
    note: str = ""
    left_out: tuple[str, ...] = ()
    with_token: bool = False
    earlier: bool = field(default=False, compare=False)  # read back from an earlier session

    @property
    def rest(self) -> str:
        """`POST /api/jobs/ {...}`: the REST call in one line ('' for launcher runs)."""
        if not self.method:
            return ""
        if self.body is None:
            return f"{self.method} {self.path}"
        shown = self.body if isinstance(self.body, str) else json.dumps(self.body, sort_keys=True)
        return f"{self.method} {self.path} {shown}"

    @property
    def curl(self) -> str:
        """The REST call as a `curl` line (the token as $RAY_AUTH_TOKEN, never its value)."""
        if not self.method:
            return ""
        words = ["curl", "-sS", "-X", self.method, self.address.rstrip("/") + self.path]
        line = shlex.join(words)
        if self.with_token:
            line += f' -H "Authorization: Bearer ${TOKEN_VARIABLE}"'
        if isinstance(self.body, str):
            line += " --data-binary @" + shlex.quote(self.body.split(" ", 1)[0])
        elif self.body is not None:
            body = json.dumps(self.body, sort_keys=True)
            line += " -H 'Content-Type: application/json' -d " + shlex.quote(body)
        return line

    @property
    def when(self) -> str:
        """`14:02:11` today, `2026-11-28 14:02` on another day (an entry of an earlier session)."""
        at = time.localtime(self.at)
        if time.strftime("%Y-%m-%d", at) == time.strftime("%Y-%m-%d"):
            return time.strftime("%H:%M:%S", at)
        return time.strftime("%Y-%m-%d %H:%M", at)

    def to_json(self) -> str:
        fields = dataclasses.asdict(self)
        del fields["earlier"]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Command | None:
        """An entry written by to_json, or None for a line that is not one."""
        try:
            raw = json.loads(line)
        except ValueError:
            return None
        if not isinstance(raw, dict):
            return None
        known = {f.name: f for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        try:
            values["at"] = float(values["at"])
            for name in ("action", "target", "result"):
                if not isinstance(values[name], str):
                    return None
            values["ok"] = bool(values["ok"])
            values["left_out"] = tuple(str(x) for x in values.get("left_out") or ())
            for name in ("address", "method", "path", "cli", "note"):
                values[name] = str(values.get(name) or "")
            values["with_token"] = bool(values.get("with_token"))
            values["earlier"] = True
        except (KeyError, TypeError, ValueError):
            return None
        return cls(**values)

    @property
    def full_note(self) -> str:
        parts = [self.note] if self.note else []
        if self.left_out:
            parts.append("left out (set them yourself): " + ", ".join(self.left_out))
        return "; ".join(parts)


@dataclass
class CommandLog:
    """The last `limit` commands, oldest first; safe to record into from worker threads."""

    limit: int = MAX_ENTRIES
    path: Path | None = None  # kept across sessions there (None: in memory only, as in tests)
    _entries: deque[Command] = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    version: int = field(init=False, default=0)  # bumps on every record (the screen's cue)
    earlier: int = field(init=False, default=0)  # entries read back from earlier sessions
    problem: str = field(init=False, default="")  # why the file is not kept, said once
    _file_lines: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._entries = deque(maxlen=self.limit)
        if self.path is not None:
            self._load(self.path)

    def _load(self, path: Path) -> None:
        try:
            with path.open(encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    self._file_lines += 1
                    command = Command.from_json(line)
                    if command is not None:
                        self._entries.append(command)
        except FileNotFoundError:
            pass
        except OSError as exc:
            self.problem = f"{path} not read ({exc.strerror or exc}): kept for this session"
        self.earlier = len(self._entries)

    def add(self, command: Command) -> Command:
        with self._lock:
            self._entries.append(command)
            self.version += 1
            if self.path is not None and not self.problem:
                self._save(self.path, command)
        return command

    def _save(self, path: Path, command: Command) -> None:
        """Append the entry (one short write: lines of two cockpits never interleave); rewrite
        the file to the kept entries once it holds twice as many."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if self._file_lines + 1 > 2 * self.limit:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".commands-")
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as out:
                        out.writelines(c.to_json() + "\n" for c in self._entries)
                    os.replace(tmp, path)
                except OSError:
                    Path(tmp).unlink(missing_ok=True)
                    raise
                self._file_lines = len(self._entries)
            else:
                with path.open("a", encoding="utf-8") as out:
                    out.write(command.to_json() + "\n")
                self._file_lines += 1
        except OSError as exc:
            self.problem = f"{path} not written ({exc.strerror or exc}): kept for this session"

    def entries(self) -> list[Command]:
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def stops_requested(self) -> dict[str, float]:
        """Job id -> when its last stop went through (unix s): a job that stays PENDING after
        it has not got it (the "Why pending?" answer says so)."""
        with self._lock:
            return {c.target: c.at for c in self._entries if c.action == "job stop" and c.ok}


def command_log_file(env: dict[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/raycockpit/commands.jsonl`, else `~/.local/state/raycockpit/...`."""
    env = os.environ if env is None else env
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "raycockpit" / "commands.jsonl"


def clean_address(address: str) -> str:
    return strip_userinfo(address)[0].rstrip("/")


def rest_command(
    action: str,
    target: str,
    *,
    address: str,
    method: str,
    path: str,
    ok: bool,
    result: str,
    body: Any = None,
    cli: str = "",
    note: str = "",
    left_out: Iterable[str] = (),
    with_token: bool = False,
    at: float | None = None,
) -> Command:
    return Command(
        at=time.time() if at is None else at,
        action=action,
        target=target,
        ok=ok,
        result=result,
        address=clean_address(address),
        method=method,
        path=path,
        body=body,
        cli=cli,
        note=note,
        left_out=tuple(left_out),
        with_token=with_token,
    )


def launcher_command(argv: list[str], ok: bool, result: str, at: float | None = None) -> Command:
    """A run of Ray's launcher (`ray up|down|exec FILE ...`): no REST call, its CLI line as run
    (with `ray` for the full path of the `ray` beside the cockpit's interpreter)."""
    words = list(argv)
    if words and Path(words[0]).name == "ray":
        words[0] = "ray"
    action = "ray " + (words[1] if len(words) > 1 else "?")
    target = words[2] if len(words) > 2 else ""
    return Command(
        at=time.time() if at is None else at,
        action=action,
        target=Path(target).name if target else "",
        ok=ok,
        result=result,
        cli=shlex.join(words),
        note="Ray's cluster launcher: no REST call",
    )
