"""Checks before submit: what a launch would ship and ask for, against what Ray and the cluster
allow, in numbers, before anything is sent.

The working_dir: which files Ray 2.60 packs (its rules, re-implemented here because the core
never imports Ray), how big the package is, the largest files, and the upload limit.
Ray's rules (`ray/_private/runtime_env/packaging.py`, 2.60):
- the folder is walked from the top; at each folder its own `.gitignore` (unless the variable
  RAY_RUNTIME_ENV_IGNORE_GITIGNORE=1) and `.rayignore` are read, and their patterns apply to that
  folder and everything below it, relative to the folder that holds the file;
- the runtime_env's `excludes` apply relative to the working_dir;
- all patterns are git wildmatch patterns (Ray's vendored `pathspec`, "gitwildmatch": the
  translation below is the same); a path is left out when ANY of the files in force says so
  (a `!` negation acts only inside its own file); a folder left out is not entered;
- files and empty folders are packed (ZIP_STORED, uncompressed, by `ray job submit`).
The limits: an upload goes through the dashboard, whose aiohttp app refuses bodies over
DASHBOARD_CLIENT_MAX_SIZE = 100 MiB (`ray_constants.py`), below GCS_STORAGE_MAX_SIZE = 512 MiB
(the gRPC message limit, `packaging.py`), so 100 MiB is the limit of a job submitted through the
dashboard, the cockpit's and `ray job submit`'s alike. Ray itself warns on single files of 10 MiB
and more (FILE_SIZE_WARNING) and on a package of half its limit (PACKAGE_SIZE_WARNING).

The resources are checked by fit.py (the entrypoint's and the workload's asks against the nodes),
the files the program reads by local_paths.py (when the cluster is this machine).
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from raycockpit.cockpit.fit import Capacity, Finding, check_resources
from raycockpit.cockpit.format import human_bytes
from raycockpit.cockpit.launch import JobRequest
from raycockpit.cockpit.local_paths import check_paths
from raycockpit.cockpit.models import Snapshot

DASHBOARD_CLIENT_MAX_SIZE = 100 * 1024**2  # Ray 2.60 ray_constants.DASHBOARD_CLIENT_MAX_SIZE
GCS_STORAGE_MAX_SIZE = 512 * 1024**2  # Ray 2.60 packaging.GCS_STORAGE_MAX_SIZE
FILE_SIZE_WARNING = 10 * 1024**2  # Ray 2.60 packaging.FILE_SIZE_WARNING
CLOSE_FRACTION = (
    0.5  # Ray warns at half its limit (PACKAGE_SIZE_WARNING = GCS_STORAGE_MAX_SIZE // 2)
)
IGNORE_GITIGNORE_VARIABLE = "RAY_RUNTIME_ENV_IGNORE_GITIGNORE"
LARGEST = 5
# the cockpit's own packer leaves these out too (packaging.DEFAULT_EXCLUDES, any depth)
COCKPIT_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    ".git",
    ".venv",
    "*.egg-info",
    ".pytest_cache",
    ".DS_Store",
)


def upload_limit() -> int:
    """The most a working_dir package may weigh: the dashboard's request body limit."""
    return min(DASHBOARD_CLIENT_MAX_SIZE, GCS_STORAGE_MAX_SIZE)


# -- git wildmatch, as Ray's vendored pathspec translates it ------------------------------------


def _segment_glob(pattern: str) -> str:
    """One path segment's glob -> regex (pathspec GitWildMatchPattern._translate_segment_glob)."""
    escape = False
    regex = ""
    i, end = 0, len(pattern)
    while i < end:
        char = pattern[i]
        i += 1
        if escape:
            escape = False
            regex += re.escape(char)
        elif char == "\\":
            escape = True
        elif char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            j = i
            if j < end and pattern[j] == "!":
                j += 1
            if j < end and pattern[j] == "]":
                j += 1
            while j < end and pattern[j] != "]":
                j += 1
            if j < end:
                j += 1
                expr = "["
                if pattern[i] == "!":
                    expr += "^"
                    i += 1
                elif pattern[i] == "^":
                    expr += "\\^"
                    i += 1
                expr += pattern[i:j].replace("\\", "\\\\")
                regex += expr
                i = j
            else:
                regex += "\\["
        else:
            regex += re.escape(char)
    return regex


