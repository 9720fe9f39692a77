"""Training on a CUDA device (`microturn train --device cuda`): a short run lowers the loss and
writes a checkpoint that loads on the CPU.

Importable with what the lent GPU machines have (torch, numpy, safetensors, tqdm): the data set
is written here in `train data`'s format rather than generated (the generator needs eSpeak NG).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (no GPU here)")]


def _loudness_data(folder, episodes=6, turns=60, seed=0):
    """One shard whose label is readable from the audio: loud micro-turns are CONTINUE,
    quiet ones LISTEN, in runs of 2-8 micro-turns."""
    from microturn.runtime.model.config import FLOOR_ACTIONS
    from microturn.runtime.train.dataset import FORMAT, SAMPLES_PER_TURN, TEXT_WIDTH

    rng = np.random.default_rng(seed)
    n = episodes * turns
    loud = np.repeat(rng.integers(0, 2, n), rng.integers(2, 9, n))[:n].astype(bool)
    amplitude = np.where(loud, 8000, 100)[:, None]
    audio = (rng.normal(0, 1, (n, SAMPLES_PER_TURN)) * amplitude).clip(-32767, 32767).astype(np.int16)
    labels = np.where(loud, FLOOR_ACTIONS.index("CONTINUE"), FLOOR_ACTIONS.index("LISTEN")).astype(np.int8)
    folder.mkdir()
    np.savez(folder / "shard-00000.npz", audio=audio.reshape(-1), labels=labels,
             agent_state=np.ones(n, np.uint8), video_changed=np.zeros(n, np.uint8),
             timer_due=np.zeros(n, np.uint8), agent_text=np.zeros((n, TEXT_WIDTH), np.uint8),
             episode_turns=np.arange(0, n + 1, turns, dtype=np.int64))
    (folder / "manifest.json").write_text(json.dumps({
        "format": FORMAT, "sample_rate": 16000, "hours": n * 0.2 / 3600,
        "shards": [{"file": "shard-00000.npz"}]}))
    return folder


def test_short_training_run_on_cuda_lowers_the_loss_and_loads_on_the_cpu(tmp_path):
    from microturn.runtime.model.checkpoint import load_model
    from microturn.runtime.model.config import ModelConfig
    from microturn.runtime.train.loop import TrainOptions, train

    config = ModelConfig(name="test-small", d_model=32, n_layers=2, n_heads=2, n_kv_heads=1, head_dim=16,
                         n_experts=2, top_k=1, d_expert=64, window_turns=8)
    data = _loudness_data(tmp_path / "data")
    options = TrainOptions(minutes=5, batch_size=8, lr=5e-3, max_steps=60, validation_batches=4,
                           progress=False, device="cuda", eval_data=str(data))
    result = train(data, tmp_path / "ck", options, model_config=config)
    assert result["device"].startswith("cuda") and result["steps"] == 60
    assert result["val_floor_loss"] < 0.6 * result["initial_val_floor_loss"], result
    model = load_model(tmp_path / "ck")
    assert model.config == config
    assert all(p.device.type == "cpu" for p in model.parameters())
