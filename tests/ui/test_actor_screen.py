"""The actor screen in the real app against the real head: Enter on an actor in the Actors pane
opens it; its head says who and where it is and what its process uses; its stdout follows live,
`o` shows its stderr, `c` copies its id, `ctrl+s` saves the shown log whole; Esc closes it and
stops its followers. An actor whose constructor raised opens on its stderr, with the user's
traceback in the head. Enter on a task function in the summary lists its tasks, failed first with
their errors, and `l` shows one task's own stdout."""

from __future__ import annotations

import pytest

from raycockpit.cockpit.actors import parse_actor
from raycockpit.cockpit.client import DashboardClient
from raycockpit.cockpit.config import Settings
from raycockpit.screens.actor import ActorScreen
from raycockpit.screens.app import make_app
from raycockpit.screens.job import JobScreen
from raycockpit.screens.keys import KeysScreen
from raycockpit.screens.node_logs import LogFileScreen
from raycockpit.screens.tasks import TasksScreen
from raycockpit.screens.widgets.keyed_table import KeyedTable
from raycockpit.screens.widgets.log_view import LogView
from tests.cluster.test_actor_logs import start_chatty
from tests.ui.helpers import rendered_text, table_rows, wait_for

pytestmark = pytest.mark.cluster
SIZE = (120, 36)


@pytest.fixture(scope="module")
async def chatty(ray_head):
    async with DashboardClient(ray_head.dashboard_url, discover=False) as client:
        job_id, ids = await start_chatty(client, 3000, 5.0)
        ids["job"] = (await client.get_job(job_id))["job_id"]  # Ray's id: the tasks carry it
        ids["submission"] = job_id
        yield ray_head, ids
        await client.stop_job(job_id)


async def open_actor(pilot, app, actor_id: str) -> ActorScreen:
    """Filter the Actors table to one actor by its id (the shared head holds other runs' actors
    of the same class) and open it."""
    table = app.query_one("#actors-table")
    await pilot.press("slash", "ctrl+u", *actor_id, "enter")  # Enter goes to the table
    await wait_for(pilot, lambda: table.visible_keys == [actor_id], what=f"actor {actor_id}")
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ActorScreen) and app.screen.is_mounted,
        what="the actor screen",
    )
    return app.screen


def stopped(app, group: str) -> bool:
    """No log follower kept, and no worker of `group` or of the followers still running."""
    running = [w for w in app.workers if w.group in (group, "logstream") and not w.is_finished]
    return not app._stream_workers and not running


def log_lines(screen: ActorScreen, suffix: str) -> list[str]:
    return screen.query_one(f"#log-{suffix}", LogView).lines


async def test_actor_screen_follows_its_logs_and_closes_clean(chatty, tmp_path, monkeypatch):
    head, ids = chatty
    monkeypatch.chdir(tmp_path)  # ctrl+s saves here
    app = make_app(Settings(refresh=0.5), address=head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press("0")
        screen = await open_actor(pilot, app, ids["chatty"])
        assert screen.actor_id == ids["chatty"] and screen.suffix == "out"
        await wait_for(
            pilot,
            lambda: log_lines(screen, "out")[:3] == ["out 0", "out 1", "out 2"],
            what="stdout",
        )
        await wait_for(
            pilot,
            lambda: "memory" in rendered_text(screen.query_one("#actor-head")),
            what="process",
        )
        head_text = rendered_text(screen.query_one("#actor-head"))
        assert head_text.startswith(f"Chatty  ALIVE  actor {ids['chatty']}"), head_text
        assert (
            "process CPU" in head_text and "asks nothing" in head_text and "died" not in head_text
        )
        grown = len(log_lines(screen, "out"))
        await wait_for(pilot, lambda: len(log_lines(screen, "out")) > grown, what="live lines")
        assert not any(line.startswith(":") for line in log_lines(screen, "out"))  # no markers

        await pilot.press("o")
        assert screen.suffix == "err" and screen.query_one("ContentSwitcher").current == "log-err"
        assert log_lines(screen, "err")[:2] == ["err 0", "err 1"]
        footer = rendered_text(screen.query_one("KeyFooter"))
        assert "o stdout" in footer and "o stderr" not in footer, footer

        await pilot.press("question_mark")  # the keys of this screen, as they work now
        assert isinstance(app.screen, KeysScreen)
        groups = dict(app.screen.groups)
        assert ("o", "stdout") in groups["Actor screen"], groups
        assert {"escape", "/", "ctrl+s", "c"} <= {key for key, _ in groups["Actor screen"]}
        assert "Actors pane" not in groups
        await pilot.press("escape")
        assert isinstance(app.screen, ActorScreen)

        await pilot.press("c")
        await wait_for(
            pilot,
            lambda: any(f"copied {ids['chatty']}" in n.message for n in app._notifications),
            what="copied",
        )
        await pilot.press("ctrl+s")
        saved = tmp_path / f"raycockpit-actor-{ids['chatty'][:8]}.err.log"
        await wait_for(pilot, saved.exists, what="the saved stderr")
        text = saved.read_text().splitlines()
        assert text[:2] == ["err 0", "err 1"] and not any(x.startswith(":") for x in text)

        await pilot.press("escape")
        assert not isinstance(app.screen, ActorScreen)
        await wait_for(pilot, lambda: stopped(app, "actor"), what="its followers stopped")

        # The pane lists at most 100 dead actors, and the suite's shared head holds more by now:
        # the dead one is opened as the pane's Enter does, with its row from the state API.
        row, _ = await app.client.actor_detail(ids["broken"])
        app.open_actor(parse_actor(row))
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ActorScreen) and app.screen.is_mounted,
            what="its screen",
        )
        screen = app.screen
        assert screen.suffix == "err"  # its constructor's traceback is there; stdout is empty
        await wait_for(
            pilot,
            lambda: "ValueError: bad config" in "\n".join(log_lines(screen, "err")),
            what="the traceback in stderr",
        )
        await wait_for(
            pilot,
            lambda: "chatty.py" in rendered_text(screen.query_one("#actor-head")),
            what="the user's traceback in the head",
        )
        head_text = rendered_text(screen.query_one("#actor-head"))
        assert "died: creation task failure: ValueError: bad config: lr must be > 0" in head_text
        assert "_raylet" not in head_text
        await pilot.press("escape")


