"""Reinforcement learning: RLlib PPO (new API stack) on CartPole-v1 or a custom env.

    python -m workloads.rl [--preset smoke|full] [--env CartPole-v1|custom] ...

Each training iteration emits the mean episode return and env steps; training stops at
`--target-return`, `--max-iterations` or `--time-budget-s`, then the algorithm is saved as a
checkpoint (artifact).
"""

from __future__ import annotations

import os
import time
from typing import Any

from workloads import _args
from workloads._args import Param

WORKLOAD = "rl"

PARAMS: tuple[Param, ...] = (
    Param(
        "env",
        "choice",
        "CartPole-v1",
        "Environment: gymnasium CartPole-v1, or 'custom' "
        "(a registered gymnasium.Env: Box(10,) observations, Discrete(4) actions).",
        choices=("CartPole-v1", "custom"),
    ),
    Param("num_env_runners", "int", 1, "Remote env runners sampling in parallel.", min=0, max=1024),
    Param("envs_per_env_runner", "int", 4, "Vectorised envs in each env runner.", min=1, max=256),
    Param("cpus_per_env_runner", "float", 1.0, "CPUs reserved per env runner.", min=0.1, max=64.0),
    Param(
        "num_learners",
        "int",
        0,
        "Remote learners (0: learn in the driver's process).",
        min=0,
        max=256,
    ),
    _args.gpu_param("Learn on GPUs: auto uses them when the cluster has any."),
    Param(
        "gpus_per_learner", "float", 1.0, "GPUs per learner when GPUs are used.", min=0.01, max=8.0
    ),
    Param("max_iterations", "int", 40, "Most training iterations.", min=1, max=100000),
    Param(
        "target_return",
        "float",
        450.0,
        "Stop once the mean episode return reaches this (0: never stop early).",
        min=0.0,
        max=1000000.0,
    ),
    Param(
        "time_budget_s",
        "float",
        90.0,
        "Stop training after this many seconds (0: no limit).",
        min=0.0,
        max=604800.0,
    ),
    Param(
        "train_batch_size", "int", 4000, "Env steps per training iteration.", min=64, max=1000000
    ),
    Param("minibatch_size", "int", 128, "SGD minibatch size.", min=8, max=100000),
    Param("num_epochs", "int", 6, "SGD epochs per training batch.", min=1, max=100),
    Param("lr", "float", 0.0003, "Learning rate.", min=0.0000001, max=1.0),
    Param(
        "hidden_size",
        "int",
        32,
        "Width of the policy/value network's hidden layer.",
        min=4,
        max=4096,
    ),
    Param("seed", "int", 0, "Random seed.", min=0, max=2**31 - 1),
    Param(
        "storage_path",
        "str",
        "/tmp/raycockpit/rl",
        "Where the final checkpoint goes (local path or s3://, gs://, ...).",
    ),
)

PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"max_iterations": 3, "train_batch_size": 1000, "target_return": 0.0},
    "full": {
        "max_iterations": 40,
        "train_batch_size": 4000,
        "target_return": 450.0,
        "time_budget_s": 90.0,
    },
}


