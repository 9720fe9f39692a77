"""Threshold-free separability: AUC arithmetic, and which moments of a hand-built timeline
are scored (turn ends vs pauses for SPEAK, interruptions vs overlaps for YIELD)."""

from __future__ import annotations

import numpy as np
import pytest

from microturn.runtime.eval import separability as sep
from microturn.runtime.train.labels import label_timeline
from microturn.runtime.train.timeline import Span, Timeline, UserTurn


def test_auc_counts_pairs_and_half_ties():
    assert sep.auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert sep.auc([0.1], [0.9]) == 0.0
    assert sep.auc([0.5, 0.5], [0.5]) == 0.5
    # 3 positives x 2 negatives: pairs won 0.7>0.6, 0.7>0.2, 0.4>0.2, 0.9>both = 5 of 6
    assert sep.auc([0.7, 0.4, 0.9], [0.6, 0.2]) == pytest.approx(5 / 6)
    rng = np.random.default_rng(0)
    a, b = rng.random(40), rng.random(30)
    brute = np.mean(a[:, None] > b[None, :]) + 0.5 * np.mean(a[:, None] == b[None, :])
    assert sep.auc(a, b) == pytest.approx(brute)
    assert sep.auc([], [0.3]) is None


def _timeline() -> Timeline:
    return Timeline(
        duration_ms=12_000,
        # a turn with a pause (1000-1700) and another that is a backchannel slot (2500-3100),
        # ending at 4000; the agent answers at 4400 and is interrupted at 6000 (by a user turn),
        # after a user backchannel at 5000 and side talk at 5400
        user_turns=[UserTurn(((0, 1000), (1700, 2500), (3100, 4000)), frozenset({1})),
                    UserTurn(((6000, 7000),))],
        user_backchannels=[Span(5000, 5300)],
        others=[Span(5400, 5900, "side")],
        agent=[Span(4400, 6400, "turn"), Span(7400, 9000, "turn")],
    )


def test_the_labels_first_decision_points_are_scored():
    tl = _timeline()
    speaking = label_timeline(tl).agent_state > 0
    probs = np.zeros((tl.n_turns, 6))
    probs[:, sep.SPEAK] = np.arange(tl.n_turns) / 100     # a distinct value per tick
    probs[:, sep.YIELD] = np.arange(tl.n_turns) / 1000
    ends, pauses = sep.turn_end_scores(tl, probs, speaking)
    # turn end 4000 -> decision at 4200 (k=20); the 1000-1700 pause -> 1200 (k=5); the slot is
    # skipped; the second turn's end (7000) -> 7200 (k=35), agent silent until 7400
    assert ends == [0.20, 0.35] and pauses == [0.05]
    intr, over = sep.interruption_scores(tl, probs, speaking, yield_delay_ms=300)
    # interruption 6000 -> 6400 (k=31); backchannel 5000 -> 5400 (k=26); side talk 5400 -> 5800 (k=28);
    # the first user turn started with nobody talking: not an interruption
    assert intr == [0.031] and over == [0.026, 0.028]
    r = sep.separability([tl], [probs], [speaking])
    assert r["turn_end_vs_pause_auc"] == 1.0 and r["interruption_vs_overlap_auc"] == 1.0
    assert (r["turn_ends"], r["pauses"], r["interruptions"], r["overlaps"]) == (2, 1, 1, 2)
    flipped = probs.copy()
    flipped[:, sep.SPEAK] = 1 - flipped[:, sep.SPEAK]
    assert sep.separability([tl], [flipped], [speaking])["turn_end_vs_pause_auc"] == 0.0
