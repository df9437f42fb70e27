"""Many clusters: a connection per context, and the fleet's one line per cluster. No UI, no Ray.

`open_connection(settings)` reaches one cluster the way its settings say (an address, or an ssh
tunnel to a head whose dashboard listens on its loopback) and gives back the client and the
tunnel to close. `fleet_row(name, where, snap)` sums a Snapshot into a FleetRow. `FleetWatcher`
keeps a row per context fresh in the background: each context has its own Poller on a slow beat
(`interval`, default 10 s) fetching only what a row needs, and backs off while a context stays
down (its Poller's backoff up to 30 s, and at most one ssh attempt a minute for a tunnel that
will not open), so an unreachable cluster costs next to nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.cockpit.errors import CockpitError
from raycockpit.cockpit.models import Snapshot
from raycockpit.cockpit.poller import Poller
from raycockpit.cockpit.tunnel import SshTarget, SshTunnel

FLEET_INTERVAL_S = 10.0
FLEET_SECTIONS = {"nodes", "jobs", "serve"}
FAILED_WINDOW_S = 3600.0  # jobs failed in the last hour
TUNNEL_RETRY_S = 60.0
HEALTHY_SERVE = {"RUNNING", "DEPLOYING"}


# -- one connection ---------------------------------------------------------------------------


def make_tunnel(
    settings: Settings, *, key: str | None = None, remote_port: int | None = None
) -> SshTunnel:
    """The (not yet opened) ssh tunnel to `settings.ssh`'s dashboard port, or the kubectl
    port-forward to `settings.k8s`'s head service."""
    if settings.k8s:
        from raycockpit.cockpit.kubectl_forward import KubectlForward

        return KubectlForward(
            settings.k8s,
            namespace=settings.k8s_namespace,
            kube_context=settings.kube_context,
            remote_port=remote_port or settings.remote_dashboard,
            connect_timeout=min(settings.request_timeout, 15.0),
        )
    key = key or settings.ssh_key
    return SshTunnel(
        SshTarget.parse(settings.ssh or ""),
        remote_port=remote_port or settings.remote_dashboard,
        key=str(Path(key).expanduser()) if key else None,
        options=[
            str(Path(o).expanduser()) if o.startswith("~") else o for o in settings.ssh_options
        ],
        connect_timeout=min(settings.request_timeout, 15.0),
    )


@dataclass
class Connection:
    """A client for one cluster, and the tunnel it goes through (None for an address)."""

    client: DashboardClient
    tunnel: SshTunnel | None = None

    async def close(self) -> None:
        await self.client.aclose()
        if self.tunnel is not None:
            await asyncio.to_thread(self.tunnel.shut_down)


async def open_connection(
    settings: Settings, on_tunnel: Callable[[SshTunnel], None] | None = None
) -> Connection:
    """A Connection as `settings` say (its ssh tunnel opened in a thread: it waits on ssh; the
    tunnel goes to `on_tunnel` first, so that a caller cancelled meanwhile can shut it down).
    Raises CockpitError (the link) or ValueError (the settings: no place, a bad token file)."""
    token = settings.token()
    if settings.ssh or settings.k8s:
        tunnel = make_tunnel(settings)
        if on_tunnel is not None:
            on_tunnel(tunnel)
        await asyncio.to_thread(tunnel.open)
        client = DashboardClient(tunnel.address, token=token, timeout=settings.request_timeout)
        return Connection(client, tunnel)
    if not settings.address:
        raise ValueError("no address: and no ssh: to reach")
    return Connection(
        DashboardClient(settings.address, token=token, timeout=settings.request_timeout)
    )


# -- one line per cluster ---------------------------------------------------------------------


@dataclass(frozen=True)
class FleetRow:
    name: str
    where: str  # the URL, or `ssh user@host`
    reachable: bool = False
    error: str = ""  # why not, in one line
    ray_version: str = ""
    nodes_alive: int = 0
    nodes_dead: int = 0
    cpu_used: float = 0.0
    cpu_total: float = 0.0
    gpu_used: float = 0.0
    gpu_total: float = 0.0
    jobs_running: int = 0
    jobs_failed_1h: int = 0
    serve_unhealthy: tuple[str, ...] = ()  # Serve apps neither RUNNING nor DEPLOYING
    checked_at: float = 0.0  # unix s of the answer (0: not yet asked)
    current: bool = False  # the cluster this cockpit shows

    def as_dict(self) -> dict[str, object]:
        out = dict(self.__dict__)
        out["serve_unhealthy"] = list(self.serve_unhealthy)
        return out


