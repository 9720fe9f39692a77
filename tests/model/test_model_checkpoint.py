"""Checkpoints: safetensors + config.json round trip; clear errors on mismatch; `model init`."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from microturn.runtime.cli import main
from microturn.runtime.model.checkpoint import CheckpointMismatch, load_model, save_checkpoint
from microturn.runtime.model.features import random_turns
from model_helpers import make_model


def test_round_trip_gives_identical_outputs(tmp_path):
    model = make_model(seed=5)
    save_checkpoint(model, tmp_path / "ck")
    loaded = load_model(tmp_path / "ck")
    assert loaded.config == model.config
    tt = random_turns(model.config, 2, 2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = model.forward_sequence(tt), loaded.forward_sequence(tt)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    # the .safetensors file itself is accepted too
    assert load_model(tmp_path / "ck" / "model.safetensors").config == model.config


def test_mismatch_lists_missing_unexpected_and_wrong_shapes(tmp_path):
    save_checkpoint(make_model(), tmp_path / "ck")
    weights = tmp_path / "ck" / "model.safetensors"
    state = load_file(str(weights))
    del state["layers.0.router"]
    state["layers.1.wo"] = torch.zeros(3, 3)
    state["extra.weight"] = torch.zeros(2)
    save_file(state, str(weights))
    with pytest.raises(CheckpointMismatch) as err:
        load_model(tmp_path / "ck")
    msg = str(err.value)
    assert "missing (1): layers.0.router" in msg
    assert "unexpected (1): extra.weight" in msg
    assert "layers.1.wo: model (64, 64), " in msg and "(3, 3)" in msg


def test_config_that_does_not_fit_the_weights(tmp_path):
    save_checkpoint(make_model(), tmp_path / "ck")
    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())
    cfg["n_experts"] = 8
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointMismatch, match=r"layers\.0\.w_gate_up: model \(8, 256, 64\)"):
        load_model(tmp_path / "ck")
    cfg["bogus"] = 1
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="unknown model config keys: bogus"):
        load_model(tmp_path / "ck")
    with pytest.raises(FileNotFoundError, match="no checkpoint weights"):
        load_model(tmp_path / "nowhere")


def test_model_init_command_writes_a_loadable_checkpoint(tmp_path, capsys):
    assert main(["model", "init", "--config", "tiny", "--out", str(tmp_path / "ck"), "--seed", "3"]) == 0
    model = load_model(tmp_path / "ck")
    assert model.config.name == "tiny"
    assert main(["model", "init", "--config", "tml-small", "--out", str(tmp_path / "big")]) == 2
    assert not (tmp_path / "big").exists()
