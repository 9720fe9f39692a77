"""How well the floor head *ranks* the moments it must tell apart, whatever the thresholds.

Tuning moves a threshold along a trade-off; it cannot make the trade-off better. Whether a
checkpoint can meet both sides of one (hold the pauses *and* answer fast; ride through the
backchannels *and* stop for interruptions) depends on how far apart its probabilities are at
the two kinds of moment. This module measures that on generator episodes, as the area under the
ROC curve (AUC: the chance that a random positive moment scores above a random negative one;
0.5 = no better than a coin, 1.0 = a threshold separates them perfectly):

- turn ends vs mid-turn pauses: P(SPEAK) at the first decision at least `speak_delay_ms` into
  the silence (where the labels first say SPEAK after a turn end), agent silent, pauses that are
  not backchannel slots and still go on at that decision;
- interruptions vs overlaps: P(YIELD) at the first decision at least `yield_delay_ms` after the
  onset (where the labels first say YIELD for an interruption), agent speaking, against user
  backchannels and other people's speech (side talk, TV, background) starting over the agent.

Both are measured at the labels' own decision points, so they read as "how sure is the model
where it first has to act".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from microturn.runtime.model.config import FLOOR_ACTIONS
from microturn.runtime.train.labels import LabelOptions
from microturn.runtime.train.timeline import MICRO_TURN_MS, Timeline, first_decision_at_or_after

SPEAK, YIELD = FLOOR_ACTIONS.index("SPEAK"), FLOOR_ACTIONS.index("YIELD")
_LABELS = LabelOptions()  # the generator's default label timing


def auc(positives, negatives) -> float | None:
    """Area under the ROC curve (Mann-Whitney U / (n_pos * n_neg)), ties counted half."""
    pos, neg = np.asarray(positives, float), np.asarray(negatives, float)
    if len(pos) == 0 or len(neg) == 0:
        return None
    ranks = rankdata(np.concatenate([pos, neg]))  # ties share their average rank
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def _tick_at_or_after(t_ms: int) -> int:
    """Index k of the micro-turn whose decision, at (k + 1) * 200 ms, is the first at or after t_ms."""
    return first_decision_at_or_after(t_ms) // MICRO_TURN_MS - 1


def turn_end_scores(tl: Timeline, probs: np.ndarray, agent_speaking: np.ndarray,
                    speak_delay_ms: int = _LABELS.speak_delay_ms) -> tuple[list[float], list[float]]:
    """(P(SPEAK) at turn ends, at mid-turn pauses), see the module docstring."""
    ends, pauses = [], []
    n = len(probs)
    for u in tl.user_turns:
        for i, (_, end) in enumerate(u.spans):
            k = _tick_at_or_after(end + speak_delay_ms)
            if k >= n or agent_speaking[k]:
                continue
            if i == len(u.spans) - 1:
                ends.append(float(probs[k, SPEAK]))
            elif i not in u.backchannel_pauses and (k + 1) * MICRO_TURN_MS < u.spans[i + 1][0]:
                pauses.append(float(probs[k, SPEAK]))
    return ends, pauses


def interruption_scores(tl: Timeline, probs: np.ndarray, agent_speaking: np.ndarray,
                        yield_delay_ms: int = _LABELS.yield_delay_ms) -> tuple[list[float], list[float]]:
    """(P(YIELD) after interruptions, after backchannels and other people's speech)."""
    agent = tl.agent_turns()
    n = len(probs)

    def score(onset: int) -> float | None:
        if not any(a.start <= onset < a.end for a in agent):
            return None
        k = _tick_at_or_after(onset + yield_delay_ms)
        return float(probs[k, YIELD]) if k < n and agent_speaking[k] else None

    interruptions = [score(u.start) for u in tl.user_turns]
    overlaps = [score(s.start) for s in [*tl.user_backchannels, *tl.others]]
    return [x for x in interruptions if x is not None], [x for x in overlaps if x is not None]


def separability(timelines: list[Timeline], probs: list[np.ndarray], agent_speaking: list[np.ndarray],
                 speak_delay_ms: int = _LABELS.speak_delay_ms,
                 yield_delay_ms: int = _LABELS.yield_delay_ms) -> dict[str, Any]:
    """Both AUCs over a set of episodes, with the counts and mean probabilities behind them."""
    ends, pauses, intr, over = [], [], [], []
    for tl, p, s in zip(timelines, probs, agent_speaking):
        e, q = turn_end_scores(tl, p, s, speak_delay_ms)
        i, o = interruption_scores(tl, p, s, yield_delay_ms)
        ends += e
        pauses += q
        intr += i
        over += o
    mean = lambda xs: round(float(np.mean(xs)), 3) if xs else None  # noqa: E731
    rounded = lambda x: None if x is None else round(x, 3)  # noqa: E731
    return {
        "turn_end_vs_pause_auc": rounded(auc(ends, pauses)),
        "turn_ends": len(ends), "pauses": len(pauses),
        "p_speak_turn_end_mean": mean(ends), "p_speak_pause_mean": mean(pauses),
        "interruption_vs_overlap_auc": rounded(auc(intr, over)),
        "interruptions": len(intr), "overlaps": len(over),
        "p_yield_interruption_mean": mean(intr), "p_yield_overlap_mean": mean(over),
    }
