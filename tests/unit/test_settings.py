"""The settings file and the flags over it are validated (pydantic, strict): each mistake is one
line naming the file, the key, the bad value and what is expected; exit 2; never a traceback."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from raycockpit.cockpit.cli import main
from raycockpit.cockpit.config import REPO_ROOT, Settings, remember_setting

RAYCOCKPIT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "raycockpit"


@pytest.fixture(autouse=True)
def _no_cluster_around(monkeypatch):
    """Nothing here may reach a dashboard or start a head: a valid file ends at 'no dashboard'."""
    monkeypatch.setattr(
        "raycockpit.cockpit.cli.dashboard_answers", lambda address, timeout=1.0: False
    )
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


def run_with(tmp_path, capsys, text: str, *flags: str) -> tuple[int, list[str]]:
    """`raycockpit --config FILE --once FLAGS` with FILE holding `text`: (exit code, stderr
    lines)."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code = main(["--config", str(path), "--once", *flags])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.splitlines()


def test_wrong_type(tmp_path, capsys):
    code, lines = run_with(tmp_path, capsys, "refresh: fast\n")
    assert code == 2
    assert lines == [
        (
            f"raycockpit: settings {tmp_path / 'bad.yaml'}: refresh = 'fast': "
            "expected a number of seconds > 0 and <= 3600"
        )
    ]
    for text, key, value in [
        ("log_max_lines: lots\n", "log_max_lines", "'lots'"),
        ("keep_cluster: maybe\n", "keep_cluster", "'maybe'"),
        ("address: 8265\n", "address", "8265"),
        ("refresh: '2'\n", "refresh", "'2'"),  # a quoted number is a string
        ("log_max_lines: 20000.5\n", "log_max_lines", "20000.5"),
        ("ssh_options: -J bastion\n", "ssh_options", "'-J bastion'"),
    ]:
        code, lines = run_with(tmp_path, capsys, text)
        assert code == 2 and len(lines) == 1, (text, lines)
        assert re.fullmatch(
            rf"raycockpit: settings \S+: {key} = {re.escape(value)}: expected .+", lines[0]
        )


def test_out_of_range(tmp_path, capsys):
    for text, key, expected in [
        ("refresh: -1\n", "refresh", "> 0 and <= 3600"),
        ("refresh: 0\n", "refresh", "> 0"),
        ("refresh: .inf\n", "refresh", "<= 3600"),
        ("request_timeout: 0\n", "request_timeout", "> 0"),
        ("log_max_lines: 5\n", "log_max_lines", "100..10000000"),
        ("remote_dashboard: 70000\n", "remote_dashboard", "1..65535"),
    ]:
        code, lines = run_with(tmp_path, capsys, text)
        assert code == 2 and len(lines) == 1, (text, lines)
        assert f": {key} = " in lines[0] and expected in lines[0]


def test_unknown_key_with_a_suggestion(tmp_path, capsys):
    code, lines = run_with(tmp_path, capsys, "refrsh: 5\n")
    assert code == 2
    assert lines == [
        f"raycockpit: settings {tmp_path / 'bad.yaml'}: "
        "unknown key 'refrsh' (did you mean 'refresh'?)"
    ]
    code, lines = run_with(tmp_path, capsys, "colour: blue\n")  # nothing close: the known keys
    assert code == 2 and len(lines) == 1
    assert (
        "unknown key 'colour' (known keys: address, " in lines[0]
        and "contexts, context, postmortem_dir, postmortem_keep, record_max_mb, theme)" in lines[0]
    )


def test_bad_values_inside_keys(tmp_path, capsys):
    code, lines = run_with(tmp_path, capsys, "keys: [a, b]\n")
    assert code == 2 and len(lines) == 1
    assert "keys = ['a', 'b']: expected a mapping of binding id to key" in lines[0]
    code, lines = run_with(
        tmp_path, capsys, "keys:\n  app.quit: 1\n  pane.jobs: ''\n  app.keys: f1\n"
    )
    assert code == 2 and len(lines) == 2
    assert "keys['app.quit'] = 1: expected a key string" in lines[0]
    assert "keys['pane.jobs'] = '': expected a key string" in lines[1]
    code, lines = run_with(tmp_path, capsys, "keys:\n  3: j\n")
    assert (
        code == 2
        and len(lines) == 1
        and "keys[3]: binding id 3: expected a non-empty string" in lines[0]
    )


