"""Actors for the actor-screen tests. `Chatty` writes `out N` to stdout and `err N` to stderr,
RATE of each a second, COUNT of each in all (argv[1], argv[2]); `Broken` raises in its
constructor; `checked_square` tasks print `square N` and fail for N = 3, 10 (ValueError). The
driver runs the tasks, prints the actors' ids on one line (`@@ids {json}`), waits for Chatty to
end, then sleeps (the test stops the job). Nothing asks for a CPU: the shared 2-CPU head stays
free for the other tests."""

import json
import sys
import time

import ray

COUNT, RATE = int(sys.argv[1]), float(sys.argv[2])
ray.init()


@ray.remote(num_cpus=0)
class Chatty:
    def run(self, count: int, rate: float) -> int:
        for n in range(count):
            print(f"out {n}", flush=True)
            print(f"err {n}", file=sys.stderr, flush=True)
            time.sleep(1.0 / rate)
        return count


@ray.remote(num_cpus=0)
class Broken:
    def __init__(self):
        raise ValueError("bad config: lr must be > 0")


@ray.remote(num_cpus=0, max_retries=0)
def checked_square(n: int) -> int:
    print(f"square {n}", flush=True)
    if n % 7 == 3:
        raise ValueError(f"bad input {n}")
    return n * n


ray.wait([checked_square.remote(n) for n in range(12)], num_returns=12)
chatty, broken = Chatty.remote(), Broken.remote()
ids = {"chatty": chatty._actor_id.hex(), "broken": broken._actor_id.hex()}
print("@@ids " + json.dumps(ids), flush=True)
ray.get(chatty.run.remote(COUNT, RATE))
print("@@done", flush=True)
time.sleep(600)