def wildmatch_regex(pattern: str) -> tuple[str | None, bool | None]:
    """(regex, include) of one gitignore line; (None, None) for blanks, comments and `/`.
    include is False for a `!` negation (pathspec GitWildMatchPattern.pattern_to_regex)."""
    pattern = pattern.strip()
    if not pattern or pattern.startswith("#") or pattern == "/":
        return None, None
    include = True
    if pattern.startswith("!"):
        include = False
        pattern = pattern[1:]
    if pattern.startswith("\\"):
        pattern = pattern[1:]
    segs = pattern.split("/")
    if not segs[0]:
        del segs[0]
    elif len(segs) == 1 or (len(segs) == 2 and not segs[1]):
        if segs[0] != "**":
            segs.insert(0, "**")
    if not segs[-1] and len(segs) > 1:
        segs[-1] = "**"
    output = ["^"]
    need_slash = False
    end = len(segs) - 1
    for i, seg in enumerate(segs):
        if seg == "**":
            if i == 0 and i == end:
                output.append(".+")
            elif i == 0:
                output.append("(?:.+/)?")
                need_slash = False
            elif i == end:
                output.append("/.*")
            else:
                output.append("(?:/.+)?")
                need_slash = True
        elif seg == "*":
            if need_slash:
                output.append("/")
            output.append("[^/]+")
            need_slash = True
        else:
            if need_slash:
                output.append("/")
            output.append(_segment_glob(seg))
            if i == end and include is True:
                output.append("(?:/.*)?")
            need_slash = True
    output.append("$")
    return "".join(output), include


@dataclass(frozen=True)
class IgnoreSpec:
    """The patterns of one ignore file (or one excludes list), anchored at `base`."""

    base: Path
    patterns: tuple[tuple[re.Pattern[str], bool], ...]
    source: str = ""

    @classmethod
    def from_lines(cls, base: Path, lines: Iterable[str], source: str = "") -> IgnoreSpec:
        compiled = []
        for line in lines:
            regex, include = wildmatch_regex(line)
            if regex is not None and include is not None:
                compiled.append((re.compile(regex), include))
        return cls(base, tuple(compiled), source)

    def matches(self, path: Path) -> bool:
        """Whether `path` is left out by these patterns (the last matching one decides)."""
        try:
            rel = str(path.relative_to(self.base))
        except ValueError:
            return False
        if rel.startswith("./"):
            rel = rel[2:]
        matched = False
        for regex, include in self.patterns:
            if regex.match(rel) is not None:
                matched = include
        return matched


def _ignore_files(folder: Path, include_gitignore: bool) -> list[IgnoreSpec]:
    specs = []
    names = (".gitignore", ".rayignore") if include_gitignore else (".rayignore",)
    for name in names:
        path = folder / name
        if path.is_file():
            try:
                lines = path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            specs.append(IgnoreSpec.from_lines(folder, lines, str(path)))
    return specs


def gitignore_in_force() -> bool:
    return os.environ.get(IGNORE_GITIGNORE_VARIABLE, "0") != "1"


@dataclass(frozen=True)
class Entry:
    path: Path
    rel: str  # posix, relative to the working_dir
    size: int  # bytes; 0 for a folder
    is_dir: bool


