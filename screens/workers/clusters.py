"""The Clusters pane's work (a mixin of CockpitApp): find the launcher's cluster configs, run
`ray up` / `ray down` / `ray exec` after a confirmation that shows the exact command, stream their
output into the pane, and attach: open a launched cluster's head as a context (over ssh, with the
config's own user and key).

One launcher command at a time; `--readonly` refuses all but attach; a failed command is its exit
status and its last line, never a traceback.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from textual import work

from raycockpit.cockpit import cluster_doctor
from raycockpit.cockpit.clusters import (
    ClusterConfig,
    LauncherRun,
    attach_context,
    find_cluster_configs,
    launcher_argv,
    workers_stop_command,
)
from raycockpit.cockpit.command_log import launcher_command
from raycockpit.cockpit.config import REPO_ROOT, default_config_path
from raycockpit.cockpit.fleet import FleetRow, where
from raycockpit.screens.clusters import ClustersPane
from raycockpit.screens.dialogs import ConfirmScreen, PromptScreen
from raycockpit.screens.messages import ClustersLoaded, LauncherEnded, LauncherLines


def cluster_folders() -> list[Path]:
    """The bundled examples, then the user's own configs."""
    return [REPO_ROOT / "configs" / "clusters", default_config_path().parent / "clusters"]


class ClustersWorkers:
    """Mixed into CockpitApp: uses its settings, contexts and notify."""

    @work(thread=True, group="clusters", exit_on_error=False)
    def _load_clusters(self) -> None:
        folders = cluster_folders()
        configs = find_cluster_configs(folders)
        self.post_message(ClustersLoaded(configs, [str(f) for f in folders]))

    def on_clusters_loaded(self, message: ClustersLoaded) -> None:
        pane = self.query_one(ClustersPane)
        bundled = cluster_folders()[0]
        own = any(bundled not in config.path.parents for config in message.configs)
        pane.set_configs(message.configs, message.folders, self.settings.readonly, own)
        self._render_nav()

    def on_clusters_pane_launch(self, message: ClustersPane.Launch) -> None:
        config, action = message.config, message.action
        if action == "check":
            self._check_cluster(config)
            return
        if action == "attach":
            self._attach_cluster(config)
            return
        if self.settings.readonly:
            self.notify("read-only mode: the launcher is not run", severity="warning")
            return
        if action == "exec":
            self.push_screen(
                PromptScreen(f"Run on the head of {config.name} (ray exec):", "e.g. ray status"),
                lambda command: command and self._confirm_launch(config, action, command),
            )
            return
        self._confirm_launch(config, action, None)

    @work(thread=True, group="launcher-check", exclusive=True, exit_on_error=False)
    def _check_cluster(self, config: ClusterConfig) -> None:
        """The config doctor on this config (Ray's schema and ray up's rules), into the pane."""
        result = cluster_doctor.report(config.path)
        self.call_from_thread(self._show_check, config, result)

    def _show_check(self, config: ClusterConfig, result: cluster_doctor.Report) -> None:
        pane = self.query_one(ClustersPane)
        pane.start_output(f"config check {config.name}")
        pane.add_lines(result.lines)
        status = "no problems" if result.exit_code == 0 else result.lines[-1]
        pane.end_output("unreadable" if result.unreadable else status)

    def _confirm_launch(self, config: ClusterConfig, action: str, command: str | None) -> None:
        try:
            argv = launcher_argv(action, config.path, command)
        except (ValueError, RuntimeError) as exc:
            self.notify(f"ray {action} {config.name}: {exc}", severity="warning", timeout=8)
            return
        what = {"up": "Start or update", "down": "Tear down", "exec": "Run a command on"}[action]
        self.push_screen(
            ConfirmScreen(f"{what} cluster {config.name}?", shlex.join(argv), f"ray {action}"),
            lambda yes: yes and self._run_launcher(config, action, command),
        )

    @work(group="launcher", exclusive=True, exit_on_error=False)
    async def _run_launcher(self, config: ClusterConfig, action: str, command: str | None) -> None:
        """The launcher command, its lines into the pane as they come; every process it started
        (ssh, rsync, control masters) stopped by pid once it has ended, or when cancelled."""
        self.query_one(ClustersPane).start_output(f"ray {action} {config.name}")
        steps = [(action, command)]
        stop_workers = workers_stop_command(config.path) if action == "down" else None
        if stop_workers:  # `ray down` stops the head only (local provider): the workers first
            steps.insert(0, ("exec", stop_workers))
        code, error = 0, ""
        for step, step_command in steps:
            self.post_message(LauncherLines([f"$ ray {step} {config.path.name}"]))
            code, error = await self._launcher_step(config, step, step_command)
            if code != 0 and step == action:
                break
        self.post_message(LauncherEnded(config.name, action, code, error))

    async def _launcher_step(
        self, config: ClusterConfig, action: str, command: str | None
    ) -> tuple[int | None, str]:
        run = None
        code, error = None, "cancelled"
        try:
            run = LauncherRun(action, config.path, command)
            async for line in run.lines():
                self.post_message(LauncherLines([line]))
            code, error = run.returncode, ""
            return code, error
        except (OSError, RuntimeError, ValueError) as exc:
            error = f"could not run it: {exc}"
            return None, error
        finally:
            if run is not None:
                await run.stop()
                result = "ok" if code == 0 else error or f"exit status {code}"
                self.command_log.add(launcher_command(run.argv, code == 0, result))

    def on_launcher_lines(self, message: LauncherLines) -> None:
        self.query_one(ClustersPane).add_lines(message.lines)

    def on_launcher_ended(self, message: LauncherEnded) -> None:
        pane = self.query_one(ClustersPane)
        if message.code == 0:
            pane.end_output(f"ray {message.action} finished")
            self.notify(f"ray {message.action} {message.name}: done", timeout=5)
            if message.action in ("up", "down"):
                self._load_clusters()
        else:
            why = message.error or f"exit status {message.code}"
            pane.end_output(f"ray {message.action} failed: {why}")
            self.notify(
                f"ray {message.action} {message.name} failed ({why}); its output is in the pane",
                severity="error",
                timeout=10,
            )

    def _attach_cluster(self, config: ClusterConfig) -> None:
        """Open the cluster's head as a context named after it (ssh with the config's user and
        key; the dashboard on the head's loopback)."""
        try:
            changes = attach_context(config)
        except ValueError as exc:
            self.notify(f"cannot attach {config.name}: {exc}", severity="warning", timeout=8)
            return
        name = f"cluster-{config.name}"
        self._contexts[name] = self.base_settings.model_copy(
            update={**changes, "context": name, "address": None}
        )
        self._fleet_rows.setdefault(name, FleetRow(name, where(self._contexts[name])))
        self.switch_context(name)
