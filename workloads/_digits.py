"""The model and data shared by train, tune and serve: an MLP on scikit-learn's digits.

1,797 8x8 grey-level images (pixel values 0..16) bundled with scikit-learn: no download.
The model divides its input by 16 itself, so Serve takes the same raw 64-value rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NUM_FEATURES = 64
NUM_CLASSES = 10
CHECKPOINT_FILE = "model.pt"


def load_split(test_size: float = 0.2, seed: int = 0):
    """(x_train, y_train, x_test, y_test) as float32 / int64 numpy arrays, stratified."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x.astype(np.float32), y.astype(np.int64), test_size=test_size, random_state=seed, stratify=y
    )
    return x_tr, y_tr, x_te, y_te


def build_model(hidden_size: int = 128, dropout: float = 0.0, layers: int = 2):
    import torch
    from torch import nn

    class DigitsMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            blocks: list[nn.Module] = []
            width = NUM_FEATURES
            for _ in range(layers):
                blocks += [nn.Linear(width, hidden_size), nn.ReLU(), nn.Dropout(dropout)]
                width = hidden_size
            blocks.append(nn.Linear(width, NUM_CLASSES))
            self.net = nn.Sequential(*blocks)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x / 16.0)

    return DigitsMLP()


def model_config(hidden_size: int, dropout: float, layers: int) -> dict[str, Any]:
    return {"hidden_size": int(hidden_size), "dropout": float(dropout), "layers": int(layers)}


def evaluate(model, loader, device) -> tuple[float, float, int]:
    """(mean loss, accuracy, count) of `model` over `loader`."""
    import torch
    import torch.nn.functional as F

    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            loss_sum += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
            count += len(yb)
    return loss_sum / max(count, 1), correct / max(count, 1), count


def save(path: str, model, config: dict[str, Any], metrics: dict[str, Any]) -> None:
    import os

    import torch

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(
        {"state_dict": state, "config": config, "metrics": metrics},
        os.path.join(path, CHECKPOINT_FILE),
    )


def load(directory: str):
    """(model, config, metrics) from a checkpoint directory written by `save`."""
    import os

    import torch

    blob = torch.load(
        os.path.join(directory, CHECKPOINT_FILE), map_location="cpu", weights_only=True
    )
    cfg = blob["config"]
    model = build_model(cfg["hidden_size"], cfg["dropout"], cfg.get("layers", 2))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, cfg, blob.get("metrics", {})
