"""The ssh tunnel's pieces that need no sshd: targets, the ssh command line, ssh's messages turned
into one line with what to do, a bounded failure, and where --ssh sits among the targets."""

from __future__ import annotations

import time

import pytest

from raycockpit.cockpit.cli import main, resolve_target
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.errors import TunnelError
from raycockpit.cockpit.local import free_port
from raycockpit.cockpit.tunnel import SshTarget, SshTunnel, explain


@pytest.mark.parametrize(
    "text, host, user, port",
    [
        ("head", "head", None, None),
        ("alice@head.example", "head.example", "alice", None),
        ("alice@10.0.0.5:2222", "10.0.0.5", "alice", 2222),
        ("[::1]:22", "::1", None, 22),
        ("  bob@h:22 ", "h", "bob", 22),
    ],
)
def test_targets(text, host, user, port):
    target = SshTarget.parse(text)
    assert (target.host, target.user, target.port) == (host, user, port)


@pytest.mark.parametrize("text", ["", "a@", "@h", "h:0", "h:70000", "h:x", "a b", "ssh://h"])
def test_bad_targets_say_the_form(text):
    with pytest.raises(ValueError, match=r"\[user@\]host\[:port\]"):
        SshTarget.parse(text)


def test_command_is_a_bounded_non_interactive_forward():
    tunnel = SshTunnel(
        SshTarget.parse("alice@head:2222"), remote_port=9999, key="/k", options=["-J", "jump"]
    )
    cmd = tunnel.command()
    assert cmd[-1] == "alice@head" and cmd[-3:-1] == ["-J", "jump"]
    assert f"127.0.0.1:{tunnel.local_port}:127.0.0.1:9999" in cmd
    joined = " ".join(cmd)
    for option in (
        "-N",
        "BatchMode=yes",
        "ConnectTimeout=",
        "ServerAliveInterval=",
        "ExitOnForwardFailure=yes",
        "ControlPath=none",
        "-p 2222",
        "-i /k",
        "IdentitiesOnly=yes",
    ):
        assert option in joined, option
    assert tunnel.address == f"http://127.0.0.1:{tunnel.local_port}"


@pytest.mark.parametrize(
    "stderr, what, todo",
    [
        ("Host key verification failed.\r\n", "host key of h is not trusted", "known_hosts"),
        (
            "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\n"
            "Host key verification failed.",
            "not trusted",
            "known_hosts",
        ),
        ("bob@h: Permission denied (publickey).", "refused the login", "--ssh-key"),
        (
            "ssh: Could not resolve hostname h: Name or service not known",
            "cannot resolve host h",
            "~/.ssh/config",
        ),
        (
            "ssh: connect to host h port 22: Connection refused",
            "nothing accepts SSH connections on h:22",
            "sshd",
        ),
        (
            "ssh: connect to host h port 22: Connection timed out",
            "did not answer in 10 s",
            "ProxyJump",
        ),
        ("bind [127.0.0.1]:5000: Address already in use", "local port is taken", "again"),
        (
            "kex_exchange_identification: read: Connection reset by peer",
            "failed: kex_exchange",
            "ssh bob@h",
        ),
    ],
)
def test_ssh_messages_become_one_line_with_what_to_do(stderr, what, todo):
    message, hint = explain(stderr, SshTarget.parse("bob@h"), 10.0)
    assert what in message and todo in hint
    assert "\n" not in message + hint


def test_a_refused_link_fails_fast_with_one_line():
    tunnel = SshTunnel(SshTarget.parse(f"127.0.0.1:{free_port()}"), connect_timeout=5)
    start = time.monotonic()
    with pytest.raises(TunnelError) as info:
        tunnel.open()
    assert time.monotonic() - start < 10
    assert "nothing accepts SSH connections" in info.value.one_line()
    assert not tunnel.alive()


def test_ssh_is_a_target_between_address_and_environment():
    assert resolve_target(None, Settings(), env={}, ssh_flag="h").ssh == "h"
    assert resolve_target(None, Settings(ssh="s"), env={}).ssh == "s"
    # the environment's address wins over the settings' ssh, as over the settings' address
    assert (
        resolve_target(None, Settings(ssh="s"), env={"RAY_API_SERVER_ADDRESS": "http://a:1"}).ssh
        is None
    )
    with pytest.raises(ValueError, match="either --address or --ssh"):
        resolve_target("http://a:1", Settings(), env={}, ssh_flag="h")
    with pytest.raises(ValueError, match="more than one of address:, ssh: and k8s:"):
        resolve_target(None, Settings(address="http://a:1", ssh="h"), env={})


def test_cli_reports_a_bad_ssh_target_in_one_line(capsys, tmp_path):
    assert main(["--once", "--ssh", "a b", "--config", str(tmp_path / "none.yaml")]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("raycockpit: --ssh 'a b' is not [user@]host[:port]")
        and "Traceback" not in err
    )


def test_settings_name_the_ssh_keys(tmp_path):
    path = tmp_path / "cockpit.yaml"
    path.write_text(
        "ssh: alice@head\nssh_key: ~/.ssh/k\nssh_options: ['-J', 'jump']\nremote_dashboard: 8266\n"
    )
    s = Settings.load(path)
    assert (s.ssh, s.ssh_key, s.ssh_options, s.remote_dashboard) == (
        "alice@head",
        "~/.ssh/k",
        ("-J", "jump"),
        8266,
    )


def test_a_k8s_context_is_a_kubectl_port_forward_to_the_head_service():
    from raycockpit.cockpit.config import Context, Settings
    from raycockpit.cockpit.fleet import make_tunnel, where
    from raycockpit.cockpit.kubectl_forward import KubectlForward

    ctx = Context(k8s="ray-cluster", k8s_namespace="ml")
    assert ctx.where == "k8s ml/ray-cluster"
    with pytest.raises(ValueError, match="exactly one of address: URL, ssh:"):
        Context(k8s="a", address="http://x:8265")
    settings = Settings(contexts={"kr": ctx}).for_context("kr")
    forward = make_tunnel(settings)
    assert isinstance(forward, KubectlForward) and where(settings) == "k8s ml/ray-cluster"
    cmd = forward.command()
    assert cmd[1:] == [
        "port-forward",
        "--address",
        "127.0.0.1",
        "--namespace",
        "ml",
        "svc/ray-cluster-head-svc",
        f"{forward.local_port}:8265",
    ]
    assert forward.address == f"http://127.0.0.1:{forward.local_port}"
    assert KubectlForward("pod/head-0").service == "pod/head-0"  # given as it is
    what, hint = forward._explain('Error from server (Forbidden): pods "x" is forbidden\n')
    assert "forbidden" in what and "auth can-i" in hint
