"""`raycockpit config check FILE` (the cluster-config doctor, cluster_doctor.py) and
`raycockpit config migrate FILE [--provider P] [-o OUT]` (cluster_migrate.py) in the shell.

Exit 0 when the file is clean, 1 with problems (one line each: key path, what is wrong, the fix),
2 when the file cannot be read or is not YAML.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from raycockpit.cockpit import cluster_doctor, cluster_migrate, kuberay

EXIT_CLEAN, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="raycockpit config", description="Check Ray cluster-launcher configs (ray up YAML)."
    )
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser(
        "check",
        help="check a cluster YAML against the installed Ray's schema and ray up's own rules",
    )
    check.add_argument("file", help="the cluster config (YAML)")
    migrate = sub.add_parser(
        "migrate", help="rewrite an old cluster config in Ray 2.60's form (stdout by default)"
    )
    migrate.add_argument("file", help="the old cluster config (YAML)")
    migrate.add_argument(
        "--provider",
        choices=cluster_migrate.PROVIDERS,
        default="aws",
        help="the provider to write when the file names none (default aws)",
    )
    migrate.add_argument("-o", "--output", help="write here instead of to stdout")
    return p


def run_check(path: Path, out=None) -> int:
    result = cluster_doctor.report(path)
    if result.unreadable:
        print(f"raycockpit config check: {result.unreadable}", file=sys.stderr)
    else:
        print("\n".join(result.lines), file=out or sys.stdout)
    return result.exit_code


def _write_out(text: str, output: str | None, command: str) -> bool:
    """Write `text` to the file `output`, or to stdout when there is none. A file that cannot be
    written is one line on stderr naming it and why (False: the caller exits 2)."""
    if not output:
        sys.stdout.write(text)
        return True
    try:
        Path(output).write_text(text)
    except OSError as exc:
        print(f"{command}: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return False
    return True


def run_migrate(path: Path, provider: str, output: str | None) -> int:
    try:
        cluster_doctor.load(path)  # the same reading errors as check, said the same way
        text, notes = cluster_migrate.migrate(path.read_text(), provider)
    except (cluster_doctor.Unreadable, ValueError) as exc:
        print(f"raycockpit config migrate: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if not _write_out(text, output, "raycockpit config migrate"):
        return EXIT_UNREADABLE
    if output:
        for note in notes:
            print(f"  {note}", file=sys.stderr)
        print(f"wrote {output}; check it with: raycockpit config check {output}", file=sys.stderr)
    return EXIT_CLEAN


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return run_check(Path(args.file))
    if args.command == "migrate":
        return run_migrate(Path(args.file), args.provider, args.output)
    return EXIT_UNREADABLE  # argparse refuses unknown commands before this


def build_k8s_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="raycockpit k8s", description="KubeRay manifests.")
    sub = p.add_subparsers(dest="command", required=True)
    manifest = sub.add_parser(
        "manifest",
        help="a ray.io/v1 RayCluster from a cluster config or an older RayCluster manifest",
    )
    manifest.add_argument("file", help="a (migrated) cluster config, or a RayCluster manifest")
    manifest.add_argument("-o", "--output", help="write here instead of to stdout")
    manifest.add_argument(
        "--ray-version", help="the cluster's Ray version (default: the installed Ray's)"
    )
    return p


def run_manifest(path: Path, output: str | None, version: str | None) -> int:
    try:
        source = cluster_doctor.load(path)
        version = version or kuberay.installed_ray_version()
        if "apiVersion" in source and "kind" in source:
            doc = kuberay.upgrade_manifest(source, version)
        else:
            doc = kuberay.from_cluster_config(source, version)
    except (cluster_doctor.Unreadable, ValueError) as exc:
        print(f"raycockpit k8s manifest: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    text = yaml.safe_dump(doc, sort_keys=False)
    if not _write_out(text, output, "raycockpit k8s manifest"):
        return EXIT_UNREADABLE
    problems = kuberay.check_manifest(doc)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    name = doc["metadata"]["name"]
    print(
        f"then: kubectl apply -f {output or '<this file>'}; "
        f"kubectl port-forward svc/{name}-head-svc 8265:8265; "
        "raycockpit --address http://127.0.0.1:8265",
        file=sys.stderr,
    )
    return EXIT_PROBLEMS if problems else EXIT_CLEAN


def k8s_main(argv: list[str]) -> int:
    args = build_k8s_parser().parse_args(argv)
    return run_manifest(Path(args.file), args.output, args.ray_version)
