"""The transformer and its streaming step: shapes, step-by-step == one pass, the bounded
window, sessions joining and leaving, one batched call per layer."""

from __future__ import annotations

import pytest
import torch

from microturn.runtime.model.backends import TorchOps
from microturn.runtime.model.features import TurnTensors, random_turns
from microturn.runtime.model.streaming import StreamingSessions
from model_helpers import make_model, small_config


def turn(tt: TurnTensors, i: int) -> TurnTensors:
    return tt.index((slice(None), slice(i, i + 1)))


def test_forward_shapes():
    model = make_model()
    c = model.config
    tt = random_turns(c, 3, 2, torch.Generator().manual_seed(0))
    k, v, length = model.empty_cache(3, 2 * c.tokens_per_turn)
    with torch.no_grad():
        floor, text = model(tt, k, v, length, length)
    assert floor.shape == (3, 2, 6)
    assert text.shape == (3, 2, c.text_out, 257)
    assert k.shape == (c.n_layers, 3, 2 * c.tokens_per_turn, c.n_kv_heads, c.head_dim)
    assert (k != 0).any(dim=-1).all() and (v != 0).any(dim=-1).all()   # every new entry written
    assert torch.isfinite(floor).all() and torch.isfinite(text).all()


@pytest.mark.parametrize("invariant", [False, True])
def test_streaming_step_by_step_equals_one_pass(invariant):
    model = make_model(ops=TorchOps(invariant=invariant))
    tt = random_turns(model.config, 2, 6, torch.Generator().manual_seed(1))
    with torch.no_grad():
        floor_once, text_once = model.forward_sequence(tt)
    sessions = StreamingSessions(model)
    sessions.open("a")
    sessions.open("b")
    steps = [sessions.step(["a", "b"], turn(tt, i)) for i in range(6)]
    floor_steps = torch.stack([f for f, _ in steps], dim=1)
    text_steps = torch.stack([t for _, t in steps], dim=1)
    torch.testing.assert_close(floor_steps, floor_once, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(text_steps, text_once, rtol=1e-5, atol=1e-5)
    assert sessions.cache_length("a") == 6 * model.config.tokens_per_turn


def test_window_keeps_the_last_micro_turns_only():
    # one layer: the keys of a micro-turn depend on its own inputs only, so with the window
    # working, a step must equal a one-pass run over exactly the last `window_turns` turns
    # (at their absolute positions), and must ignore everything older.
    c = small_config(n_layers=1, window_turns=3)
    model = make_model(c)
    n = 7
    tt = random_turns(c, 1, n, torch.Generator().manual_seed(2))
    sessions = StreamingSessions(model)
    sessions.open("s")
    outs = [sessions.step(["s"], turn(tt, i)) for i in range(n)]
    assert sessions.cache_length("s") == c.window_turns * c.tokens_per_turn
    first = n - c.window_turns
    window = tt.index((slice(None), slice(first, n)))
    k, v, length = model.empty_cache(1, c.window_turns * c.tokens_per_turn)
    with torch.no_grad():
        floor, text = model(window, k, v, length, torch.tensor([first * c.tokens_per_turn]))
    torch.testing.assert_close(outs[-1][0], floor[:, -1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(outs[-1][1], text[:, -1], rtol=1e-5, atol=1e-5)
    # an input older than the window changes nothing now
    tt.audio[:, 0] = (tt.audio[:, 0] + 3) % c.audio_levels
    again = StreamingSessions(model)
    again.open("s")
    outs2 = [again.step(["s"], turn(tt, i)) for i in range(n)]
    assert not torch.equal(outs2[0][0], outs[0][0])
    torch.testing.assert_close(outs2[-1][0], outs[-1][0], rtol=1e-5, atol=1e-5)


def test_sessions_join_and_leave_between_steps():
    model = make_model()
    c = model.config
    g = torch.Generator().manual_seed(3)
    mine = random_turns(c, 1, 5, g)
    alone = StreamingSessions(model)
    alone.open("me")
    expected = [alone.step(["me"], turn(mine, i))[0] for i in range(5)]

    shared = StreamingSessions(model, initial_slots=2)   # forces the pool to grow too
    shared.open("x")
    shared.open("me")
    got = []
    for i in range(5):
        if i == 1:
            shared.open("y")
            shared.open("z")
        if i == 2:
            shared.close("x")   # "me" moves slots
        if i == 3:
            shared.open("late")
        ids = [s for s in ["z", "me", "y", "x", "late"] if s in shared]
        others = random_turns(c, len(ids), 1, g)
        rows = [turn(mine, i) if s == "me" else others.index(slice(j, j + 1)) for j, s in enumerate(ids)]
        tt = TurnTensors(*(torch.cat(parts) for parts in zip(*(r.as_tuple() for r in rows))))
        floor, _ = shared.step(ids, tt)
        got.append(floor[ids.index("me")][None])
    for e, g_ in zip(expected, got):
        torch.testing.assert_close(g_, e, rtol=1e-5, atol=1e-5)
    assert shared.cache_length("late") == 2 * c.tokens_per_turn
    with pytest.raises(KeyError, match="not open"):
        shared.step(["x"], random_turns(c, 1, 1, g))
    with pytest.raises(ValueError, match="already open"):
        shared.open("me")
    with pytest.raises(ValueError, match="more than once"):
        shared.step(["me", "me"], random_turns(c, 2, 1, g))


class CountingOps(TorchOps):
    def __init__(self):
        super().__init__(invariant=True)
        self.calls = {"attention": 0, "moe": 0}
        self.batches = set()

    def attention(self, q, k, v, kv_len):
        self.calls["attention"] += 1
        self.batches.add(q.shape[0])
        return super().attention(q, k, v, kv_len)

    def moe(self, *args):
        self.calls["moe"] += 1
        return super().moe(*args)


def test_one_batched_call_per_layer_for_all_sessions():
    ops = CountingOps()
    model = make_model(ops=ops)
    sessions = StreamingSessions(model)
    ids = [f"s{i}" for i in range(6)]
    for s in ids:
        sessions.open(s)
    sessions.step(ids, random_turns(model.config, 6, 1, torch.Generator().manual_seed(4)))
    n = model.config.n_layers
    assert ops.calls == {"attention": n, "moe": n}
    assert ops.batches == {6}


def test_forward_sequence_backpropagates_through_every_layer():
    """Each layer writes its keys into its own buffer, so autograd goes through n_layers > 1
    (one shared buffer made the second layer's write clobber what the first saved)."""
    model = make_model(small_config(n_layers=2), ops=TorchOps()).train()
    tt = random_turns(model.config, batch=2, turns=2, generator=torch.Generator().manual_seed(0))
    floor, text = model.forward_sequence(tt)
    loss = floor.float().pow(2).mean() + text.float().logsumexp(-1).mean()
    loss.backward()
    first = model.layers[0]
    for name in ("wqkv", "wo", "attn_norm"):
        grad = getattr(first, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name
