"""The digits classifier as a FastAPI app, served by Ray Serve (and, for comparison, uvicorn).

`build_fastapi(get_backend)` makes the HTTP app: `POST /predict` takes a JSON list of rows of
64 pixel values (0..16, sklearn digits layout; `{"instances": [...]}` also accepted) and answers
predicted classes and class probabilities; `GET /health` says which model is loaded.
`DigitsService` is the Serve deployment (async, `@serve.batch`); `Predictor` holds the model.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from workloads import _digits

MAX_ROWS = 4096


class Predictor:
    """The model: the train workload's checkpoint, or a freshly initialised MLP."""

    def __init__(self, checkpoint: str = "", seed: int = 0, use_gpu: bool = False) -> None:
        import torch

        torch.set_num_threads(1)
        self.device = torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
        self.checkpoint = checkpoint
        self.metrics: dict[str, Any] = {}
        if checkpoint:
            model, cfg, metrics = self._load(checkpoint)
            self.source = "checkpoint"
            self.metrics = {
                k: v for k, v in metrics.items() if k in ("epoch", "test_accuracy", "test_loss")
            }
        else:
            torch.manual_seed(seed)
            cfg = _digits.model_config(128, 0.0, 2)
            model = _digits.build_model(**cfg)
            self.source = "random-init"
        self.config = cfg
        self.model = model.to(self.device).eval()
        self._lock = threading.Lock()
        self.requests = 0
        self.rows = 0
        self.batches = 0

    @staticmethod
    def _load(checkpoint: str):
        if "://" not in checkpoint and os.path.isdir(checkpoint):
            return _digits.load(checkpoint)
        from ray.train import Checkpoint  # remote storage: download to a temp dir

        with Checkpoint(checkpoint).as_directory() as local:
            return _digits.load(local)

    def predict_array(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.no_grad():
            logits = self.model(torch.from_numpy(x.astype(np.float32)).to(self.device))
            probs = torch.softmax(logits, dim=1).cpu().numpy()
        with self._lock:
            self.batches += 1
        return probs.argmax(1), probs

    def answer(self, classes: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
        with self._lock:
            self.requests += 1
            self.rows += len(classes)
        return {
            "predictions": classes.tolist(),
            "probabilities": np.round(probs, 6).tolist(),
            "model": self.source,
        }

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "model": self.source,
            "checkpoint": self.checkpoint or None,
            "model_config": self.config,
            "checkpoint_metrics": self.metrics,
            "device": str(self.device),
            "pid": os.getpid(),
            "requests": self.requests,
            "rows": self.rows,
            "batches": self.batches,
        }


def parse_rows(payload: Any) -> np.ndarray:
    """Validate the request body; raises ValueError with a message for the client."""
    if isinstance(payload, dict) and "instances" in payload:
        payload = payload["instances"]
    if not isinstance(payload, list) or not payload:
        raise ValueError("body must be a non-empty JSON list of rows of 64 numbers")
    if len(payload) > MAX_ROWS:
        raise ValueError(f"at most {MAX_ROWS} rows per request")
    if all(isinstance(v, (int, float)) for v in payload):
        payload = [payload]  # one bare row
    try:
        x = np.asarray(payload, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError("rows must be lists of numbers") from None
    if x.ndim != 2 or x.shape[1] != _digits.NUM_FEATURES:
        raise ValueError(
            f"each row needs {_digits.NUM_FEATURES} numbers (8x8 pixels, 0..16), "
            f"got shape {list(x.shape)}"
        )
    if not np.isfinite(x).all():
        raise ValueError("rows must be finite numbers")
    return x


def build_fastapi(get_backend: Callable[[], Any]):
    """The HTTP app. `get_backend()` returns an object with async `predict(x)` and `health()`."""
    from fastapi import Body, FastAPI, HTTPException

    app = FastAPI(title="raycockpit digits classifier")

    @app.post("/predict")
    async def predict(payload: Any = Body(...)) -> dict[str, Any]:
        try:
            x = parse_rows(payload)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        return await get_backend().predict(x)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return get_backend().health()

    return app


class DirectBackend:
    """No batching: what the app runs with under plain uvicorn."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor

    async def predict(self, x: np.ndarray) -> dict[str, Any]:
        return self.predictor.answer(*self.predictor.predict_array(x))

    def health(self) -> dict[str, Any]:
        return self.predictor.health()


# The replica's backend, looked up through module-level functions: Ray may pickle the
# deployment class by value, and these are then still resolved in the real module.
_BACKEND: dict[str, Any] = {}


def register_backend(backend: Any) -> None:
    _BACKEND["backend"] = backend


def registered_backend() -> Any:
    return _BACKEND["backend"]


fastapi_app = build_fastapi(registered_backend)


def make_deployment():
    """The Serve deployment class (import ray.serve only when serving)."""
    from ray import serve

    @serve.deployment(
        graceful_shutdown_timeout_s=2.0,
        graceful_shutdown_wait_loop_s=0.5,
        health_check_period_s=5.0,
    )
    @serve.ingress(fastapi_app)
    class DigitsService:
        def __init__(
            self,
            checkpoint: str = "",
            seed: int = 0,
            use_gpu: bool = False,
            max_batch_size: int = 16,
            batch_wait_timeout_s: float = 0.0,
        ) -> None:
            self.predictor = Predictor(checkpoint, seed, use_gpu)
            self.started = time.time()
            self.predict_batched.set_max_batch_size(max_batch_size)
            self.predict_batched.set_batch_wait_timeout_s(batch_wait_timeout_s)
            register_backend(self)

        @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.0)
        async def predict_batched(self, xs: list[np.ndarray]) -> list[dict[str, Any]]:
            # One forward pass for all the requests that arrived together.
            sizes = [len(x) for x in xs]
            classes, probs = self.predictor.predict_array(np.concatenate(xs))
            out, start = [], 0
            for n in sizes:
                out.append(
                    self.predictor.answer(classes[start : start + n], probs[start : start + n])
                )
                start += n
            return out

        async def predict(self, x: np.ndarray) -> dict[str, Any]:
            return await self.predict_batched(x)

        def health(self) -> dict[str, Any]:
            return {**self.predictor.health(), "uptime_s": round(time.time() - self.started, 1)}

    return DigitsService
