"""cockpit/gc_pacing.py: snapshots frozen out of automatic collections, full sweeps while the
keyboard is idle, never put off past MAX_DELAY_S."""

from __future__ import annotations

import gc
import os
import weakref

import pytest

from raycockpit.cockpit import gc_pacing
from raycockpit.cockpit.gc_pacing import GcPacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_sweep_waits_for_its_beat_and_an_idle_keyboard():
    clock = Clock()
    pacer = GcPacer(clock)
    try:
        assert not pacer.sweep_if_due()
        clock.now += gc_pacing.SWEEP_EVERY_S
        pacer.key_pressed()
        assert not pacer.sweep_if_due()  # a key was just answered
        clock.now += gc_pacing.IDLE_S
        assert pacer.sweep_if_due() and pacer.sweeps == 1
        assert not pacer.sweep_if_due()  # the next one a beat later
    finally:
        pacer.stop()


def test_typing_never_puts_a_sweep_off_past_the_cap():
    clock = Clock()
    pacer = GcPacer(clock)
    try:
        while clock.now < 1000.0 + gc_pacing.MAX_DELAY_S - 0.5:
            pacer.key_pressed()
            assert not pacer.sweep_if_due()
            clock.now += 0.5
        clock.now += 0.5
        pacer.key_pressed()
        assert pacer.sweep_if_due()
    finally:
        pacer.stop()


def test_frozen_cyclic_garbage_waits_for_the_sweep_and_no_longer():
    clock = Clock()
    pacer = GcPacer(clock)
    try:
        cycle = Cycle()
        gone = []
        ref = weakref.ref(cycle, lambda _: gone.append(True))
        pacer.freeze()
        del cycle
        gc.collect()  # automatic and explicit collections leave the frozen objects alone...
        assert ref() is not None and not gone
        clock.now += gc_pacing.SWEEP_EVERY_S + gc_pacing.IDLE_S
        assert pacer.sweep_if_due()  # ... the sweep frees them
        assert ref() is None and gone
    finally:
        pacer.stop()
    assert gc.get_freeze_count() == 0


def test_quiet_start_freezes_what_is_loaded_and_collects_young_objects_less_often(monkeypatch):
    monkeypatch.setattr(gc_pacing, "_paced", False)  # quiet_start sets it: undone after the test
    before = gc.get_threshold()
    try:
        cycle = Cycle()  # alive before the start, as the modules loaded so far are
        ref = weakref.ref(cycle)
        gc_pacing.quiet_start()
        assert gc.get_threshold() == (50_000, 20, 20)
        del cycle
        gc.collect()  # frozen: out of the collector's sight
        assert ref() is not None
        gc.unfreeze()
        gc.collect()
        assert ref() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_a_build_in_the_poller_thread_runs_without_collections_once_the_app_paces_them(
    monkeypatch,
):
    was_enabled = gc.isenabled()
    gc.enable()
    # another test in this process may have run the CLI, whose quiet_start turns pacing on
    monkeypatch.setattr(gc_pacing, "_paced", False)
    with gc_pacing.building():  # not paced (--once, tests): Python's collector as it is
        assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(gc_pacing, "_paced", True)
    try:
        with gc_pacing.building():
            assert not gc.isenabled()  # no collection walks the snapshot being built
            made = Cycle()
            ref = weakref.ref(made)
            del made
        assert gc.isenabled()
        gc.collect()
        assert ref() is not None  # what the build made is frozen, out of the collector's sight
        gc.disable()  # a collector someone else turned off stays off
        try:
            with gc_pacing.building():
                pass
            assert not gc.isenabled()
        finally:
            gc.enable()
        gc.unfreeze()  # the app's sweep
        gc.collect()
        assert ref() is None
    finally:
        gc.unfreeze()
        if not was_enabled:
            gc.disable()


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not gc_pacing.trim_heap(), reason="no malloc_trim in this C library")
def test_the_heap_freed_between_kept_objects_goes_back_to_the_os():
    # 64 MiB of 1 KiB blocks (over pymalloc's limit: the C heap's), every 64th kept: the free
    # runs between the kept ones cannot be given back by shrinking the heap's top, only by a trim
    blocks = [bytes(1024) for _ in range(64 * 1024)]
    kept = blocks[::64]
    del blocks
    before = _rss_mib()
    assert gc_pacing.trim_heap()
    after = _rss_mib()
    assert before - after > 32, (before, after)
    assert len(kept) == 1024
