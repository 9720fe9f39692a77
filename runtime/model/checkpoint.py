"""Checkpoints: a folder with `model.safetensors` (weights) and `config.json` (the ModelConfig).

`load_model` accepts the folder or the `.safetensors` file inside it, rebuilds the model from
the config, and checks every tensor name and shape before loading; a mismatch is one error that
lists everything that differs (missing, unexpected, wrong shape), not the first KeyError.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from microturn.runtime.model.config import ModelConfig
from microturn.runtime.model.transformer import InteractionModel

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


class CheckpointMismatch(ValueError):
    """The weights in a checkpoint do not fit the model its config describes."""


def _paths(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    folder = path.parent if path.suffix == ".safetensors" else path
    weights = path if path.suffix == ".safetensors" else folder / WEIGHTS
    return weights, folder / CONFIG


def save_checkpoint(model: InteractionModel, path: str | Path) -> Path:
    """Write the folder `path` (created if needed); returns the weights file."""
    from safetensors.torch import save_file

    weights, config = _paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    save_file(tensors, str(weights), metadata={"format": "microturn-interaction-model", "config": model.config.name})
    config.write_text(model.config.to_json() + "\n")
    return weights


def check_state(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Raise CheckpointMismatch listing every missing, unexpected and mis-shaped tensor."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = [
        f"{name}: model {tuple(expected[name].shape)}, {source} {tuple(found[name].shape)}"
        for name in sorted(set(expected) & set(found))
        if tuple(expected[name].shape) != tuple(found[name].shape)
    ]
    if not (missing or unexpected or shapes):
        return
    lines = [f"{source} does not match the model:"]
    if missing:
        lines.append(f"  missing ({len(missing)}): " + ", ".join(missing))
    if unexpected:
        lines.append(f"  unexpected ({len(unexpected)}): " + ", ".join(unexpected))
    if shapes:
        lines.append(f"  wrong shape ({len(shapes)}):")
        lines.extend("    " + s for s in shapes)
    raise CheckpointMismatch("\n".join(lines))


def load_config(path: str | Path) -> ModelConfig:
    _, config = _paths(path)
    if not config.exists():
        raise FileNotFoundError(f"no {CONFIG} beside the weights: {config}")
    return ModelConfig.from_dict(json.loads(config.read_text()))


def load_model(path: str | Path, ops=None, device: str | torch.device = "cpu") -> InteractionModel:
    """Build the model the checkpoint's config describes and load its weights (checked)."""
    from safetensors.torch import load_file

    weights, _ = _paths(path)
    if not weights.exists():
        raise FileNotFoundError(f"no checkpoint weights at {weights}")
    config = load_config(path)
    model = InteractionModel(config, ops=ops)
    state = load_file(str(weights), device=str(device))
    check_state(model.state_dict(), state, source=str(weights))
    model.load_state_dict(state)
    return model.to(device).eval()
