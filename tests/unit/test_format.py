"""Numbers, sizes, durations and times as text, the panes' way and `--once`'s (no cluster)."""

from __future__ import annotations

import time

import pytest

from raycockpit.cockpit.format import (
    amount,
    exact,
    human_bytes,
    human_duration,
    is_byte_count,
    is_bytes,
    local_time,
    timestamp,
    usage_text,
)
from raycockpit.cockpit.models import Usage

GIB = 2**30


@pytest.mark.parametrize(
    "n,pane,report",
    [
        (None, "-", "-"),
        (0, "0 B", "0B"),
        (512, "512 B", "512B"),
        (1023, "1023 B", "1023B"),
        (1024, "1.0 KiB", "1.0KiB"),
        (1536, "1.5 KiB", "1.5KiB"),
        (-2048, "-2.0 KiB", "-2.0KiB"),
        (6.91 * GIB, "6.9 GiB", "6.9GiB"),
        (3 * 2**40, "3.0 TiB", "3.0TiB"),
        (5 * 2**50, "5.0 PiB", "5120.0TiB"),
        (2**60, "1024.0 PiB", "1048576.0TiB"),
    ],
)
def test_human_bytes_in_both_looks(n, pane, report):
    assert human_bytes(n) == pane
    assert human_bytes(n, compact=True) == report


@pytest.mark.parametrize(
    "value,pane,report",
    [
        (0, "0", "0"),
        (2.0, "2", "2"),
        (0.5, "0.5", "0.5"),
        (2.25, "2.25", "2.25"),
        (0.3333, "0.33", "0.3333"),
        (10**6, "1000000", "1e+06"),
        (12345678.9, "12345678.9", "1.23457e+07"),
    ],
)
def test_amount_in_both_looks(value, pane, report):
    assert amount(value) == pane
    assert amount(value, compact=True) == report


@pytest.mark.parametrize(
    "value,text",
    [
        (1, "1"),
        (10**7, "10000000"),
        (1048576.0, "1048576"),  # `g` said 1.04858e+06: another number
        (2**31 - 1, "2147483647"),
        (0.01, "0.01"),
        (64.0, "64"),
        (-3, "-3"),
    ],
)
def test_a_bound_is_shown_exactly(value, text):
    assert exact(value) == text


def test_metrics_that_count_bytes():
    for name in ("array_bytes", "object_store_bytes_used", "object_store_bytes_before", "bytes"):
        assert is_byte_count(name), name
    for name in ("read_gb_per_s", "bytes_per_s", "tasks_per_s", "bytesize", "loss", ""):
        assert not is_byte_count(name), name


def test_the_bytes_rule():
    for name in ("memory", "object_store_memory", "objectStoreMemory", "host_memory"):
        assert is_bytes(name), name
    for name in ("CPU", "GPU", "disk", "node:127.0.0.1", "accelerator_type:A100", ""):
        assert not is_bytes(name), name


def test_usage_text():
    assert usage_text(None) == "-"
    assert usage_text(Usage("memory", GIB, 4 * GIB)) == "1.0 GiB / 4.0 GiB"  # bytes by its name
    assert usage_text(Usage("CPU", 0.5, 8)) == "0.5 / 8"
    assert usage_text(Usage("disk", GIB, 4 * GIB), is_bytes=True, sep="/") == "1.0 GiB/4.0 GiB"
    store = Usage("object_store_memory", 11.43 * 1024, 6.91 * GIB)
    assert usage_text(store, sep="/", compact=True) == "11.4KiB/6.9GiB"
    assert usage_text(Usage("CPU", 1, 2), sep="/", compact=True) == "1/2"


@pytest.mark.parametrize(
    "seconds,text",
    [
        (None, "-"),
        (0, "0s"),
        (59.9, "59s"),
        (60, "1m00s"),
        (125, "2m05s"),
        (3600, "1h00m"),
        (7260, "2h01m"),
        (86400, "1d00h"),
        (90000, "1d01h"),
    ],
)
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_times_are_local():
    at = 1_700_000_000
    expected = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
    assert local_time(at) == expected
    assert timestamp(at * 1000) == expected
    assert timestamp(None) == "-" and timestamp(0) == "-"