def test_not_a_mapping(tmp_path, capsys):
    code, lines = run_with(tmp_path, capsys, "- refresh\n- 2\n")
    assert code == 2
    assert lines == [
        (
            f"raycockpit: settings {tmp_path / 'bad.yaml'}: expected a mapping of keys to values, "
            "got list ['refresh', 2]"
        )
    ]


def test_unreadable_yaml(tmp_path, capsys):
    code, lines = run_with(tmp_path, capsys, "refresh: 2\nkeys: {app.quit: [ctrl+q\n")
    assert code == 2 and len(lines) == 1  # PyYAML's several-line message, as one line
    assert lines[0].startswith(
        f"raycockpit: cannot read settings {tmp_path / 'bad.yaml'}: line 3, column 1: "
    )


def test_several_problems_at_once_in_the_files_order(tmp_path, capsys):
    code, lines = run_with(
        tmp_path,
        capsys,
        "refrsh: 1\nkeep_cluster: maybe\nrefresh: fast\n"
        "keys: {app.quit: 2}\nworkloads_dirs: [a, [b]]\n",
    )
    assert code == 2
    assert [line.split(": ", 2)[2] for line in lines] == [
        "unknown key 'refrsh' (did you mean 'refresh'?)",
        "keep_cluster = 'maybe': expected true or false",
        "refresh = 'fast': expected a number of seconds > 0 and <= 3600",
        "keys['app.quit'] = 2: expected a key string, e.g. 'ctrl+q' (several: 'ctrl+q,f10')",
        "workloads_dirs[1] = ['b']: expected a folder path string",
    ]


def test_a_long_value_is_shortened(tmp_path, capsys):
    code, lines = run_with(tmp_path, capsys, f"log_max_lines: {'x' * 500}\n")
    assert (
        code == 2
        and len(lines) == 1
        and "log_max_lines = 'xxxx" in lines[0]
        and "xxx...: expected" in lines[0]
    )
    assert (
        len(lines[0].split(" = ", 1)[1].split(": expected")[0]) == 60
    )  # the repr, cut to 60 characters


def test_flag_out_of_range(tmp_path, capsys):
    code, lines = run_with(tmp_path, capsys, "refresh: 5\n", "--refresh", "0")
    assert code == 2
    assert lines == ["raycockpit: --refresh = 0.0: expected a number of seconds > 0 and <= 3600"]
    code, lines = run_with(tmp_path, capsys, "refresh: 5\n", "--refresh", "nan")
    assert (
        code == 2
        and len(lines) == 1
        and lines[0].startswith("raycockpit: --refresh = nan: expected")
    )


def test_good_values_and_flags_pass(tmp_path, capsys):
    """A valid file and valid flags get past the settings (to 'no dashboard', as nothing runs)."""
    code, lines = run_with(
        tmp_path,
        capsys,
        "refresh: 1\nkeep_cluster: yes\nssh_options: [-p, 2222]\n",
        "--refresh",
        "0.5",
        "--readonly",
    )
    assert code == 2 and len(lines) == 1 and "no Ray dashboard answers" in lines[0]
    path = tmp_path / "bad.yaml"
    s = Settings.load(path)
    assert (s.refresh, s.keep_cluster, s.ssh_options) == (1.0, True, ("-p", "2222"))
    s = s.updated({"refresh": 0.5, "readonly": True})
    assert (s.refresh, s.readonly, s.keep_cluster) == (0.5, True, True)
    with pytest.raises(ValueError, match=r"^--refresh = -2: expected"):
        s.updated({"refresh": -2}, names={"refresh": "--refresh"})


