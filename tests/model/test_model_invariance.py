"""Model-level batch invariance (CPU invariant mode): one session's floor and text logits over
20 micro-turns are bitwise identical run alone and batched with 7 other random sessions that
join and leave at different times."""

from __future__ import annotations

import torch

from microturn.runtime.model.backends import TorchOps
from microturn.runtime.model.features import TurnTensors, random_turns
from microturn.runtime.model.streaming import StreamingSessions
from model_helpers import make_model, small_config

TURNS = 20
# (joins before step, leaves before step) for the 7 other sessions
SCHEDULE = [(0, 20), (0, 6), (2, 14), (3, 9), (5, 20), (4, 17), (1, 12)]


def run_alone(model, mine: TurnTensors):
    sessions = StreamingSessions(model)
    sessions.open("me")
    return [sessions.step(["me"], mine.index((slice(None), slice(i, i + 1)))) for i in range(TURNS)]


def run_batched(model, mine: TurnTensors, seed: int):
    g = torch.Generator().manual_seed(seed)
    sessions = StreamingSessions(model, initial_slots=2)
    outs, batch_sizes = [], []
    for i in range(TURNS):
        for j, (join, leave) in enumerate(SCHEDULE):
            if i == join:
                sessions.open(f"o{j}")
            if i == leave and f"o{j}" in sessions:
                sessions.close(f"o{j}")
        if i == 0:
            sessions.open("me")  # after two others, so it never sits in slot 0
        ids = list(sessions.order)
        g_ids = torch.randperm(len(ids), generator=g).tolist()  # arbitrary row order
        ids = [ids[k] for k in g_ids]
        others = random_turns(model.config, len(ids), 1, g)
        rows = [mine.index((slice(None), slice(i, i + 1))) if s == "me" else others.index(slice(k, k + 1))
                for k, s in enumerate(ids)]
        tt = TurnTensors(*(torch.cat(parts) for parts in zip(*(r.as_tuple() for r in rows))))
        floor, text = sessions.step(ids, tt)
        k = ids.index("me")
        outs.append((floor[k:k + 1], text[k:k + 1]))
        batch_sizes.append(len(ids))
    return outs, batch_sizes


def test_invariant_mode_is_bitwise_batch_invariant():
    # window shorter than the run, so evictions happen while others join and leave
    model = make_model(small_config(window_turns=8), ops=TorchOps(invariant=True))
    mine = random_turns(model.config, 1, TURNS, torch.Generator().manual_seed(7))
    alone = run_alone(model, mine)
    batched, sizes = run_batched(model, mine, seed=11)
    assert len(batched) == TURNS
    assert len(set(sizes)) >= 4 and max(sizes) == 8  # the batch really varied, up to 8
    for t, ((fa, ta), (fb, tb)) in enumerate(zip(alone, batched)):
        assert torch.equal(fa, fb), f"floor logits differ at micro-turn {t}"
        assert torch.equal(ta, tb), f"text logits differ at micro-turn {t}"


def test_free_mode_matches_invariant_mode_closely():
    # the invariant mode changes the reduction order, not the maths
    model = make_model(small_config(window_turns=8), ops=TorchOps(invariant=True))
    mine = random_turns(model.config, 1, 6, torch.Generator().manual_seed(3))
    with torch.no_grad():
        f_inv, t_inv = model.forward_sequence(mine)
        model.set_ops(TorchOps(invariant=False))
        f_free, t_free = model.forward_sequence(mine)
    torch.testing.assert_close(f_inv, f_free, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(t_inv, t_free, rtol=1e-4, atol=1e-5)
