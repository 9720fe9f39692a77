"""The checkpoint shipped in checkpoints/ loads into the model policy and decides for a batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microturn.runtime.engine.policy import SAMPLES_PER_TURN, FloorAction, TurnInput, make_policy

SHIPPED = Path(__file__).resolve().parents[2] / "checkpoints" / "tiny-floor-v0"


def test_shipped_checkpoint_loads_and_steps_batch_invariantly():
    policy = make_policy("model", checkpoint=str(SHIPPED))
    rng = np.random.default_rng(0)
    turns = {sid: [TurnInput(sid, 200 * (i + 1), rng.normal(0, 0.05, SAMPLES_PER_TURN).astype(np.float32))
                   for i in range(5)] for sid in ("a", "b", "c")}
    for sid in turns:
        policy.open(sid)
    batched = [policy.step([turns[s][i] for s in turns]) for i in range(5)]
    for sid in turns:
        policy.close(sid)
    policy.open("a")
    alone = [policy.step([turns["a"][i]])[0] for i in range(5)]
    assert [d.action for d in alone] == [b[0].action for b in batched]
    assert all(isinstance(d.action, FloorAction) for b in batched for d in b)
