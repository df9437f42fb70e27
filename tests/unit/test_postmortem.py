"""Post-mortems (cockpit/postmortem.py, postmortem_cli.py): which transitions make a bundle, the
bundle on disk (atomic, once, bounded), listing and reading it back, the CLI's text."""

from __future__ import annotations

import json
import os
import time

from raycockpit.cockpit import postmortem, postmortem_cli
from raycockpit.cockpit.models import ClusterInfo, Job, Node, Snapshot
from raycockpit.cockpit.report import snapshot_dict

ADDRESS = "http://127.0.0.1:8265"


def job(key: str, status: str, **kw) -> Job:
    return Job(key, "", "SUBMISSION", status, f"python {key}.py", **kw)


def node(node_id: str, state: str, message: str = "") -> Node:
    return Node(node_id, f"host-{node_id}", "10.0.0.2", False, state, state_message=message)


def snap(jobs=(), nodes=(), *, address=ADDRESS, session="s1", listed=True, connected=True):
    return Snapshot(
        info=ClusterInfo(address, ray_version="2.60.0", session_name=session),
        fetched_at=1000.0,
        jobs=tuple(jobs),
        nodes=tuple(nodes),
        updated_at={"jobs": 1000.0} if listed else {},
        connected=connected,
    )


# -- which transitions -----------------------------------------------------------------------------


def test_a_job_that_turns_failed_is_one_failure_and_only_once():
    before = snap([job("a", "RUNNING"), job("b", "RUNNING"), job("c", "FAILED")])
    after = snap([job("a", "FAILED"), job("b", "SUCCEEDED"), job("c", "FAILED")])
    found = postmortem.failures(before, after)
    assert [(f.kind, f.key) for f in found] == [("job", "a")]
    assert found[0].bundle_id == "job-a" and found[0].title == "python a.py"
    assert postmortem.failures(after, after) == []  # the same section object: not looked at
    again = snap([job("a", "FAILED"), job("b", "SUCCEEDED"), job("c", "FAILED")])
    assert again.jobs is not after.jobs
    assert postmortem.failures(after, again) == []  # FAILED -> FAILED: nothing new


def test_a_job_that_failed_between_two_polls_counts_but_old_failures_do_not():
    before = snap([job("a", "RUNNING")])
    after = snap([job("new", "FAILED"), job("a", "RUNNING")])
    assert [f.key for f in postmortem.failures(before, after)] == ["new"]
    # the first snapshot, one whose job list never came, another cluster, a new session,
    # a snapshot while disconnected: the FAILED jobs listed are failures of old
    assert postmortem.failures(None, after) == []
    assert postmortem.failures(snap(listed=False), after) == []
    assert postmortem.failures(snap(address="http://other:8265"), after) == []
    assert postmortem.failures(snap(session="s0"), after) == []
    assert postmortem.failures(before, snap([job("a", "FAILED")], connected=False)) == []


def test_a_node_that_dies_is_a_failure_with_its_reason():
    before = snap(nodes=[node("n1", "ALIVE"), node("n2", "DEAD")])
    after = snap(nodes=[node("n1", "DEAD", "raylet died"), node("n2", "DEAD")])
    (found,) = postmortem.failures(before, after)
    assert (found.kind, found.key, found.bundle_id) == ("node", "n1", "node-n1")
    assert postmortem.failures(after, after) == []


def test_bundle_ids_are_safe_folder_names():
    assert postmortem.bundle_id("job", "raysubmit_AbC-1.2") == "job-raysubmit_AbC-1.2"
    assert postmortem.bundle_id("job", "../../etc/x y") == "job-_.._etc_x_y"  # no slash
    assert postmortem.bundle_id("job", "..") == "job-_"


# -- why ---------------------------------------------------------------------------------------


def test_report_whys_name_what_they_explain():
    report = {
        "jobs": [
            {"submission_id": "j1", "job_id": "01", "why": {"reason": "r1", "fix": "f1"}},
            {"submission_id": "j2", "why": None},
        ],
        "serve": {"apps": [{"name": "app", "why": {"dep": {"reason": "r2", "fix": "f2"}}}]},
        "pending": {
            "actors": [{"actor_id": "A", "job_id": "01", "why": {"reason": "r3", "fix": "f3"}}],
            "tasks": [{"task_id": "T", "job_id": "01", "why": {"reason": "r4", "fix": "f4"}}],
            "placement_groups": [{"placement_group_id": "P", "why": {"reason": "r5"}}],
        },
    }
    assert [(w["about"], w["reason"]) for w in postmortem.report_whys(report)] == [
        ("job:j1", "r1"),
        ("serve:app/dep", "r2"),
        ("actor:A", "r3"),
        ("task:T", "r4"),
        ("pg:P", "r5"),
    ]
    mine = postmortem.whys_for(postmortem.job_failure(job("j1", "FAILED")), report)
    assert mine[0]["about"] == "job:j1" and len(mine) == 5
    other = postmortem.whys_for(postmortem.job_failure(job("zz", "FAILED")), report)
    assert other[0]["about"] == "job:zz" and other[0]["source"] == "ray"
    assert [w["about"] for w in other[1:]] == [
        "job:j1",
        "serve:app/dep",
        "actor:A",
        "task:T",
        "pg:P",
    ]


