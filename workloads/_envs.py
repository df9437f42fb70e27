"""A small custom gymnasium environment for the rl workload's `--env custom`.

MatchArgmaxEnv: each step shows 10 random numbers; picking the action equal to the argmax of
the first four earns 1, anything else 0. A random policy scores ~5 per 20-step episode, a
learned one approaches 20: the reward is learnable, so training progress is visible.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

ENV_NAME = "raycockpit-match-argmax-v0"


class MatchArgmaxEnv(gym.Env):
    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        config = dict(config or {})
        self.episode_len = int(config.get("episode_len", 20))
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(10,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(4)
        self._rng = np.random.default_rng(config.get("seed"))
        self._obs = np.zeros(10, dtype=np.float32)
        self._t = 0

    def _draw(self) -> np.ndarray:
        self._obs = self._rng.uniform(-1.0, 1.0, size=10).astype(np.float32)
        return self._obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t = 0
        return self._draw(), {}

    def step(self, action):
        reward = 1.0 if int(action) == int(np.argmax(self._obs[:4])) else 0.0
        self._t += 1
        truncated = self._t >= self.episode_len
        return self._draw(), reward, False, truncated, {}


def register() -> str:
    """Register the env with Ray Tune's registry (RLlib looks env names up there)."""
    from ray.tune.registry import register_env

    register_env(ENV_NAME, lambda cfg: MatchArgmaxEnv(cfg))
    return ENV_NAME
