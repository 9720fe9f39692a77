"""The checkpoint shipped in checkpoints/ loads into the model policy, decides for a batch
batch-invariantly, and beats the 800 ms silence timeout on a small held-out suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microturn.runtime.engine.policy import SAMPLES_PER_TURN, FloorAction, TurnInput, make_policy

SHIPPED = Path(__file__).resolve().parents[2] / "checkpoints" / "tiny-floor-v3"
ROOT = SHIPPED.parents[1]


def test_the_shipped_checkpoint_is_package_data_a_wheel_carries():
    """`microturn.checkpoints.SHIPPED` is this folder, and pyproject's package-data patterns for
    `microturn.checkpoints` take every file in it (else a wheel install has no default policy)."""
    import fnmatch
    import tomllib

    from microturn.checkpoints import SHIPPED as from_package

    assert from_package == SHIPPED
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setup["package-dir"]["microturn.checkpoints"] == "checkpoints"
    patterns = setup["package-data"]["microturn.checkpoints"]
    files = [f"{p.parent.name}/{p.name}" for p in SHIPPED.iterdir()]
    assert {"tiny-floor-v3/model.safetensors", "tiny-floor-v3/config.json", "tiny-floor-v3/decisions.json"} <= set(files)
    assert [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)] == []


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


def test_shipped_checkpoint_beats_silence_timeout_800_on_a_small_held_out_suite(tmp_path):
    """Three items per FD-bench task (8 tasks; the prompt tasks do not depend on the policy), spoken by voices training never used, in sentences that
    are not training templates; both policies through the real engine and speech stack. "Beats"
    = misses the issue-6 targets by less in total (`eval.targets.shortfall`). Three items a
    task, not one: with one, a single item decides a whole target (one slow stop is a median),
    and the comparison is a coin toss between checkpoints of the same quality. Still a check of
    the whole path, not the results table (docs/eval.md has that)."""
    from microturn.runtime.eval import targets
    from microturn.runtime.eval.layout import TASKS
    from microturn.runtime.eval.runner import RunOptions, run_suite
    from microturn.runtime.eval.score import summarize
    from microturn.runtime.eval.synth import synth_suite

    suite = tmp_path / "suite"
    synth_suite(suite, items_per_task=3, seed=5, voices="heldout", tasks=[t for t in TASKS if not t.startswith("mt/")])
    scores = {}
    for policy, checkpoint in (("model", str(SHIPPED)), ("silence-timeout-800", None)):
        results, problems = run_suite(suite, tmp_path / policy, RunOptions(policy, checkpoint=checkpoint, plots=False),
                                      workers=2, progress=False)
        assert problems == [] and len(results) == 24 and not [r for r in results if "error" in r]
        scores[policy] = targets.shortfall(summarize(results))
    assert scores["model"] < scores["silence-timeout-800"], scores
