"""`microturn dev --policy model --checkpoint PATH` loads that checkpoint into the engine's policy;
with no policy or checkpoint named, the engine runs the model on the shipped checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from microturn.runtime.commands._serving import build_engine
from microturn.runtime.settings import Settings


def test_model_policy_is_built_from_the_given_checkpoint(tmp_path):
    ck = tmp_path / "ck"
    subprocess.run([sys.executable, "-m", "microturn.runtime", "model", "init", "--config", "tiny",
                    "--out", str(ck)], check=True, capture_output=True)
    # Mark the checkpoint so that only loading it (not a same-seed random init) can reproduce it.
    tensors = load_file(str(ck / "model.safetensors"))
    name = sorted(tensors)[0]
    tensors[name] = torch.full_like(tensors[name], 0.125)
    save_file(tensors, str(ck / "model.safetensors"))

    engine = build_engine(Settings(policy="model", checkpoint=str(ck), secret="x" * 32))
    assert torch.equal(engine.policy.model.state_dict()[name], tensors[name])
    random_init = build_engine(Settings(policy="model", checkpoint="random", secret="x" * 32))
    assert not torch.equal(random_init.policy.model.state_dict()[name], tensors[name])


def test_the_default_is_the_model_on_the_shipped_checkpoint_with_its_decisions():
    from microturn.checkpoints import SHIPPED
    from microturn.runtime.model.policy import ModelPolicy

    settings = Settings(secret="x" * 32)
    assert settings.policy == "model" and settings.checkpoint is None
    engine = build_engine(settings)
    assert isinstance(engine.policy, ModelPolicy)
    shipped = load_file(str(SHIPPED / "model.safetensors"))
    state = engine.policy.model.state_dict()
    assert sorted(state) == sorted(shipped)
    assert all(torch.equal(state[k], shipped[k]) for k in shipped)
    saved = json.loads((SHIPPED / "decisions.json").read_text())
    assert {k: getattr(engine.policy.decisions, k) for k in saved} == saved  # its tuned thresholds too


def test_a_missing_checkpoint_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="nope: no such file or folder"):
        build_engine(Settings(policy="model", checkpoint=str(tmp_path / "nope"), secret="x" * 32))