def walk(
    root: Path,
    *,
    include: Iterable[str] | None = None,
    excludes: Iterable[str] = (),
    include_gitignore: bool | None = None,
) -> Iterator[Entry]:
    """Every folder and file under `root` that Ray's rules keep (root itself not yielded), in a
    stable order. `include`: only these top-level entries (the cockpit's bundled workloads)."""
    root = Path(root).absolute()
    if include_gitignore is None:
        include_gitignore = gitignore_in_force()
    keep_top = set(include) if include is not None else None
    specs: list[IgnoreSpec] = [IgnoreSpec.from_lines(root, list(excludes), "excludes")]

    entered: set[Path] = set()  # real paths of folders entered: a symlink loop ends here

    def travel(path: Path, top: bool) -> Iterator[Entry]:
        is_dir = path.is_dir()  # as Ray: a link to a folder is followed
        new = _ignore_files(path, include_gitignore) if is_dir else []
        specs.extend(new)
        try:
            if any(spec.matches(path) for spec in specs):
                return
            if path != root:
                rel = path.relative_to(root).as_posix()
                yield Entry(path, rel, 0 if is_dir else _size(path), is_dir)
            real = path.resolve() if is_dir else path
            if not is_dir or real in entered:
                return
            entered.add(real)
            try:
                children = sorted(path.iterdir())
            except OSError:
                children = []
            for child in children:
                if top and keep_top is not None and child.name not in keep_top:
                    continue
                yield from travel(child, False)
        finally:
            for _ in new:
                specs.pop()

    yield from travel(root, True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# -- the working_dir report ----------------------------------------------------------------------


@dataclass(frozen=True)
class DirReport:
    root: Path
    files: int
    raw_bytes: int  # the files' sizes summed
    packed_bytes: int  # the zip the cockpit uploads (deflated); exact when `exact`
    exact: bool  # packed_bytes measured by compressing (done when near or over the limit)
    largest: tuple[tuple[str, int], ...]
    limit: int
    gitignore: bool  # .gitignore files were applied
    ignore_files: tuple[str, ...] = ()

    @property
    def over(self) -> bool:
        return self.packed_bytes > self.limit

    @property
    def close(self) -> bool:
        return not self.over and self.packed_bytes >= CLOSE_FRACTION * self.limit

    def sizes(self) -> str:
        """`1,234 files, 120.0 MiB packed (130.0 MiB of files); largest: a 80.0 MiB, ...`"""
        packed = human_bytes(self.packed_bytes)
        text = (
            f"{self.files:,} file{'s' if self.files != 1 else ''}, "
            f"{packed if self.exact else 'at most ' + packed} packed "
            f"({human_bytes(self.raw_bytes)} of files)"
        )
        if self.largest:
            text += "; largest: " + ", ".join(f"{rel} {human_bytes(n)}" for rel, n in self.largest)
        return text

    def finding(self) -> Finding | None:
        """A warning when near the limit, a refusal when over; None when well under it."""
        limit = human_bytes(self.limit)
        rules = "Ray's excludes and .gitignore applied" if self.gitignore else "Ray's excludes"
        if self.over:
            return Finding(
                "refuse",
                f"working_dir {self.root}: {self.sizes()}; over Ray's upload limit of {limit} "
                f"({rules}): Ray would refuse it. Add large files to .gitignore or .rayignore, "
                "or put them in cloud storage",
            )
        if self.close:
            share = 100 * self.packed_bytes / self.limit
            return Finding(
                "warn",
                f"working_dir {self.root}: {self.sizes()}; {share:.0f}% of Ray's upload limit "
                f"of {limit} ({rules})",
            )
        return None


def _zip_entry_overhead(rel: str, is_dir: bool) -> int:
    """Bytes a zip entry adds besides its data: local header + central directory record."""
    name = len((rel + "/" if is_dir else rel).encode("utf-8"))
    return 30 + name + 46 + name


_DEFLATED: dict[tuple[str, int, int], int] = {}  # (path, size, mtime_ns) -> deflated bytes


def deflated_size(path: Path, chunk: int = 1 << 20) -> int:
    """How many bytes zipfile's ZIP_DEFLATED (zlib level 6, raw) makes of this file; remembered
    per file version, so a form checked again after each key does not read it again."""
    try:
        stat = path.stat()
    except OSError:
        return 0
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DEFLATED:
        if len(_DEFLATED) > 50_000:
            _DEFLATED.clear()
        _DEFLATED[key] = _deflate_count(path, chunk)
    return _DEFLATED[key]


def _deflate_count(path: Path, chunk: int) -> int:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    total = 0
    try:
        with path.open("rb") as handle:
            while data := handle.read(chunk):
                total += len(compressor.compress(data))
    except OSError:
        return 0
    return total + len(compressor.flush())


def scan_working_dir(
    root: Path,
    *,
    include: Iterable[str] | None = None,
    excludes: Iterable[str] = COCKPIT_EXCLUDES,
    limit: int | None = None,
    include_gitignore: bool | None = None,
    measure: Callable[[Path], int] = deflated_size,
) -> DirReport:
    """What the working_dir weighs as shipped. The files are stat'ed; their compressed size is
    measured (read and deflated, as the packer will) only when the uncompressed package would
    reach half the limit: a small folder costs a walk, not a read."""
    root = Path(root).expanduser().absolute()
    limit = upload_limit() if limit is None else limit
    gitignore = gitignore_in_force() if include_gitignore is None else include_gitignore
    entries = list(walk(root, include=include, excludes=excludes, include_gitignore=gitignore))
    files = [e for e in entries if not e.is_dir]
    raw = sum(e.size for e in files)
    overhead = sum(_zip_entry_overhead(e.rel, e.is_dir) for e in entries) + 22
    # deflate grows what it cannot shrink by a little (zlib's deflateBound): the bound holds
    packed, exact = raw + raw // 2048 + 16 * len(files) + overhead, False
    if packed >= CLOSE_FRACTION * limit:
        packed, exact = sum(measure(e.path) for e in files) + overhead, True
    largest = tuple(
        (e.rel, e.size) for e in sorted(files, key=lambda e: (-e.size, e.rel))[:LARGEST]
    )
    ignore_files = tuple(
        sorted(
            e.rel for e in entries if not e.is_dir and e.path.name in (".gitignore", ".rayignore")
        )
    )
    return DirReport(root, len(files), raw, packed, exact, largest, limit, gitignore, ignore_files)


@dataclass
class Preflight:
    """All findings of one form's values; `refused` when one of them stops the submit."""

    findings: list[Finding] = field(default_factory=list)
    working_dir: DirReport | None = None

    @property
    def refused(self) -> Finding | None:
        return next((f for f in self.findings if f.level == "refuse"), None)

    def lines(self) -> list[str]:
        return [("✖ " if f.level == "refuse" else "⚠ ") + f.text for f in self.findings]


def check_request(request: JobRequest, snap: Snapshot | None) -> Preflight:
    """Every check of one launch: its working_dir (walked, and read when near the limit: call it
    off the event loop) and its resources against the snapshot's cluster."""
    result = Preflight()
    if request.package_root is not None and Path(request.package_root).is_dir():
        report = scan_working_dir(request.package_root, include=request.package_include)
        result.working_dir = report
        finding = report.finding()
        if finding is not None:
            result.findings.append(finding)
    result.findings += check_paths(request, snap)
    result.findings += check_resources(
        request.values,
        entrypoint_cpus=request.num_cpus,
        entrypoint_gpus=request.num_gpus,
        entrypoint_memory=request.memory,
        capacity=Capacity.from_snapshot(snap),
    )
    return result