def main(argv: list[str] | None = None) -> int:
    params = _args.parse(WORKLOAD, PARAMS, PRESETS, argv)
    _args.not_above(WORKLOAD, params, "minibatch_size", "train_batch_size")
    from workloads import _cluster

    def body(em):
        t_start = time.perf_counter()
        _cluster.connect()
        from ray.rllib.algorithms.ppo import PPOConfig
        from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

        use_gpu = _cluster.resolve_gpu(params["use_gpu"])
        if params["env"] == "custom":
            from workloads import _envs

            env_name = _envs.register()
            env_config = {"episode_len": 20}
        else:
            env_name, env_config = params["env"], {}
        gpus_per_learner = params["gpus_per_learner"] if use_gpu else 0
        resources = {
            "num_env_runners": params["num_env_runners"],
            "envs_per_env_runner": params["envs_per_env_runner"],
            "cpus_per_env_runner": params["cpus_per_env_runner"],
            "num_learners": params["num_learners"],
            "gpus_per_learner": gpus_per_learner,
            "use_gpu": use_gpu,
            **_cluster.cluster_summary(),
        }
        em.start({**params, "env_id": env_name}, resources)
        config = (
            PPOConfig()
            .environment(env_name, env_config=env_config)
            .env_runners(
                num_env_runners=params["num_env_runners"],
                num_envs_per_env_runner=params["envs_per_env_runner"],
                num_cpus_per_env_runner=params["cpus_per_env_runner"],
            )
            .learners(num_learners=params["num_learners"], num_gpus_per_learner=gpus_per_learner)
            .training(
                lr=params["lr"],
                train_batch_size_per_learner=params["train_batch_size"],
                minibatch_size=params["minibatch_size"],
                num_epochs=params["num_epochs"],
                vf_loss_coeff=0.01,
            )
            .rl_module(
                model_config=DefaultModelConfig(
                    # A linear net is enough (and fastest) for CartPole; the custom env's
                    # argmax reward needs a non-linearity.
                    fcnet_hiddens=[params["hidden_size"]],
                    fcnet_activation="linear" if params["env"] == "CartPole-v1" else "relu",
                    vf_share_layers=True,
                )
            )
            .debugging(seed=params["seed"])
        )
        if params["num_learners"] == 0 and not use_gpu:
            # The learner runs in this process, which Ray gives no OMP_NUM_THREADS: torch's
            # default (all cores) spin-waits against the env runners on a small machine.
            import torch

            torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
        algo = config.build_algo()
        t_train = time.perf_counter()
        best, last, steps, reached_at = float("-inf"), float("nan"), 0, None
        stop_reason = "max_iterations"
        try:
            for it in range(1, params["max_iterations"] + 1):
                r = algo.train()
                runners = r.get("env_runners", {})
                ret = runners.get("episode_return_mean")
                steps = int(runners.get("num_env_steps_sampled_lifetime", steps) or steps)
                elapsed = time.perf_counter() - t_train
                metrics = {
                    "iteration": it,
                    "env_steps": steps,
                    "train_s": elapsed,
                    "episode_len_mean": runners.get("episode_len_mean"),
                    "num_episodes": runners.get("num_episodes"),
                }
                if ret is not None:
                    last = float(ret)
                    best = max(best, last)
                    metrics["episode_return_mean"] = last
                em.metric(it, metrics)
                target = params["target_return"]
                if target > 0 and ret is not None and last >= target:
                    reached_at = (it, steps, elapsed)
                    stop_reason = "target_return"
                    break
                if params["time_budget_s"] > 0 and elapsed >= params["time_budget_s"]:
                    stop_reason = "time_budget"
                    break
            train_s = time.perf_counter() - t_train
            _cluster.ensure_local_dir(params["storage_path"])
            ckpt_dir = _cluster.join(params["storage_path"], time.strftime("ppo-%Y%m%d-%H%M%S"))
            saved = algo.save_to_path(ckpt_dir)
            em.artifact("checkpoint", path=str(saved), type="rllib_checkpoint")
        finally:
            algo.stop()
        summary: dict[str, Any] = {
            "episode_return_mean": last,
            "best_return": best if best > float("-inf") else None,
            "env_steps": steps,
            "iterations": it,
            "train_s": train_s,
            "target_reached": int(reached_at is not None),
            "wall_s": time.perf_counter() - t_start,
        }
        if reached_at is not None:
            summary.update(
                {
                    "target_iteration": reached_at[0],
                    "target_env_steps": reached_at[1],
                    "target_s": reached_at[2],
                }
            )
        summary["_extra"] = {"stop_reason": stop_reason, "env_id": env_name}
        return summary

    _cluster.run(WORKLOAD, params, body)
    return 0


if __name__ == "__main__":
    from workloads.rl import main as _main

    raise SystemExit(_main())
