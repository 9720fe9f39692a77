"""Export of the streaming step: `torch.export`, ONNX, and the (experimental) TensorRT build.

The step exported is `InteractionModel.forward` for one micro-turn: inputs are the six
TurnTensors fields, the padded caches [n_layers, B, S, Hkv, D], their lengths and the start
positions; outputs are the floor and text logits and the updated caches [.., S + block, ..]
(new entries written right after each session's valid ones). The wrapper gives the model a
fresh buffer, so the exported graph is a pure function of its inputs.

- `export_step`: `torch.export` with the model's current ops. With `TritonOps` every kernel
  stays ONE node (`torch.ops.microturn.*`, which have fake implementations); that is the graph
  a TensorRT build consumes.
- `export_onnx`: the reference graph (`TorchOps(invariant=True)`: dense MoE, explicit attention) through
  the TorchScript-based exporter (`dynamo=False`; the dynamo exporter needs onnxscript, which is
  not installed), checked in onnxruntime by the tests.
- `build_tensorrt`: EXPERIMENTAL, see README.md. Torch-TensorRT compiles the exported program;
  the Triton custom ops must be provided as TensorRT plugins (`tensorrt.plugin`, TensorRT >= 10.7).
  TensorRT is not installable on the machines this was written on, so this is untested.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from microturn.runtime.model.backends import TorchOps
from microturn.runtime.model.features import TurnTensors, random_turns
from microturn.runtime.model.transformer import InteractionModel

INPUT_NAMES = ["audio", "video", "video_present", "user_bytes", "agent_bytes", "flags",
               "k_cache", "v_cache", "cache_len", "start_pos"]
OUTPUT_NAMES = ["floor_logits", "text_logits", "k_cache_out", "v_cache_out"]


class StepModule(torch.nn.Module):
    """`InteractionModel.forward` with flat tensor arguments (what exporters want)."""

    def __init__(self, model: InteractionModel):
        super().__init__()
        self.model = model

    def forward(self, audio, video, video_present, user_bytes, agent_bytes, flags,
                k_cache, v_cache, cache_len, start_pos):
        tt = TurnTensors(audio, video, video_present, user_bytes, agent_bytes, flags)
        c = self.model.config
        pad = k_cache.new_zeros(k_cache.shape[1], c.tokens_per_turn, c.n_kv_heads, c.head_dim)
        # one buffer per layer, not views of one stacked tensor: the ONNX exporter loses
        # in-place writes into slices of a larger tensor
        k_buf = [torch.cat([k_cache[i], pad], dim=1) for i in range(c.n_layers)]
        v_buf = [torch.cat([v_cache[i], pad], dim=1) for i in range(c.n_layers)]
        floor, text = self.model(tt, k_buf, v_buf, cache_len, start_pos)
        return floor, text, torch.stack(k_buf), torch.stack(v_buf)


def example_inputs(model: InteractionModel, batch: int = 2, cache_turns: int = 2, seed: int = 0) -> tuple:
    """A valid step input: `batch` sessions whose caches hold 0..cache_turns micro-turns."""
    c = model.config
    g = torch.Generator().manual_seed(seed)
    tt = random_turns(c, batch, 1, g)
    s = cache_turns * c.tokens_per_turn
    k = torch.randn(c.n_layers, batch, s, c.n_kv_heads, c.head_dim, generator=g)
    v = torch.randn(c.n_layers, batch, s, c.n_kv_heads, c.head_dim, generator=g)
    turns = torch.arange(batch) % (cache_turns + 1)
    cache_len = turns * c.tokens_per_turn
    start_pos = cache_len + 7 * c.tokens_per_turn  # sessions older than their window
    return (*tt.as_tuple(), k, v, cache_len, start_pos)


def export_step(model: InteractionModel, inputs: tuple | None = None, dynamic: bool = True):
    """`torch.export` the step; batch and cache length dynamic unless `dynamic=False`."""
    inputs = inputs or example_inputs(model)
    module = StepModule(model).eval()
    shapes = None
    if dynamic:
        batch = torch.export.Dim("batch", min=1, max=1024)
        cache = torch.export.Dim("cache", min=1, max=model.config.window_turns * model.config.tokens_per_turn)
        shapes = {name: {0: batch} for name in INPUT_NAMES[:6] + ["cache_len", "start_pos"]}
        shapes["k_cache"] = {1: batch, 2: cache}
        shapes["v_cache"] = {1: batch, 2: cache}
    with torch.no_grad():
        return torch.export.export(module, inputs, dynamic_shapes=shapes)


def export_onnx(model: InteractionModel, path: str | Path, inputs: tuple | None = None) -> Path:
    """Write the reference step as ONNX (opset 17), batch and cache length as dynamic axes.

    The graph uses the reference ops with explicit attention (`TorchOps(invariant=True,
    fused_attention=False)`: static shapes, plain MatMul/Softmax), whatever the model's ops.
    """
    inputs = inputs or example_inputs(model)
    previous = model.ops
    model.set_ops(TorchOps(invariant=True, fused_attention=False))
    try:
        return _export_onnx(model, Path(path), inputs)
    finally:
        model.set_ops(previous)


def _export_onnx(model: InteractionModel, path: Path, inputs: tuple) -> Path:
    axes = {name: {0: "batch"} for name in INPUT_NAMES[:6] + ["cache_len", "start_pos"]}
    axes.update(k_cache={1: "batch", 2: "cache"}, v_cache={1: "batch", 2: "cache"})
    axes.update({name: {0: "batch"} for name in OUTPUT_NAMES[:2]})
    axes.update(k_cache_out={1: "batch", 2: "cache_out"}, v_cache_out={1: "batch", 2: "cache_out"})
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's own deprecation notices
        torch.onnx.export(StepModule(model).eval(), inputs, str(path), input_names=INPUT_NAMES,
                          output_names=OUTPUT_NAMES, dynamic_axes=axes, opset_version=17, dynamo=False)
    return path


def build_tensorrt(exported, inputs: tuple, *, precision=torch.float32, workspace_gb: int = 4):
    """EXPERIMENTAL: compile an exported step with Torch-TensorRT (needs CUDA, TensorRT >= 10.7).

    Each `torch.ops.microturn.*` node must be available to TensorRT as a plugin; Torch-TensorRT
    wraps custom ops it has a converter or an auto-generated plugin for and falls back to
    PyTorch for the rest (`require_full_compilation=False`). One fixed-shape profile is built
    (the shapes of `inputs`) because TensorRT's tactic choice may depend on shapes; gate any
    engine with the batch-invariance check in tests/gpu/test_model_gpu.py before serving it.
    """
    try:
        import torch_tensorrt
    except ImportError as exc:  # lazy: not installable on these machines
        raise RuntimeError(
            "the tensorrt backend needs torch-tensorrt and TensorRT >= 10.7 on a CUDA machine; "
            "it is experimental (see runtime/model/README.md)"
        ) from exc
    return torch_tensorrt.dynamo.compile(
        exported,
        inputs=[t.cuda() for t in inputs],
        enabled_precisions={precision},
        workspace_size=workspace_gb << 30,
        require_full_compilation=False,
    )
