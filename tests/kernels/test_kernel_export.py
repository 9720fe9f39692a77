"""torch.export keeps every kernel as ONE custom-op node, and the exported program matches eager."""

from __future__ import annotations

import torch

import microturn.kernels as K

from kernel_data import moe_weights, randn


class _Block(torch.nn.Module):
    """A toy transformer block that uses every kernel once."""

    def __init__(self):
        super().__init__()
        router, wgu, wd = moe_weights(4, 32, 32, seed=1)
        self.router, self.w_gate_up, self.w_down = (torch.nn.Parameter(t, requires_grad=False) for t in (router, wgu, wd))
        self.norm = torch.nn.Parameter(randn(32, seed=2), requires_grad=False)
        self.proj = torch.nn.Parameter(randn(32, 32, seed=3), requires_grad=False)

    def forward(self, x, q, k, v, kv_len):
        h = K.rms_norm(x, self.norm, 1e-6)
        h = K.bi_matmul(h, self.proj)
        att = K.attention(q, k, v, kv_len)
        return K.fused_moe(h, self.router, self.w_gate_up, self.w_down, 2) + att.reshape(x.shape[0], -1)


def test_export_keeps_custom_ops_as_single_nodes_and_matches_eager():
    block = _Block()
    args = (randn(3, 32, seed=4), randn(3, 1, 2, 16, seed=5), randn(3, 20, 1, 16, seed=6),
            randn(3, 20, 1, 16, seed=7), torch.tensor([20, 9, 1]))
    program = torch.export.export(block, args)
    calls = [n.target for n in program.graph.nodes if n.op == "call_function"]
    ours = [str(t) for t in calls if str(t).startswith("microturn.")]
    assert sorted(ours) == ["microturn.attention.default", "microturn.bi_matmul.default",
                            "microturn.fused_moe.default", "microturn.rms_norm.default"]
    # Nothing of the kernels leaked into the graph as aten ops (only the reshape and the add).
    assert all(str(t).startswith(("microturn.", "aten.view", "aten.reshape", "aten.add")) for t in calls), calls
    with K.counting() as launched:
        exported = program.module()(*args)
    assert launched["moe_gate_up"] == 1 and launched["attention"] == 1
    assert torch.equal(exported, block(*args))


def test_fake_implementations_give_shapes_and_dtypes():
    import microturn.kernels.ops  # noqa: F401  (registers torch.ops.microturn.*)
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        x = torch.empty(5, 32, dtype=torch.bfloat16)
        w = torch.empty(4, 32, dtype=torch.bfloat16)
        assert torch.ops.microturn.bi_matmul(x, w).shape == (5, 4)
        out = torch.ops.microturn.fused_moe(x, w, torch.empty(4, 16, 32, dtype=torch.bfloat16),
                                            torch.empty(4, 32, 8, dtype=torch.bfloat16), 2)
        assert out.shape == (5, 32) and out.dtype == torch.bfloat16
        q = torch.empty(2, 3, 4, 8)
        assert torch.ops.microturn.attention(q, torch.empty(2, 9, 2, 8), torch.empty(2, 9, 2, 8),
                                             torch.empty(2, dtype=torch.int64), None).shape == q.shape
