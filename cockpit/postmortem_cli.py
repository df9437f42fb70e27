"""`raycockpit postmortem [list | show ID]`: the kept post-mortems (postmortem.py), for people and
scripts, read from the folder alone: no cluster is asked, so they open after it is gone.

Exit 0 on success, 1 when `show` finds no bundle of that name, 2 when the settings are bad.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from raycockpit.cockpit import postmortem
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.format import local_time

EXIT_OK, EXIT_NOT_FOUND, EXIT_BAD = 0, 1, 2
WHAT_WIDTH, WHY_WIDTH = 40, 60


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="raycockpit postmortem",
        description="Post-mortems the cockpit kept of failed jobs and dead nodes (no cluster "
        "needed).",
    )
    p.add_argument("--dir", help="the post-mortem folder (default: the settings' postmortem_dir)")
    p.add_argument("--config", help="settings file (default ~/.config/raycockpit/cockpit.yaml)")
    sub = p.add_subparsers(dest="command")
    listing = sub.add_parser("list", help="one line per post-mortem, newest first (the default)")
    listing.add_argument("--json", action="store_true", help="JSON: a list of their meta.json")
    show = sub.add_parser("show", help="one post-mortem: what failed, why, its info and log")
    show.add_argument("id", help="its job or node id, its folder name, or the start of one")
    show.add_argument("--json", action="store_true", help="JSON: meta, job info, node, snapshot")
    show.add_argument("--log", action="store_true", help="print only the job's log")
    return p


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def list_text(bundles: list[postmortem.Bundle]) -> str:
    rows = [
        [
            local_time(b.created_at),
            b.kind,
            b.key,
            b.status,
            _clip(b.title, WHAT_WIDTH),
            _clip(b.why_text, WHY_WIDTH),
        ]
        for b in bundles
    ]
    headers = ["TIME", "KIND", "ID", "STATUS", "WHAT", "WHY"]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [headers, *rows]
    ]
    return "\n".join(lines) + "\n"


def _why_lines(whys: tuple[dict[str, Any], ...]) -> list[str]:
    lines = []
    for i, why in enumerate(whys):
        title = "why" if i == 0 else f"also ({why.get('about', '')})"
        category = f" [{why['category']}]" if why.get("category") else ""
        lines.append(f"{title}:{category} {why.get('reason', '')}")
        if why.get("fix"):
            lines.append(f"  fix: {why['fix']}")
        for line in why.get("evidence") or ():
            lines.append(f"  - {line}")
    return lines


def show_text(contents: postmortem.Contents) -> str:
    b = contents.bundle
    lines = [
        f"post-mortem {b.bundle_id}  kept {local_time(b.created_at)}",
        f"{b.kind} {b.key}  {b.status}  on {b.address or '?'} (Ray {b.ray_version or '?'})",
    ]
    if b.title:
        lines.append(f"what: {b.title}")
    if b.message.strip():
        lines.append(f"message: {postmortem.message_head(b.message)}")
    lines += _why_lines(b.whys)
    if b.job_info_error:
        lines.append(f"(job info from the snapshot: {b.job_info_error})")
    info = contents.job_info if b.kind == "job" else contents.node
    if info is not None:
        lines += ["", f"== {'Job' if b.kind == 'job' else 'Node'} info", json.dumps(info, indent=2)]
    if b.kind == "job":
        size = "" if b.log_bytes is None else f" ({b.log_bytes} bytes)"
        lines += ["", f"== Log{size}"]
        if contents.log is None or (b.log_error and not contents.log):
            lines.append(f"(no log kept: {b.log_error or 'log.txt is missing'})")
        else:
            lines.append(contents.log.rstrip("\n"))
    lines += ["", f"folder: {b.path} (snapshot.json: the cluster at that moment)"]
    return "\n".join(lines) + "\n"


def _folder(args: argparse.Namespace) -> Path:
    if args.dir:
        return Path(args.dir).expanduser()
    settings = Settings.load(path=Path(args.config) if args.config else None)
    return postmortem.folder_for(settings.postmortem_dir)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        folder = _folder(args)
    except ValueError as exc:
        for line in str(exc).splitlines():
            print(f"raycockpit postmortem: {line}", file=sys.stderr)
        return EXIT_BAD
    if args.command in (None, "list"):
        bundles = postmortem.list_bundles(folder)
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps([b.meta for b in bundles], indent=2) + "\n")
        elif not bundles:
            print(f"no post-mortems in {folder}")
        else:
            sys.stdout.write(list_text(bundles))
        return EXIT_OK
    bundle = postmortem.find(folder, args.id)
    if bundle is None:
        print(
            f"raycockpit postmortem: no post-mortem {args.id!r} in {folder} "
            "(raycockpit postmortem list shows them)",
            file=sys.stderr,
        )
        return EXIT_NOT_FOUND
    contents = postmortem.read(bundle)
    if args.json:
        data = {
            "meta": bundle.meta,
            "job": contents.job_info,
            "node": contents.node,
            "log": contents.log,
            "snapshot": contents.snapshot,
            "folder": str(bundle.path),
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif args.log:
        sys.stdout.write(contents.log or "")
    else:
        sys.stdout.write(show_text(contents))
    return EXIT_OK
