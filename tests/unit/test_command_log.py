"""The command log: its REST and `ray` CLI lines, parsed by Ray 2.60's own CLI commands (click's
parser, nothing run), with every secret left out."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import httpx
import pytest

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.command_log import (
    CommandLog,
    entrypoint_words,
    launcher_command,
    redact_job_body,
    secret_looking,
    submit_cli,
)
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.launch import job_body

job_cli = pytest.importorskip("ray.dashboard.modules.job.cli")
serve_cli = pytest.importorskip("ray.serve.scripts")

TOKEN = "s3cret-token-0123456789abcdefABCDEF"
ADDRESS = "http://127.0.0.1:8265"


def parse(command, line: str, words_before: int):
    """`line` through Ray's click command, as `ray job submit` would parse it (no run)."""
    words = shlex.split(line)
    return command.make_context(command.name, words[words_before:]).params


def secret_body() -> dict:
    return job_body(
        "python -m workloads.train --epochs 2",
        runtime_env={
            "working_dir": "gcs://_ray_pkg_abc.zip",
            "env_vars": {
                "OMP_NUM_THREADS": "1",
                "HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz",
                "DB_PASSWORD": "hunter2",
                "OPAQUE": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo",
            },
            "pip": ["https://user:ghp_0123456789abcdef@example.com/pkg.whl", "numpy"],
        },
        metadata={
            "raycockpit.spec": "train",
            "api_key": "k",
            # the form's own fields, kept for resubmit: its env vars field holds the secret too
            "raycockpit.options": json.dumps({"env_vars": "HF_TOKEN=hf_abcdefghijklmnop A=1"}),
        },
        num_cpus=0.5,
        memory=2**30,
    )