def test_without_an_explanation_the_failure_is_said_in_rays_own_words():
    failed = job("j", "FAILED", message="Job entrypoint command failed with exit code 3",
                 error_type="JOB_ENTRYPOINT_COMMAND_ERROR", driver_exit_code=3)  # fmt: skip
    why = postmortem.own_why(postmortem.job_failure(failed))
    assert why["reason"] == "the entrypoint exited with code 3"
    assert "error type JOB_ENTRYPOINT_COMMAND_ERROR" in why["evidence"]
    assert why["short"] == "exit code 3"
    ray_message = (
        "Job entrypoint command failed with exit code 1, last available logs (truncated to "
        "20,000 chars):\nTraceback (most recent call last):\nValueError: bad\n"
    )
    assert postmortem.message_head(ray_message) == "Job entrypoint command failed with exit code 1"
    log = "Traceback (most recent call last):\n  File x\nValueError: bad\n\n"
    why = postmortem.own_why(postmortem.job_failure(failed), log)
    assert why["short"] == "exit code 3: ValueError: bad"
    assert "the log ends with: ValueError: bad" in why["evidence"]
    quiet = postmortem.own_why(postmortem.job_failure(job("q", "FAILED")))
    assert quiet["reason"] == "Ray gives no message for this failure"
    died = postmortem.Failure("node", "n1", node=node("n1", "DEAD", "Unexpected termination"))
    assert postmortem.own_why(died)["reason"] == "the node died: Unexpected termination"


# -- the folder --------------------------------------------------------------------------------


def test_default_folder_follows_xdg_state_home_and_the_setting(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path)}
    assert postmortem.default_folder(env) == tmp_path / "raycockpit" / "postmortems"
    assert postmortem.folder_for(None, env) == tmp_path / "raycockpit" / "postmortems"
    assert postmortem.folder_for(str(tmp_path / "pm"), env) == tmp_path / "pm"
    assert str(postmortem.default_folder({})).endswith(".local/state/raycockpit/postmortems")


def test_a_job_bundle_holds_info_whole_log_snapshot_and_why_and_is_written_once(tmp_path):
    failed = job("raysubmit_1", "FAILED", message="exit code 3", driver_exit_code=3)
    shot = snap([failed])
    info = {"submission_id": "raysubmit_1", "status": "FAILED", "message": "exit code 3"}
    log = "".join(f"line {i}\n" for i in range(5000)) + "boom\n"
    fail = postmortem.job_failure(failed)
    path = postmortem.write(tmp_path, fail, shot, job_info=info, log=log, now=100.0)
    assert path == tmp_path / "job-raysubmit_1"
    assert sorted(p.name for p in path.iterdir()) == [
        "job.json",
        "log.txt",
        "meta.json",
        "snapshot.json",
    ]
    assert (path / "log.txt").read_text() == log  # whole, not a tail
    assert json.loads((path / "job.json").read_text()) == info
    assert json.loads((path / "snapshot.json").read_text()) == snapshot_dict(shot)
    meta = json.loads((path / "meta.json").read_text())
    assert meta["kind"] == "job" and meta["id"] == "raysubmit_1" and meta["created_at"] == 100.0
    assert meta["why"][0]["reason"] == "the entrypoint exited with code 3"
    assert meta["log_bytes"] == len(log) and meta["status"] == "FAILED"
    assert oct(path.stat().st_mode & 0o777) == "0o755"
    # never twice: a second write of the same failure leaves the first alone
    assert postmortem.write(tmp_path, fail, shot, job_info={}, log="other", now=200.0) is None
    assert (path / "log.txt").read_text() == log
    assert postmortem.exists(tmp_path, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["job-raysubmit_1"]  # no temporary left


def test_a_bundle_without_the_cluster_keeps_the_snapshots_row_and_says_why(tmp_path):
    failed = job("j", "FAILED", message="m")
    path = postmortem.write(
        tmp_path,
        postmortem.job_failure(failed),
        snap([failed]),
        log_error="the dashboard did not answer",
        job_info_error="the dashboard did not answer",
    )
    assert path is not None
    assert json.loads((path / "job.json").read_text())["submission_id"] == "j"
    (bundle,) = postmortem.list_bundles(tmp_path)
    assert bundle.log_error == "the dashboard did not answer" and bundle.log_bytes is None
    assert postmortem.read(bundle).log == ""


def test_a_node_bundle_has_the_node_and_its_death_reason(tmp_path):
    dead = node("n1", "DEAD", "Unexpected termination: health check failed")
    fail = postmortem.Failure("node", "n1", node=dead)
    path = postmortem.write(tmp_path, fail, snap(nodes=[dead]))
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "node.json", "snapshot.json"]
    saved = json.loads((path / "node.json").read_text())
    assert saved["hostname"] == "host-n1"
    assert saved["death_reason"] == "Unexpected termination: health check failed"
    (bundle,) = postmortem.list_bundles(tmp_path)
    assert bundle.status == "DEAD" and bundle.title == "node host-n1 (10.0.0.2)"


