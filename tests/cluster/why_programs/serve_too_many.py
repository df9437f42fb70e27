"""A Serve app whose deployment wants more replicas (1 CPU each) than the head has CPUs, on an
HTTP port of the test's choosing; then waits (the test stops the job and shuts Serve down)."""

import sys
import time

import ray
from ray import serve

replicas, port = int(sys.argv[1]), int(sys.argv[2])
ray.init()
serve.start(http_options={"host": "127.0.0.1", "port": port})


@serve.deployment(num_replicas=replicas, ray_actor_options={"num_cpus": 1})
class TooMany:
    def __call__(self, request):
        return "ok"


# waits until the app runs: it never does, so the job stays RUNNING while the test looks
serve.run(TooMany.bind(), name="whytoomany", route_prefix="/whytoomany")
print("deployed", replicas, "replicas", flush=True)
time.sleep(600)
