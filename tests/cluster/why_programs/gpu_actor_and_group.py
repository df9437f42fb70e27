"""A driver that asks for what a GPU-less 2-CPU head cannot give: an actor with a GPU and a
STRICT_PACK placement group of 1 + 8 CPUs; then waits (the test stops the job)."""

import time

import ray
from ray.util.placement_group import placement_group

ray.init()


@ray.remote(num_gpus=1)
class GpuHolder:
    def ping(self):
        return 1


holder = GpuHolder.remote()
group = placement_group([{"CPU": 1}, {"CPU": 8}], strategy="STRICT_PACK")
print("asked for a GPU actor and a 9-CPU STRICT_PACK group", flush=True)
time.sleep(600)
