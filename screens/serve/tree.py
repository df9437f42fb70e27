"""The Serve pane's tree: applications -> deployments -> replicas, updated in place on each
snapshot (labels change, new nodes join, gone ones leave), so expansion and the cursor stay."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Tree

from raycockpit.cockpit.models import ServeApp, ServeDeployment, ServeReplica, ServeStatus, Why
from raycockpit.cockpit.serve_traffic import WINDOW_S, AppTraffic
from raycockpit.screens.styles import BAD, INFO, OK, WARN
from raycockpit.screens.widgets.render import status_text

NodeKey = tuple[str, ...]  # ("app", app) / ("dep", app, dep) / ("rep", app, dep, replica)
Selection = tuple[ServeApp, ServeDeployment | None, ServeReplica | None]


def _parent(key: NodeKey) -> NodeKey | None:
    if key[0] == "dep":
        return ("app", key[1])
    if key[0] == "rep":
        return ("dep", key[1], key[2])
    return None


def app_label(app: ServeApp, traffic: AppTraffic | None = None) -> Text:
    text = Text(app.name, style="bold")
    text.append("  ")
    text.append_text(status_text(app.status))
    text.append(f"  {app.route_prefix or '(no route)'}", style=INFO)
    if traffic is not None:  # its proxies' counters (cockpit/serve_traffic.py)
        idle = traffic.rps is None or traffic.rps <= 0
        style = BAD if traffic.share_5xx > 0 else "dim" if idle else OK
        text.append(f"  {traffic.short()}", style=style)
    if app.message:
        text.append("  " + app.message.replace("\n", " "), style="dim")
    return text


def deployment_label(dep: ServeDeployment, why: Why | None = None) -> Text:
    text = Text(dep.name, style="bold")
    text.append("  ")
    text.append_text(status_text(dep.status))
    running = sum(1 for r in dep.replicas if r.state == "RUNNING")
    target = "?" if dep.target_replicas is None else str(dep.target_replicas)
    text.append(f"  {running}/{target} replicas")
    if why is not None:
        text.append(f"  why: {why.short or why.reason}", style=WARN)
    elif dep.message:
        text.append("  " + dep.message.replace("\n", " "), style="dim")
    return text


def replica_label(replica: ServeReplica) -> Text:
    text = Text(replica.replica_id or "?")
    text.append("  ")
    text.append_text(status_text(replica.state))
    if replica.pid:
        text.append(f"  pid {replica.pid}", style="dim")
    if replica.node_ip:
        text.append(f" on {replica.node_ip}", style="dim")
    return text


def detail_text(
    found: Selection | None,
    whys: dict[str, Why] | None = None,
    traffic: dict[str, AppTraffic] | None = None,
) -> Text:
    """The line (or two) under the tree about what the cursor is on; for a deployment that is
    not healthy, its "Why pending?" answer (cockpit/why/) in full; for an app, its traffic."""
    if found is None:
        return Text("")
    app, dep, replica = found
    if replica is not None:
        return Text(
            f"replica {replica.replica_id} {replica.state} pid {replica.pid or '-'} "
            f"node {replica.node_ip or '-'}"
        )
    if dep is not None:
        res = ", ".join(f"{k} {v:g}" for k, v in sorted(dep.resources.items()))
        text = Text(f"{app.name}/{dep.name}: {dep.status}, target {dep.target_replicas} replicas")
        if res:
            text.append(f", each {res}")
        why = (whys or {}).get(f"serve:{app.name}/{dep.name}")
        if why is not None:
            text.append(f"\nwhy: {why.reason} [{why.category}]", style=WARN)
            text.append(f"\nfix: {why.fix}", style=OK)
            if why.evidence:
                text.append("\n" + "\n".join(why.evidence), style="dim")
        elif dep.message:
            text.append(f"\n{dep.message}", style=WARN)
        return text
    text = Text(f"{app.name}: {app.status}, route {app.route_prefix or '-'}")
    seen = (traffic or {}).get(app.name)
    if seen is not None:
        text.append(f"\ntraffic (its proxies, the last {WINDOW_S:.0f} s): {seen.line()}")
    if app.message:
        text.append(f"\n{app.message}", style=WARN)
    return text


class ServeTree(Tree[NodeKey]):
    """Serve's applications, their deployments and replicas; each node's data is its `NodeKey`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Serve", id=id)
        self.show_root = False
        self.root.expand()
        self._by_key: dict[NodeKey, Any] = {}

    def on_mount(self) -> None:
        self.border_title = "applications"

    def sync(
        self,
        serve: ServeStatus,
        whys: dict[str, Why] | None = None,
        traffic: dict[str, AppTraffic] | None = None,
    ) -> None:
        """Labels change in place, new nodes join, gone ones leave: expansion and cursor stay.
        `whys`: the snapshot's "Why pending?" answers (a deployment's short one in its label);
        `traffic`: each app's requests from its proxies' metrics, in its label."""
        whys = whys or {}
        traffic = traffic or {}
        wanted: set[NodeKey] = set()

        def put(key: NodeKey, parent, label: Text, leaf: bool = False):
            wanted.add(key)
            node = self._by_key.get(key)
            if node is None:
                if leaf:
                    node = parent.add_leaf(label, data=key)
                else:
                    node = parent.add(label, data=key, expand=True)
                self._by_key[key] = node
            elif node.label != label:
                node.set_label(label)
            return node

        for app in serve.apps:
            app_node = put(("app", app.name), self.root, app_label(app, traffic.get(app.name)))
            for dep in app.deployments:
                why = whys.get(f"serve:{app.name}/{dep.name}")
                dep_node = put(("dep", app.name, dep.name), app_node, deployment_label(dep, why))
                for replica in dep.replicas:
                    key = ("rep", app.name, dep.name, replica.replica_id)
                    put(key, dep_node, replica_label(replica), leaf=True)
        gone = [k for k in self._by_key if k not in wanted]
        for key in sorted(gone, key=len):
            parent = _parent(key)
            if key in self._by_key and (parent is None or parent in self._by_key):
                self._by_key[key].remove()
            self._by_key.pop(key, None)
        # children of removed parents are gone with them
        kept = self._by_key
        for key in [k for k in kept if _parent(k) is not None and _parent(k) not in kept]:
            kept.pop(key, None)
        if self.cursor_node is None and self._by_key:
            self.cursor_line = 0  # the first app, so the detail line and the actions have a target

    def selected(self, serve: ServeStatus) -> Selection | None:
        """The app (and deployment, replica) under the cursor, looked up in `serve`."""
        node = self.cursor_node
        if node is None or node.data is None:
            return None
        key: NodeKey = node.data
        for app in serve.apps:
            if app.name != key[1]:
                continue
            if key[0] == "app":
                return app, None, None
            for dep in app.deployments:
                if dep.name != key[2]:
                    continue
                if key[0] == "dep":
                    return app, dep, None
                for replica in dep.replicas:
                    if replica.replica_id == key[3]:
                        return app, dep, replica
                return app, dep, None
        return None
