"""Export of the step: torch.export matches eager, the Triton kernels stay single custom-op
nodes, and the reference graph exported to ONNX runs in onnxruntime and matches."""

from __future__ import annotations

import onnxruntime as ort
import torch

from microturn.runtime.model.backends import TorchOps, TritonOps
from microturn.runtime.model.export import INPUT_NAMES, StepModule, example_inputs, export_onnx, export_step
from model_helpers import make_model, small_config


def eager(model, inputs):
    with torch.no_grad():
        return StepModule(model)(*inputs)


def test_exported_program_matches_eager_at_other_shapes():
    model = make_model(small_config(n_layers=2), ops=TorchOps(invariant=True))
    program = export_step(model, example_inputs(model, batch=2, cache_turns=2))
    other = example_inputs(model, batch=3, cache_turns=4, seed=9)   # new batch and cache size
    with torch.no_grad():
        got = program.module()(*other)
    for a, b in zip(got, eager(model, other)):
        assert torch.equal(a, b)


def test_export_keeps_triton_kernels_as_custom_op_nodes():
    model = make_model(small_config(n_layers=1), ops=TritonOps())
    program = export_step(model, example_inputs(model, batch=1, cache_turns=1), dynamic=False)
    targets = [str(n.target) for n in program.graph.nodes if n.op == "call_function"]
    kernels = {t.split(".")[1] for t in targets if t.startswith("microturn.")}
    assert kernels == {"bi_matmul", "rms_norm", "attention", "fused_moe"}
    assert sum(t.startswith("microturn.fused_moe") for t in targets) == 1   # one node per layer
    assert not any("aten.mm" in t or "aten.bmm" in t or "aten.matmul" in t for t in targets)


def test_onnx_export_runs_in_onnxruntime_and_matches(tmp_path):
    model = make_model(ops=TorchOps(invariant=True))
    path = export_onnx(model, tmp_path / "step.onnx", example_inputs(model, batch=2, cache_turns=2))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    other = example_inputs(model, batch=3, cache_turns=3, seed=4)
    outs = session.run(None, {name: t.numpy() for name, t in zip(INPUT_NAMES, other)})
    for ours, theirs in zip(eager(model, other), outs):
        torch.testing.assert_close(torch.from_numpy(theirs), ours, rtol=1e-4, atol=1e-5)