async def test_a_task_functions_tasks_failed_first_and_its_workers_output(chatty):
    head, ids = chatty
    app = make_app(Settings(refresh=0.5), address=head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press("0")
        summary = app.query_one("#actors-summary")
        await wait_for(
            pilot,
            lambda: any(r[0] == "checked_square" for r in table_rows(summary)),
            what="the task function in the summary",
        )
        await pilot.press("slash", *"checked_square", "enter")
        summary.focus()
        await pilot.press("home", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, TasksScreen) and app.screen.is_mounted,
            what="its tasks",
        )
        screen = app.screen
        table = screen.query_one(KeyedTable)

        def ours() -> list:  # the shared head also holds other runs' tasks of this function
            rows = screen.tasks.rows if screen.tasks is not None else ()
            return [row for row in rows if row.job_id == ids["job"]]

        await wait_for(pilot, lambda: len(ours()) == 12, what="this job's 12 tasks")
        listed = screen.tasks.rows
        failed = [row.state for row in listed].count("FAILED")
        assert [row.state for row in listed[:failed]] == ["FAILED"] * failed  # failed first
        assert failed >= 2 and table.row_count == len(listed)
        mine = {row.error_line for row in ours() if row.state == "FAILED"}
        assert mine == {"ValueError: bad input 3", "ValueError: bad input 10"}
        assert {row.state for row in ours() if row.state != "FAILED"} == {"FINISHED"}
        rows = table_rows(table)
        assert rows[0][0] == "FAILED" and rows[0][-1].startswith("ValueError: bad input"), rows
        head_text = rendered_text(screen.query_one("#tasks-head"))
        assert f"{len(listed)} listed of" in head_text and f"· {failed} failed" in head_text
        detail = rendered_text(screen.query_one("#task-detail"))
        assert "failed (TASK_EXECUTION_EXCEPTION)" in detail and "chatty.py" in detail, detail
        await pilot.press("down")
        failed_second = rows[1][-1]
        await wait_for(
            pilot,
            lambda: failed_second in rendered_text(screen.query_one("#task-detail")),
            what="the detail follows the cursor",
        )

        await pilot.press("l")  # its own stdout: Ray's offsets in its worker's file
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, LogFileScreen) and app.screen.is_mounted,
            what="its stdout",
        )
        log = app.screen.query_one(LogView)
        n = failed_second.rsplit(" ", 1)[-1]  # "ValueError: bad input N"
        await wait_for(pilot, lambda: log.lines, what="the task's prints")
        await pilot.pause(0.5)
        assert list(log.lines) == [f"square {n}"]  # its one line: not its worker's other tasks'
        assert "whole output, 1 line" in log.source_status
        await pilot.press("escape", "escape")
        assert not isinstance(app.screen, (LogFileScreen, TasksScreen))
        await wait_for(pilot, lambda: stopped(app, "tasks"), what="its listing and follower")


async def test_open_an_actor_or_a_job_by_its_id_from_the_command_bar(chatty):
    head, ids = chatty
    app = make_app(Settings(refresh=0.5), address=head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        # not listed anywhere yet (the Actors pane was never shown): asked of the cluster
        await pilot.press("colon", *f"actor {ids['chatty']}", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ActorScreen) and app.screen.is_mounted,
            what="the actor's screen",
        )
        assert app.screen.actor_id == ids["chatty"]
        await pilot.press("escape")

        await pilot.press("colon", *f"actor {'ab' * 16}", "enter")
        await wait_for(
            pilot,
            lambda: any(f"no actor {'ab' * 16}" in n.message for n in app._notifications),
            what="an unknown id said",
        )
        assert not isinstance(app.screen, ActorScreen)

        await pilot.press("colon", *f"job {ids['submission']}", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, JobScreen) and app.screen.job_id == ids["submission"],
            what="the job's screen",
        )
        await pilot.press("escape")
        await pilot.press("0")  # listed now: a unique start of the id is enough
        await wait_for(
            pilot, lambda: ids["chatty"] in app.query_one("#actors-table").visible_keys, what="row"
        )
        await pilot.press("colon", *f"actor {ids['chatty'][:10]}", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ActorScreen) and app.screen.actor_id == ids["chatty"],
            what="the actor by a start of its id",
        )
        await pilot.press("escape")


