"""A node's log list as the Node logs screen orders and names it, on the listing Ray 2.60 gave on
the real head (`/api/v0/logs?node_id=...`, a few names of each category kept)."""

from __future__ import annotations

from raycockpit.screens.node_logs import file_about, file_rows

LISTED = {
    "internal": ["dashboard_JobHead.err", "jobs/", "dashboard_JobHead.log"],
    "worker_out": [
        "worker-d832862d6fb9468c51333ca4f55441c27d45236f17e34f76d66eb89d-03000000-14280.out",
        "worker-25739b6a442fed2215ae2b4d67d2bbf250ab085dafd6596e7abdf189-ffffffff-14073.out",
    ],
    "core_worker": [
        "python-core-worker-927033ad1c231f629af8456fce05991a3b25ee0ded0da1d1da4c0950_15931.log"
    ],
    "gcs_server": ["gcs_server.err", "gcs_server.out"],
    "driver": [
        "python-core-driver-02000000ffffffffffffffffffffffffffffffffffffffffffffffff_13991.log"
    ],
    "raylet": ["raylet.err", "raylet.out"],
    "some_new_category": ["new.log"],
}


def test_files_come_by_category_as_people_read_them_and_folders_are_left_out():
    rows = file_rows(LISTED)
    assert [row[1][0] for row in rows] == [
        "raylet",
        "raylet",
        "gcs_server",
        "gcs_server",
        "worker_out",
        "worker_out",
        "driver",
        "core_worker",
        "internal",
        "internal",
        "some_new_category",  # one Ray adds later: listed, last
    ]
    assert "jobs/" not in [row[0] for row in rows]
    assert rows[1][0] == "raylet.out" and rows[1][1][1] == "raylet.out"


def test_what_a_file_is_in_words():
    worker, idle = LISTED["worker_out"]
    assert file_about("worker_out", worker) == "job 03000000 · pid 14280"
    assert file_about("worker_out", idle) == "no job · pid 14073"
    assert file_about("core_worker", LISTED["core_worker"][0]) == "pid 15931"
    assert file_about("driver", LISTED["driver"][0]) == "driver of job 02000000 · pid 13991"
    assert "OOM" in file_about("raylet", "raylet.out")
    assert file_about("some_new_category", "new.log") == ""
