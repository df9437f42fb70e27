"""When Python's cyclic garbage collector may stop the world: not while a key is being answered.

CPython's full (generation 2) collection walks every tracked object with the GIL held. At 1,000
nodes x 8 GPUs + 10,000 jobs the cockpit holds ~140,000 of them (the snapshot's models, the GPU
history, Textual's widgets) and a full collection took 110-210 ms on this 2-core box, every 2-3
refreshes, from whichever thread allocated last: the UI thread stalled that long and a key landing
then waited for it (the key-latency outliers of benchmarks/scale.py).

So: each snapshot, once shown, is frozen (`gc.freeze()`: everything alive moves to the permanent
generation, O(1)), and automatic collections only walk what was made since: a few milliseconds.
Frozen objects are still freed by reference counting the moment the last reference goes (the
models hold no cycles); only cyclic garbage among frozen objects waits, for the sweep: every
SWEEP_EVERY_S, once the keyboard has been idle IDLE_S, everything is unfrozen and collected in
full, then frozen again (the pause a person does not feel while not typing). A sweep is never put
off more than MAX_DELAY_S, so memory stays bounded whatever the typing.

At start-up (`quiet_start`, called by cli.py just before the app runs), the same two ideas once
more: the modules loaded so far live as long as the process, so they are frozen out of the
collector's sight; and young objects are collected less eagerly (generation 0 after 50,000 net
allocations, not Python's 700): a big cluster's poll makes many short-lived objects, and with the
default thresholds full collections of everything alive stalled the event loop for 110-160 ms
every other poll at 1,000 nodes. The GcPacer below keeps what each shown snapshot adds out of
sight too.

After each shown snapshot the heap pages freed with the previous one go back to the OS
(`trim_heap`: glibc's malloc_trim, ~0.4 ms): without it the process kept ~20 MiB of freed heap at
5,000 nodes x 8 GPUs (RSS between refreshes 210 -> 191 MiB in `scale.py --soak`).

And while the poller builds a snapshot in its worker thread (`building()`, once `quiet_start` has
run), automatic collections are off and what the build made is frozen when it ends: a build at
1,000 nodes x 10,000 jobs allocates ~140,000 objects that live on as the new snapshot, so it
crossed the young generation's threshold two or three times, and each of those collections (in
the worker thread, with the GIL held: no key is answered meanwhile) walked 50,000 objects for
20-45 ms. The key that landed then waited for them (measured in the real binary: an Escape
waiting 44 ms on a collection in the poller's thread).
"""

from __future__ import annotations

import ctypes
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SWEEP_EVERY_S = 60.0
IDLE_S = 1.0
MAX_DELAY_S = 600.0
THRESHOLDS = (50_000, 20, 20)  # gc.set_threshold at start-up (Python's own: 700, 10, 10)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; absent on musl and macOS
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def trim_heap() -> bool:
    """Give the C heap's free pages back to the OS; False where the C library cannot."""
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True


_paced = False  # quiet_start has run: the app paces collections (and sweeps what is frozen)


def quiet_start() -> None:
    """Once, before the app runs: what is loaded is frozen, young objects collected less often
    (see the module's docstring)."""
    global _paced
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    _paced = True


@contextmanager
def building() -> Iterator[None]:
    """Around a snapshot's build in the poller's thread: no automatic collection while it runs,
    and what it made (the new snapshot, mostly; and what the UI thread made meanwhile) frozen
    when it ends, so the next collection does not walk it either. Only once quiet_start has run
    (the app, whose GcPacer sweeps what is frozen); elsewhere (`--once`, tests) Python's
    collector is left as it is. Nested or concurrent builds leave the collector enabled once the
    last of them ends."""
    if not _paced:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class GcPacer:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_sweep = clock()
        self._last_key = float("-inf")
        self.sweeps = 0
        self.last_sweep_s = 0.0
        self.freezes = 0

    def key_pressed(self) -> None:
        self._last_key = self._clock()

    def freeze(self) -> None:
        """What is alive now is left out of automatic collections, and the heap trimmed (call
        after a snapshot is shown: the previous one's models are gone by then, freed by
        reference counting)."""
        gc.freeze()
        trim_heap()  # and the pages the previous snapshot's models freed go back to the OS
        self.freezes += 1

    def due(self) -> bool:
        now = self._clock()
        since = now - self._last_sweep
        idle = now - self._last_key >= IDLE_S
        return since >= MAX_DELAY_S or (since >= SWEEP_EVERY_S and idle)

    def sweep_if_due(self) -> bool:
        """A full collection of everything, frozen included, when due; True when it ran."""
        if not self.due():
            return False
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.last_sweep_s = time.perf_counter() - started
        self._last_sweep = self._clock()
        self.sweeps += 1
        return True

    def stop(self) -> None:
        """Back to Python's own collector (the app is closing, or a test is done with it)."""
        gc.unfreeze()
