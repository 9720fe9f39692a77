"""`microturn dev --policy model --checkpoint PATH` loads that checkpoint into the engine's policy."""

from __future__ import annotations

import subprocess
import sys

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
    random_init = build_engine(Settings(policy="model", secret="x" * 32))
    assert not torch.equal(random_init.policy.model.state_dict()[name], tensors[name])