def test_secret_detection() -> None:
    assert secret_looking("HF_TOKEN", "x")
    assert secret_looking("AWS_SECRET_ACCESS_KEY", "x")
    assert secret_looking("X", "ghp_0123456789")
    assert secret_looking("X", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo")
    assert not secret_looking("OMP_NUM_THREADS", "1")
    assert not secret_looking("DATA", "/home/user/data/very/long/path/to/some/file.csv")


def test_submit_line_is_what_ray_job_submit_parses(tmp_path: Path) -> None:
    shown, left_out = redact_job_body(secret_body())
    assert set(left_out) == {
        "env_vars.HF_TOKEN",
        "env_vars.DB_PASSWORD",
        "env_vars.OPAQUE",
        "pip credentials",
        "metadata.api_key",
        "metadata.raycockpit.options HF_TOKEN",
    }
    (tmp_path / "workloads").mkdir()
    (tmp_path / "README.md").write_text("x")
    line = submit_cli(
        ADDRESS, shown, working_dir=tmp_path, include=("workloads",), excludes=("*.pyc",)
    )
    assert line.startswith("ray job submit ")
    params = parse(job_cli.submit, line, 3)
    assert params["address"] == ADDRESS
    assert params["working_dir"] == str(tmp_path)
    assert shlex.join(params["entrypoint"]) == "python -m workloads.train --epochs 2"
    runtime_env = json.loads(params["runtime_env_json"])
    assert runtime_env == {
        "env_vars": {"OMP_NUM_THREADS": "1"},
        "excludes": ["/README.md", "*.pyc"],
        "pip": ["https://example.com/pkg.whl", "numpy"],
    }
    metadata = json.loads(params["metadata_json"])
    assert metadata["raycockpit.spec"] == "train" and "api_key" not in metadata
    assert json.loads(metadata["raycockpit.options"]) == {"env_vars": "HF_TOKEN=<left out> A=1"}
    assert params["entrypoint_num_cpus"] == 0.5
    assert params["entrypoint_memory"] == 2**30
    for secret in ("hf_abc", "hunter2", "ghp_", "Zm9vYmFy", '"k"'):
        assert secret not in line


def test_entrypoint_with_shell_syntax_goes_through_bash() -> None:
    entrypoint = 'cd sub && python -c "print(1)" | tee out.txt'
    words = entrypoint_words(entrypoint)
    assert words[:2] == ["bash", "-c"]
    line = submit_cli(ADDRESS, {"entrypoint": entrypoint})
    params = parse(job_cli.submit, line, 3)
    # Ray posts shlex.join of the words; the job's shell then runs exactly the entrypoint
    posted = shlex.join(params["entrypoint"])
    assert shlex.split(posted) == ["bash", "-c", entrypoint]
    ran = subprocess.run(["bash", "-c", f"echo {shlex.quote(posted)}"], capture_output=True)
    assert ran.stdout.decode().strip() == posted
    plain = "python -m workloads.core --num-tasks 'x; rm -rf ~'"
    assert (
        shlex.join(
            parse(job_cli.submit, submit_cli(ADDRESS, {"entrypoint": plain}), 3)["entrypoint"]
        )
        == plain
    )


def recording_client(answers: dict[tuple[str, str], httpx.Response]) -> DashboardClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        return answers.get(
            (request.method, request.url.path), httpx.Response(500, text="Traceback: boom")
        )

    return DashboardClient(
        ADDRESS,
        token=TOKEN,
        discover=False,
        transport=httpx.MockTransport(handler),
        command_log=CommandLog(limit=3),
    )


async def test_client_records_each_change_without_the_token() -> None:
    client = recording_client(
        {
            ("POST", "/api/jobs/"): httpx.Response(200, json={"submission_id": "raysubmit_1"}),
            ("POST", "/api/jobs/raysubmit_1/stop"): httpx.Response(200, json={"stopped": True}),
            ("DELETE", "/api/serve/applications/"): httpx.Response(200, text=""),
        }
    )
    async with client:
        assert await client.submit_job_body(secret_body()) == "raysubmit_1"
        assert await client.stop_job("raysubmit_1")
        with pytest.raises(CockpitError):
            await client.delete_job("raysubmit_1")
        await client.delete_serve()
    log = client.command_log
    assert log is not None and len(log) == 3  # bounded: the submit was dropped
    stop, delete, shutdown = log.entries()
    assert (stop.action, stop.ok, stop.result) == ("job stop", True, "ok: stop requested")
    assert parse(job_cli.stop, stop.cli, 3)["job_id"] == "raysubmit_1"
    assert parse(job_cli.stop, stop.cli, 3)["address"] == ADDRESS
    assert stop.rest == "POST /api/jobs/raysubmit_1/stop"
    assert log.stops_requested() == {"raysubmit_1": stop.at}
    assert stop.curl.endswith('-H "Authorization: Bearer $RAY_AUTH_TOKEN"')
    assert not delete.ok and "failed" in delete.result
    assert parse(job_cli.delete, delete.cli, 3)["job_id"] == "raysubmit_1"
    assert parse(serve_cli.shutdown, shutdown.cli, 2)["yes"] is True
    for entry in log.entries():
        for text in (entry.rest, entry.curl, entry.cli, entry.result, entry.full_note):
            assert TOKEN not in text


async def test_submit_entry_keeps_rest_and_cli_apart_from_secrets() -> None:
    client = recording_client(
        {("POST", "/api/jobs/"): httpx.Response(200, json={"submission_id": "raysubmit_2"})}
    )
    async with client:
        await client.submit_job_body(secret_body())
    (entry,) = client.command_log.entries()
    assert entry.result == "ok: raysubmit_2"
    assert entry.rest.startswith("POST /api/jobs/ {")
    assert entry.body["runtime_env"]["working_dir"] == "gcs://_ray_pkg_abc.zip"
    assert "env_vars.HF_TOKEN" in entry.full_note
    curl = shlex.split(entry.curl)
    assert json.loads(curl[curl.index("-d") + 1]) == entry.body
    for text in (entry.rest, entry.curl, entry.cli):
        assert TOKEN not in text and "hunter2" not in text and "hf_abc" not in text


def test_launcher_line() -> None:
    entry = launcher_command(
        ["/venv/bin/ray", "up", "/x/c.yaml", "--log-color", "false", "-y"], False, "exit 1"
    )
    assert entry.cli == "ray up /x/c.yaml --log-color false -y"
    assert (entry.action, entry.target, entry.rest) == ("ray up", "c.yaml", "")


def test_submit_line_ships_the_files_the_cockpit_ships(tmp_path: Path) -> None:
    """Ray's own walker, given the line's --working-dir and excludes, keeps exactly the files
    the cockpit's packer put in the uploaded package."""
    import io
    import zipfile

    packaging = pytest.importorskip("ray._private.runtime_env.packaging")
    from raycockpit.cockpit.packaging import DEFAULT_EXCLUDES, build_package

    for rel in ("workloads/a.py", "workloads/__pycache__/a.pyc", "workloads/x.egg-info/P", "b.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / "workloads" / "run.log").write_text("log")
    package = build_package(tmp_path, include=("workloads",))
    shipped = {
        i.filename for i in zipfile.ZipFile(io.BytesIO(package.data)).infolist() if not i.is_dir()
    }
    line = submit_cli(
        ADDRESS,
        {"entrypoint": "python -m workloads.a"},
        working_dir=tmp_path,
        include=("workloads",),
        excludes=DEFAULT_EXCLUDES,
    )
    params = parse(job_cli.submit, line, 3)
    excludes = json.loads(params["runtime_env_json"])["excludes"]
    kept: set[str] = set()

    def handler(path: Path) -> None:
        if path.is_file():
            kept.add(path.relative_to(tmp_path).as_posix())

    root = Path(params["working_dir"])
    packaging._dir_travel(root, [packaging._get_excludes(root, excludes)], handler, True)
    assert kept == shipped == {"workloads/a.py"}


def test_kept_across_sessions_bounded_and_tolerant(tmp_path: Path) -> None:
    path = tmp_path / "state" / "commands.jsonl"
    first = CommandLog(limit=3, path=path)
    assert len(first) == 0 and first.earlier == 0 and not first.problem  # no file yet: fine
    for i in range(5):
        first.add(launcher_command(["ray", "up", f"c{i}.yaml"], True, "ok", at=1000.0 + i))
    assert [c.target for c in first.entries()] == ["c2.yaml", "c3.yaml", "c4.yaml"]
    # 5 appended, then the 7th line would pass 2 x 3: rewritten to the kept 3, then appended
    assert len(path.read_text().splitlines()) == 5
    first.add(launcher_command(["ray", "up", "c5.yaml"], True, "ok", at=1005.0))
    first.add(launcher_command(["ray", "up", "c6.yaml"], False, "exit 1", at=1006.0))
    assert len(path.read_text().splitlines()) == 3
    with path.open("a") as out:  # a torn or foreign line is skipped, the rest read back
        out.write('{"at": "x"\nnot json\n[1]\n{"action": "ray up"}\n')
    later = CommandLog(limit=3, path=path)
    assert [(c.target, c.ok) for c in later.entries()] == [
        ("c4.yaml", True),
        ("c5.yaml", True),
        ("c6.yaml", False),
    ]
    assert later.earlier == 3 and later.entries()[2] == first.entries()[2]  # same entry back
    assert later.entries()[0].when.startswith("1970-01-01")  # another day: with its date


def test_a_file_that_cannot_be_written_leaves_the_log_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    log = CommandLog(path=blocker / "commands.jsonl")
    log.add(launcher_command(["ray", "down", "c.yaml"], True, "ok"))
    log.add(launcher_command(["ray", "down", "d.yaml"], True, "ok"))
    assert len(log) == 2 and log.problem.endswith("(Not a directory): kept for this session")
