"""Interaction-model tests that need a CUDA device: model-level batch invariance with the
triton backend (float32 and bfloat16), and the gate for an (experimental) TensorRT engine.

Importable with torch + triton + microturn.kernels + numpy alone (what the lent GPU machines
have): no helpers from other test folders, no safetensors, no pydantic.
"""

from __future__ import annotations

import pytest
import torch

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (no GPU here)")]

TURNS = 20
SCHEDULE = [(0, 20), (0, 6), (2, 14), (3, 9), (5, 20), (4, 17), (1, 12)]  # (join, leave) of 7 others


def _model(dtype):
    from microturn.runtime.model.backends import TritonOps
    from microturn.runtime.model.config import get_config
    from microturn.runtime.model.transformer import InteractionModel

    torch.manual_seed(0)
    return InteractionModel(get_config("tiny"), ops=TritonOps()).to("cuda", dtype).eval()


def _alone(model, mine):
    from microturn.runtime.model.streaming import StreamingSessions

    sessions = StreamingSessions(model)
    sessions.open("me")
    return [sessions.step(["me"], mine.index((slice(None), slice(i, i + 1)))) for i in range(TURNS)]


def _batched(model, mine, seed):
    from microturn.runtime.model.features import TurnTensors, random_turns
    from microturn.runtime.model.streaming import StreamingSessions

    g = torch.Generator().manual_seed(seed)
    sessions = StreamingSessions(model, initial_slots=2)
    outs, sizes = [], []
    for i in range(TURNS):
        for j, (join, leave) in enumerate(SCHEDULE):
            if i == join:
                sessions.open(f"o{j}")
            if i == leave and f"o{j}" in sessions:
                sessions.close(f"o{j}")
        if i == 0:
            sessions.open("me")
        ids = list(sessions.order)
        ids = [ids[k] for k in torch.randperm(len(ids), generator=g).tolist()]
        others = random_turns(model.config, len(ids), 1, g)
        rows = [mine.index((slice(None), slice(i, i + 1))) if s == "me" else others.index(slice(k, k + 1))
                for k, s in enumerate(ids)]
        tt = TurnTensors(*(torch.cat(parts) for parts in zip(*(r.as_tuple() for r in rows))))
        floor, text = sessions.step(ids, tt)
        k = ids.index("me")
        outs.append((floor[k:k + 1], text[k:k + 1]))
        sizes.append(len(ids))
    return outs, sizes


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_triton_backend_is_bitwise_batch_invariant_on_cuda(dtype):
    import microturn.kernels as K
    from microturn.runtime.model.features import random_turns

    model = _model(dtype)
    mine = random_turns(model.config, 1, TURNS, torch.Generator().manual_seed(7))
    with K.counting() as launched:
        alone = _alone(model, mine)
    assert launched["fused_moe"] + launched["moe_gate_up"] > 0   # the Triton path ran
    batched, sizes = _batched(model, mine, seed=11)
    assert max(sizes) == 8 and len(set(sizes)) >= 4
    for t, ((fa, ta), (fb, tb)) in enumerate(zip(alone, batched)):
        assert torch.equal(fa, fb), f"floor logits differ at micro-turn {t}"
        assert torch.equal(ta, tb), f"text logits differ at micro-turn {t}"


def test_tensorrt_engine_is_batch_invariant():
    """The gate an experimental TensorRT engine must pass before serving (one fixed profile)."""
    pytest.importorskip("torch_tensorrt", reason="TensorRT is not installed (experimental backend)")
    from microturn.runtime.model.export import StepModule, build_tensorrt, example_inputs, export_step

    model = _model(torch.float32).cpu()
    a = example_inputs(model, batch=8, cache_turns=3, seed=1)
    b = list(example_inputs(model, batch=8, cache_turns=3, seed=2))
    for i, t in enumerate(a):          # row 0 identical, the other 7 sessions differ
        if i in (6, 7):
            b[i][:, 0] = t[:, 0]
        else:
            b[i][0] = t[0]
    engine = build_tensorrt(export_step(model.cuda(), tuple(x.cuda() for x in a), dynamic=False), a)
    out_a = engine(*(x.cuda() for x in a))
    out_b = engine(*(x.cuda() for x in b))
    assert torch.equal(out_a[0][0], out_b[0][0]) and torch.equal(out_a[1][0], out_b[1][0])
    with torch.no_grad():
        eager = StepModule(model.cuda())(*(x.cuda() for x in a))
    torch.testing.assert_close(out_a[0], eager[0], rtol=1e-3, atol=1e-3)


def test_shipped_checkpoint_on_cuda_is_batch_invariant_and_matches_the_cpu():
    """The shipped checkpoint (safetensors, present on the GPU machines) through the Triton
    backend on CUDA: bitwise the same alone and batched, and the CPU reference's decisions."""
    pytest.importorskip("safetensors", reason="safetensors is not installed")
    from pathlib import Path

    import microturn.kernels as K
    from microturn.runtime.model.backends import TorchOps, TritonOps
    from microturn.runtime.model.checkpoint import load_model
    from microturn.runtime.model.features import random_turns

    shipped = Path(__file__).resolve().parents[2] / "checkpoints" / "tiny-floor-v3"
    cpu = load_model(shipped).eval()
    cpu.set_ops(TorchOps(invariant=True))
    gpu = load_model(shipped).to("cuda").eval()
    gpu.set_ops(TritonOps())
    mine = random_turns(gpu.config, 1, TURNS, torch.Generator().manual_seed(3))
    with torch.no_grad(), K.counting() as launched:
        alone = _alone(gpu, mine)
    assert launched["fused_moe"] + launched["moe_gate_up"] > 0
    with torch.no_grad():
        batched, _ = _batched(gpu, mine, seed=5)
        reference = _alone(cpu, mine)
    for t, ((fa, _), (fb, _), (fr, _)) in enumerate(zip(alone, batched, reference)):
        assert torch.equal(fa, fb), f"floor logits differ in a batch at micro-turn {t}"
        torch.testing.assert_close(fa.cpu(), fr, atol=2e-3, rtol=2e-3)
        assert torch.equal(fa.cpu().argmax(-1), fr.argmax(-1)), f"decision differs from the CPU at micro-turn {t}"
