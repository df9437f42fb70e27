"""Tasks for the task-log tests. `paced` writes `paced N` to stdout and `paced err N` to stderr,
RATE of each a second, COUNT in all (argv[1], argv[2]); then `next_one`, run after it (on the
same worker when Ray reuses it, as it does for a job's idle worker), writes `next says hi`; with
`alone` (argv[3]) it is not run, and paced's worker stays idle after it. The driver prints
`@@done` at the end and sleeps (the test stops the job). Nothing asks for a CPU."""

import sys
import time

import ray

COUNT, RATE = int(sys.argv[1]), float(sys.argv[2])
ray.init()


@ray.remote(num_cpus=0, max_retries=0)
def paced(count: int, rate: float) -> int:
    for n in range(count):
        print(f"paced {n}", flush=True)
        print(f"paced err {n}", file=sys.stderr, flush=True)
        time.sleep(1.0 / rate)
    return count


@ray.remote(num_cpus=0, max_retries=0)
def next_one() -> None:
    print("next says hi", flush=True)


ray.get(paced.remote(COUNT, RATE))
if sys.argv[3:] != ["alone"]:
    ray.get(next_one.remote())
print("@@done", flush=True)
time.sleep(600)