def test_the_folder_keeps_the_newest_and_drops_the_oldest(tmp_path):
    for i in range(5):
        failed = job(f"j{i}", "FAILED")
        postmortem.write(
            tmp_path, postmortem.job_failure(failed), snap([failed]), log="", keep=3, now=10.0 + i
        )
    assert [b.key for b in postmortem.list_bundles(tmp_path)] == ["j4", "j3", "j2"]
    assert postmortem.prune(tmp_path, 1) == ["job-j3", "job-j2"]
    assert [b.key for b in postmortem.list_bundles(tmp_path)] == ["j4"]


def test_listing_skips_temporaries_and_unreadable_bundles_and_prune_clears_dead_writers(tmp_path):
    failed = job("ok", "FAILED")
    postmortem.write(tmp_path, postmortem.job_failure(failed), snap([failed]), log="x")
    (tmp_path / "job-broken").mkdir()
    (tmp_path / "job-broken" / "meta.json").write_text("{not json")
    stale = tmp_path / ".tmp-job-x-abc"
    fresh = tmp_path / ".tmp-job-y-def"
    stale.mkdir()
    fresh.mkdir()
    old = time.time() - 2 * postmortem.TMP_STALE_S
    os.utime(stale, (old, old))
    assert [b.key for b in postmortem.list_bundles(tmp_path)] == ["ok"]
    postmortem.prune(tmp_path, 10)
    assert not stale.exists() and fresh.exists()
    assert postmortem.list_bundles(tmp_path / "missing") == []


def test_find_by_folder_name_id_or_unique_start(tmp_path):
    for key in ("raysubmit_aa1", "raysubmit_ab2"):
        failed = job(key, "FAILED")
        postmortem.write(tmp_path, postmortem.job_failure(failed), snap([failed]), log="")
    assert postmortem.find(tmp_path, "raysubmit_aa1").key == "raysubmit_aa1"
    assert postmortem.find(tmp_path, "job-raysubmit_ab2").key == "raysubmit_ab2"
    assert postmortem.find(tmp_path, "raysubmit_ab").key == "raysubmit_ab2"
    assert postmortem.find(tmp_path, "raysubmit_a") is None  # two start so
    assert postmortem.find(tmp_path, "../x") is None
    assert postmortem.find(tmp_path, "nope") is None


# -- raycockpit postmortem -----------------------------------------------------------------------


def test_cli_list_and_show_read_the_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("RAYCOCKPIT_CONFIG", str(tmp_path / "none.yaml"))
    folder = tmp_path / "raycockpit" / "postmortems"
    assert postmortem_cli.main(["list"]) == 0
    assert capsys.readouterr().out == f"no post-mortems in {folder}\n"
    failed = job("raysubmit_9", "FAILED", message="exit code 3", driver_exit_code=3)
    postmortem.write(
        folder,
        postmortem.job_failure(failed),
        snap([failed]),
        job_info={"submission_id": "raysubmit_9", "status": "FAILED"},
        log="hello\nboom\n",
    )
    assert postmortem_cli.main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["TIME", "KIND", "ID", "STATUS", "WHAT", "WHY"]
    assert "raysubmit_9" in out[1] and "FAILED" in out[1] and "python raysubmit_9.py" in out[1]
    assert out[1].endswith("exit code 3: boom")
    assert postmortem_cli.main(["show", "raysubmit_9"]) == 0
    shown = capsys.readouterr().out
    assert "why: [failed] the entrypoint exited with code 3" in shown
    assert '"submission_id": "raysubmit_9"' in shown
    assert "== Log (11 bytes)\nhello\nboom\n" in shown
    assert postmortem_cli.main(["show", "raysubmit_9", "--log"]) == 0
    assert capsys.readouterr().out == "hello\nboom\n"
    assert postmortem_cli.main(["show", "raysubmit_9", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["log"] == "hello\nboom\n" and data["snapshot"]["jobs"][0]["status"] == "FAILED"
    assert postmortem_cli.main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["id"] == "raysubmit_9"
    assert postmortem_cli.main(["show", "nope"]) == 1
    assert "no post-mortem 'nope'" in capsys.readouterr().err


def test_cli_uses_the_settings_folder_and_says_bad_settings_in_one_line(tmp_path, capsys):
    config = tmp_path / "cockpit.yaml"
    config.write_text(f"postmortem_dir: {tmp_path / 'pm'}\n")
    assert postmortem_cli.main(["--config", str(config), "list"]) == 0
    assert capsys.readouterr().out == f"no post-mortems in {tmp_path / 'pm'}\n"
    config.write_text("postmortem_keep: 0\n")
    assert postmortem_cli.main(["--config", str(config), "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "postmortem_keep = 0: expected a whole number" in err
