"""`microturn eval tune`: pick the model policy's decision thresholds on a tuning suite.

A threshold on the floor head's probability is a trade-off (see `model.policy.DecisionOptions`),
so it is chosen by the evaluation harness, not by the loss: for each knob in turn, run the
tasks it moves at every value of its grid with the knobs chosen so far, and keep the value whose
summary misses the issue's targets (`targets.TARGETS`) by the least; ties go to the value
nearest 0.5 (for the early arms: the first in the grid, i.e. the most cautious). The result is written as `decisions.json`, which the model policy reads from its
checkpoint folder. Tune on one suite, report on another (other seed, held-out voices): numbers
from the suite a knob was tuned on flatter it.

With `episodes` (generator episodes streamed once, `eval.episodes.StreamedEpisodes`), the
take and yield thresholds also answer for the open-loop targets they move: false starts per
minute and agent turns without a false yield (`targets.EPISODE_TARGETS`). The early arms act
between ticks, which the open-loop scoring does not model, so they are judged on the suite only.
"""

from __future__ import annotations

import json
from pathlib import Path

from microturn.runtime.eval import targets
from microturn.runtime.eval.runner import RunOptions, run_suite
from microturn.runtime.eval.score import summarize
from microturn.runtime.model.policy import decision_options

# knob -> (grid, the tasks whose targets it trades between)
# (the early arms only matter below their threshold, so each is tuned after it; 1.0 = off)
TAKE_TASKS = ["v1/pause_handling", "v1/smooth_turn_taking"]
YIELD_TASKS = ["v1/user_interruption", "v1.5/user_interruption", "v1.5/user_backchannel", "v1.5/talking_to_other"]
KNOBS: dict[str, tuple[tuple[float, ...], list[str]]] = {
    "take_threshold": ((0.15, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.65, 0.8), TAKE_TASKS),
    "early_take_threshold": ((1.0, 0.5, 0.35, 0.25, 0.15, 0.08), TAKE_TASKS),
    "yield_threshold": ((0.15, 0.25, 0.35, 0.5, 0.65, 0.8), YIELD_TASKS),
    "early_yield_threshold": ((1.0, 0.5, 0.35, 0.25, 0.15, 0.08), YIELD_TASKS),
}
# knob -> the open-loop episode metrics it trades (used only when tuning with episodes)
EPISODE_METRICS: dict[str, list[str]] = {
    "take_threshold": ["false_starts_per_min"],
    "yield_threshold": ["no_false_yield_rate"],
}


def _episode_shortfall(summary: dict, metrics: list[str]) -> float:
    return sum(t.shortfall(summary.get(t.task, {}).get(t.metric))
               for t in targets.EPISODE_TARGETS if t.metric in metrics)


def tune(data: Path, checkpoint: str, out: Path, workers: int = 2, progress: bool = True,
         knobs: list[str] | None = None, fixed: dict | None = None, episodes=None) -> dict:
    """Returns {"decisions": chosen options, "trials": every run's score and summary}."""
    out = Path(out)
    chosen = dict(fixed or {})
    trials = []
    for knob in knobs or list(KNOBS):
        grid, tasks = KNOBS[knob]
        scored = []
        for value in grid:
            options = {**chosen, knob: value}
            opts = RunOptions(policy="model", checkpoint=checkpoint, policy_options=options,
                              clean_outputs=False, plots=False)
            results, _ = run_suite(data, out / f"{knob}={value}", opts, workers=workers,
                                   progress=progress, tasks=tasks)
            summary = summarize(results)
            score = targets.shortfall(summary, tasks)
            if episodes is not None and knob in EPISODE_METRICS:
                summary.update(episodes.score(decision_options(checkpoint, options))["summary"])
                score += _episode_shortfall(summary, EPISODE_METRICS[knob])
            errors = sum(1 for r in results if "error" in r)
            order = abs(value - 0.5) if not knob.startswith("early_") else len(scored)
            scored.append((round(score, 6) + errors, order, value))
            trials.append({"knob": knob, "value": value, "options": options, "shortfall": round(score, 4),
                           "errors": errors, "summary": summary})
            if progress:
                print(f"  {knob}={value}: shortfall {score:.3f}" + (f", {errors} errors" if errors else ""))
        chosen[knob] = min(scored)[2]
        if progress:
            print(f"{knob} -> {chosen[knob]}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "decisions.json").write_text(json.dumps(chosen, indent=2) + "\n")
    (out / "tuning.json").write_text(json.dumps({"data": str(data), "checkpoint": checkpoint,
                                                 "episodes": getattr(episodes, "data_dir", None),
                                                 "decisions": chosen, "trials": trials}, indent=1, default=str) + "\n")
    return {"decisions": chosen, "trials": trials}


def install(out: Path, checkpoint: str | Path) -> dict:
    """Write the tuned `out/decisions.json` into the checkpoint folder, keeping the options the
    tuner does not choose (the hold, the word checks, gates) from the checkpoint's own file: the
    tuning ran with them on, so dropping them would ship thresholds tuned for another rule.
    Returns what was written."""
    tuned = json.loads((Path(out) / "decisions.json").read_text())
    target = Path(checkpoint) / "decisions.json"
    kept = json.loads(target.read_text()) if target.is_file() else {}
    merged = {**kept, **tuned}
    target.write_text(json.dumps(merged, indent=2) + "\n")
    return merged