def test_the_model_in_python():
    """Settings(...) keeps working from code, tuples stay tuples; it is frozen and validated."""
    s = Settings(refresh=3600, keys={"pane.jobs": "j"}, workloads_dirs=("a",), ssh_options=["-v"])
    assert s.refresh == 3600.0 and s.workloads_dirs == ("a",) and s.ssh_options == ("-v",)
    assert s == Settings(
        refresh=3600.0, keys={"pane.jobs": "j"}, workloads_dirs=("a",), ssh_options=("-v",)
    )
    with pytest.raises(ValueError):
        s.refresh = 1  # type: ignore[misc]
    with pytest.raises(ValueError):
        Settings(refresh=0)
    with pytest.raises(ValueError):
        Settings(refrsh=1)  # type: ignore[call-arg]


def test_missing_or_empty_file_gives_the_defaults(tmp_path, monkeypatch):
    assert Settings.load(tmp_path / "missing.yaml") == Settings()
    (tmp_path / "empty.yaml").write_text("# nothing set\n")
    assert Settings.load(tmp_path / "empty.yaml") == Settings()
    (tmp_path / "env.yaml").write_text("refresh: 7\n")
    monkeypatch.setenv(
        "RAYCOCKPIT_CONFIG", str(tmp_path / "env.yaml")
    )  # the environment names the file
    assert Settings.load().refresh == 7.0


def test_the_shipped_example_documents_every_key_with_its_default():
    example = REPO_ROOT / "configs" / "cockpit.yaml"
    assert Settings.load(example) == Settings()
    text = example.read_text()
    for key in Settings.model_fields:
        assert re.search(rf"^(# )?{key}:", text, re.MULTILINE), (
            f"configs/cockpit.yaml does not document {key}"
        )
    # the commented-out examples are valid too
    uncommented = re.sub(r"^# (\w+:)", r"\1", text, flags=re.MULTILINE)
    s = Settings.model_validate(__import__("yaml").safe_load(uncommented))
    assert s.address and s.ssh and s.ssh_key


def test_the_console_script_reports_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("refresh: fast\n")
    done = subprocess.run(
        [str(RAYCOCKPIT), "--config", "bad.yaml", "--once"],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "raycockpit: settings bad.yaml: refresh = 'fast': "
        "expected a number of seconds > 0 and <= 3600\n"
    )


def test_a_kept_choice_replaces_its_line_and_leaves_the_rest(tmp_path):
    path = tmp_path / "cockpit.yaml"
    path.write_text("# mine\nrefresh: 5   # fast\ntheme: nord  # old\nkeys: {app.quit: ctrl+q}\n")
    remember_setting(path, "theme", "dracula")
    assert path.read_text() == (
        "# mine\nrefresh: 5   # fast\ntheme: dracula\nkeys: {app.quit: ctrl+q}\n"
    )
    assert Settings.load(path).theme == "dracula"


def test_a_kept_choice_is_added_or_makes_the_file(tmp_path):
    path = tmp_path / "new" / "cockpit.yaml"  # neither the file nor its folder yet
    remember_setting(path, "theme", "nord")
    assert path.read_text() == "theme: nord\n"
    path.write_text("refresh: 5\n")
    remember_setting(path, "theme", "gruvbox")
    assert Settings.load(path) == Settings(refresh=5.0, theme="gruvbox")


def test_a_linked_settings_file_stays_a_link(tmp_path):
    real = tmp_path / "dotfiles" / "cockpit.yaml"
    real.parent.mkdir()
    real.write_text("refresh: 5\n")
    link = tmp_path / "cockpit.yaml"
    link.symlink_to(real)
    remember_setting(link, "theme", "nord")
    assert link.is_symlink() and Settings.load(real).theme == "nord"


def test_a_choice_that_cannot_be_kept_leaves_the_file_and_says_what_to_write(tmp_path):
    path = tmp_path / "cockpit.yaml"
    odd = "theme:\n  name: nord\n"  # not one simple line: left to its owner
    path.write_text(odd)
    with pytest.raises(ValueError, match="write `theme: dracula` in it yourself"):
        remember_setting(path, "theme", "dracula")
    assert path.read_text() == odd
    blocked = tmp_path / "a-file"  # where the folder should be (root may write anywhere else)
    blocked.write_text("x")
    with pytest.raises(ValueError, match="cannot write"):
        remember_setting(blocked / "cockpit.yaml", "theme", "nord")
    assert blocked.read_text() == "x"