def fleet_row(name: str, where: str, snap: Snapshot, *, current: bool = False) -> FleetRow:
    """The fleet's line for a cluster, from its latest Snapshot."""
    if not snap.connected:
        why = snap.connection_error or "not reached yet"
        return FleetRow(name, where, error=why, checked_at=snap.fetched_at, current=current)
    alive = [n for n in snap.nodes if n.state == "ALIVE"]
    since_ms = (snap.fetched_at - FAILED_WINDOW_S) * 1000
    return FleetRow(
        name,
        where,
        reachable=True,
        error="; ".join(f"{s}: {e}" for s, e in sorted(snap.errors.items())),
        ray_version=snap.info.ray_version,
        nodes_alive=len(alive),
        nodes_dead=len(snap.nodes) - len(alive),
        cpu_used=sum(n.cpu_logical.used for n in alive if n.cpu_logical),
        cpu_total=sum(n.cpu_logical.total for n in alive if n.cpu_logical),
        gpu_used=sum(n.gpu_logical.used for n in alive if n.gpu_logical),
        gpu_total=sum(n.gpu_logical.total for n in alive if n.gpu_logical),
        jobs_running=sum(1 for j in snap.jobs if j.status == "RUNNING"),
        jobs_failed_1h=sum(
            1 for j in snap.jobs if j.status == "FAILED" and (j.end_time_ms or 0) >= since_ms
        ),
        serve_unhealthy=tuple(a.name for a in snap.serve.apps if a.status not in HEALTHY_SERVE),
        checked_at=snap.fetched_at,
        current=current,
    )


# -- the fleet, watched in the background -----------------------------------------------------


@dataclass
class _Member:
    name: str
    settings: Settings
    connection: Connection | None = None
    poller: Poller | None = None
    next_try: float = 0.0  # time.monotonic() before which a failed tunnel is not retried
    opening: SshTunnel | None = None  # a tunnel being opened (shut down if we are closed)
    row: FleetRow = field(default_factory=lambda: FleetRow("", ""))


class FleetWatcher:
    """Polls every context but the current one on a slow beat; `publish(row)` gets each new
    row. `run()` until cancelled; `close()` then closes the clients and tunnels."""

    def __init__(
        self,
        contexts: dict[str, Settings],
        publish: Callable[[FleetRow], None],
        *,
        interval: float = FLEET_INTERVAL_S,
    ) -> None:
        self.publish = publish
        self.interval = interval
        self.members = {
            name: _Member(name, s, row=FleetRow(name, where(s))) for name, s in contexts.items()
        }
        self.skip: str | None = None  # the current context: the app's own poller has it

    async def run(self) -> None:
        await asyncio.gather(*(self._watch(m) for m in self.members.values()))

    async def poll_all_once(self) -> list[FleetRow]:
        """One row per context, all asked at once (`--once --all-contexts`)."""
        return list(await asyncio.gather(*(self._poll(m) for m in self.members.values())))

    async def close(self) -> None:
        """Every tunnel shut down at once (no await first: a cancelled caller may not get to a
        second step), then the clients closed."""
        for member in self.members.values():
            for tunnel in (member.opening, member.connection and member.connection.tunnel):
                if tunnel is not None:
                    tunnel.shut_down()
        for member in self.members.values():
            if member.connection is not None:
                await member.connection.client.aclose()
                member.connection = None

    async def _watch(self, member: _Member) -> None:
        while True:
            if member.name != self.skip:
                self.publish(await self._poll(member))
            wait = member.poller.current_interval if member.poller else self.interval
            await asyncio.sleep(max(wait, member.next_try - time.monotonic(), 0.5))

    async def _poll(self, member: _Member) -> FleetRow:
        if member.connection is None:
            if time.monotonic() < member.next_try:
                return member.row
            try:
                member.connection = await open_connection(
                    member.settings, lambda t: setattr(member, "opening", t)
                )
            except (CockpitError, ValueError) as exc:
                if member.opening is not None:
                    member.opening.shut_down()
                member.next_try = time.monotonic() + TUNNEL_RETRY_S
                text = exc.one_line() if isinstance(exc, CockpitError) else str(exc)
                member.row = FleetRow(
                    member.name, where(member.settings), error=text, checked_at=time.time()
                )
                return member.row
            except BaseException:
                # cancelled (the cockpit is closing): the ssh being opened in its thread must
                # not outlive it; this `finally` forgets it before close() could shut it down
                if member.opening is not None:
                    member.opening.shut_down()
                raise
            finally:
                member.opening = None
            # the rest (the autoscaler's report) is never needed for a row: "hidden" forever
            member.poller = Poller(
                member.connection.client, interval=self.interval, hidden_every=1_000_000
            )
            member.poller.want(FLEET_SECTIONS)
        assert member.poller is not None
        snap = await member.poller.poll_once()
        tunnel = member.connection.tunnel
        if not snap.connected and tunnel is not None and not tunnel.alive():
            await member.connection.close()  # the link died: open it again on the next try
            member.connection = member.poller = None
        member.row = fleet_row(member.name, where(member.settings), snap)
        return member.row


def where(settings: Settings) -> str:
    if settings.k8s:
        ns = f"{settings.k8s_namespace}/" if settings.k8s_namespace else ""
        return f"k8s {ns}{settings.k8s}"
    if settings.ssh:
        return f"ssh {settings.ssh}"
    return settings.address or "?"