async def test_a_running_tasks_output_followed_until_it_ends(ray_head):
    """l on a running task follows its lines live; when it ends and its worker runs nothing
    after it (no marker comes), the listing's next look says so and the follower stops."""
    import sys

    from tests.cluster.test_actor_logs import TASK_PROGRAM

    count = 200
    async with DashboardClient(ray_head.dashboard_url, discover=False) as client:
        job_id = await client.submit_job(f"{sys.executable} {TASK_PROGRAM} {count} 10 alone")
        app = make_app(Settings(refresh=2.0), address=ray_head.dashboard_url)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: app.snapshot is not None, what="a snapshot")
                job = await client.get_job(job_id)
                app.open_tasks("paced", "task", {})
                screen = app.screen
                assert isinstance(screen, TasksScreen)

                def running():
                    ray_job = job.get("job_id")
                    rows = screen.tasks.rows if screen.tasks is not None else ()
                    return [r for r in rows if r.job_id == ray_job and r.state == "RUNNING"]

                while not job.get("job_id"):
                    await pilot.pause(0.3)
                    job = await client.get_job(job_id)
                await wait_for(pilot, lambda: running(), what="paced running", timeout=90)
                mine = running()[0]
                await pilot.press("slash", *mine.task_id[:16], "enter")
                await wait_for(
                    pilot,
                    lambda: screen.query_one(KeyedTable).visible_keys == [mine.key],
                    what="our task alone",
                )
                await pilot.press("l")
                await wait_for(
                    pilot,
                    lambda: isinstance(app.screen, LogFileScreen) and app.screen.is_mounted,
                    what="its stdout",
                )
                log = app.screen.query_one(LogView)
                await wait_for(pilot, lambda: 0 < len(log.lines) < count, what="live lines")
                assert log.source_status == "live"
                await wait_for(
                    pilot,
                    lambda: "the task ended (FINISHED)" in log.source_status,
                    what="the end said",
                    timeout=60,
                )
                assert list(log.lines) == [f"paced {n}" for n in range(count)]
                await pilot.pause(0.5)
                running_followers = [
                    w for w in app.workers if w.group == "logstream" and not w.is_finished
                ]
                assert not running_followers
                await pilot.press("escape", "escape")
        finally:
            await client.stop_job(job_id)


async def test_from_a_nodes_screen_to_a_functions_tasks_there_and_a_classs_actors(chatty):
    """The node screen's "what runs here" tables: Enter on a task function opens its tasks
    with the filter set to this node; Enter on an actor class shows the Actors pane filtered
    to it."""
    from raycockpit.screens.node_detail import NodeDetailScreen
    from raycockpit.screens.widgets.filter_bar import FilterBar

    head, ids = chatty
    app = make_app(Settings(refresh=2.0), address=head.dashboard_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.nodes, what="nodes")
        await pilot.press("2")
        nodes = app.query_one("#nodes-table")
        await wait_for(pilot, lambda: nodes.row_count >= 1, what="the head")
        nodes.focus()
        await pilot.press("home", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, NodeDetailScreen), what="its screen")
        screen = app.screen
        node_name = screen.node.name
        tasks = screen.query_one("#node-tasks", KeyedTable)
        await wait_for(
            pilot, lambda: "checked_square" in tasks.visible_keys, timeout=60, what="the function"
        )
        rows = {row[0]: row for row in table_rows(tasks)}
        assert rows["checked_square"][2].startswith(("FINISHED", "FAILED")), rows
        tasks.focus()
        await pilot.press("home")
        while tasks.selected_key != "checked_square":
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TasksScreen), what="its tasks")
        listed = app.screen
        assert listed.function == "checked_square"
        assert listed.query_one(FilterBar).value == node_name
        table = listed.query_one(KeyedTable)
        await wait_for(pilot, lambda: table.row_count > 0, what="its tasks listed")
        assert {row[3] for row in table_rows(table)} == {node_name}  # the Node column
        await pilot.press("escape")
        assert app.screen is screen
        actors = screen.query_one("#node-actors", KeyedTable)
        await wait_for(pilot, lambda: "Chatty" in actors.visible_keys, what="the class")
        actors.focus()
        await pilot.press("home")
        while actors.selected_key != "Chatty":
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_pane == "actors", what="the Actors pane")
        assert not isinstance(app.screen, NodeDetailScreen)
        pane_filter = app.query_one("#actors FilterBar", FilterBar)
        assert pane_filter.value == "Chatty"
        actor_table = app.query_one("#actors-table", KeyedTable)
        await wait_for(pilot, lambda: actor_table.row_count > 0, what="its actors")
        assert {row[0] for row in table_rows(actor_table)} == {"Chatty"}
