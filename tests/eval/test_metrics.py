"""FD-bench's judge-free metrics on hand-computed cases, the edge rules included."""

from __future__ import annotations

import pytest

from microturn.runtime.eval import metrics as m


def test_no_words_is_no_take_over():
    assert m.take_over([]) == 0


def test_three_words_within_a_second_is_not_a_take_over():
    assert m.take_over([("yeah", 1.0, 1.2), ("okay", 1.3, 1.5), ("sure", 1.6, 1.95)]) == 0


def test_four_short_words_are_a_take_over():
    words = [("a", 1.0, 1.1), ("b", 1.15, 1.2), ("c", 1.25, 1.3), ("d", 1.35, 1.4)]
    assert m.take_over(words) == 1


def test_few_words_spanning_a_second_are_a_take_over():
    # 2 words, but last end - first start = 1.0 s exactly: not "< 1 s", so it takes over
    assert m.take_over([("well", 2.0, 2.3), ("no", 2.7, 3.0)]) == 1
    assert m.take_over([("well", 2.0, 2.3), ("no", 2.7, 2.99)]) == 0


def test_latency_clamps_negative_to_zero():
    assert m.onset_latency([("hi", 4.2, 4.5)], 4.5) == 0.0
    assert m.onset_latency([("hi", 4.9, 5.1)], 4.5) == pytest.approx(0.4)
    assert m.onset_latency([], 4.5) is None


def test_latency_is_averaged_over_take_overs_only():
    tos = [1, 0, 1, 1]
    lats = [0.2, 0.05, 0.6, None]   # the TO=0 item's 0.05 must not count; None is skipped
    assert m.mean_latency_over_take_overs(tos, lats) == pytest.approx(0.4)
    assert m.mean_latency_over_take_overs([0, 0], [0.1, 0.2]) is None
    assert m.take_over_rate(tos) == 0.75


def test_words_after_keeps_words_still_going():
    words = [("a", 1.0, 1.4), ("b", 1.5, 2.1), ("c", 2.3, 2.6)]
    assert m.words_after(words, 2.0) == [("b", 1.5, 2.1), ("c", 2.3, 2.6)]


def test_merge_segments_uses_inclusive_gap():
    segs = [(3.0, 4.0), (0.0, 1.0), (1.6, 2.0), (4.51, 5.0)]
    assert m.merge_segments(segs, 0.6) == [(0.0, 2.0), (3.0, 5.0)]   # 0.6 s gap merges (inclusive)
    assert m.merge_segments(segs, 0.5) == [(0.0, 1.0), (1.6, 2.0), (3.0, 4.0), (4.51, 5.0)]


def test_backchannel_long_or_wordy_segment_takes_the_turn():
    segs = [(1.0, 1.4), (5.0, 5.5), (8.0, 11.5)]
    words = [("mm", 1.1, 1.3), ("yeah", 5.1, 5.4)]
    bc = m.backchannel_score(segs, words, clip_s=20.0)
    assert (bc.take_over, bc.backchannels) == (1, 2)        # 3.5 s segment takes over
    assert bc.frequency == pytest.approx(0.1)
    wordy = m.backchannel_score([(1.0, 2.0)], [("a", 1.0, 1.2), ("b", 1.2, 1.4), ("c", 1.4, 1.6), ("d", 1.6, 1.9)], 10.0)
    assert (wordy.take_over, wordy.backchannels) == (1, 0)
    quiet = m.backchannel_score([], [], 10.0)
    assert (quiet.take_over, quiet.frequency) == (0, 0.0)


def test_overlap_timing_stop_and_response():
    model = [(1.0, 6.3), (8.0, 9.0)]
    t = m.overlap_timing(model, (5.0, 7.0))
    assert t.talking_at_onset and t.stopped_during_user
    assert t.stop_latency == pytest.approx(1.3)
    assert t.response_latency == pytest.approx(1.0)
    assert m.behaviour_proxy(t, model, (5.0, 7.0)) == "stop+speak"


def test_overlap_timing_talking_through_is_continue():
    model = [(1.0, 10.0)]
    t = m.overlap_timing(model, (5.0, 7.0))
    assert t.stop_latency == pytest.approx(5.0) and not t.stopped_during_user
    assert t.response_latency is None
    assert m.behaviour_proxy(t, model, (5.0, 7.0)) == "continue"


def test_overlap_timing_when_model_was_silent():
    t = m.overlap_timing([(0.5, 2.0)], (5.0, 7.0))
    assert not t.talking_at_onset and t.stop_latency is None and t.response_latency is None
    assert m.behaviour_proxy(t, [(0.5, 2.0)], (5.0, 7.0)) == "silent"


def test_pick_user_segment_needs_an_overlap():
    segs = [(0.5, 3.0), (6.9, 8.0), (12.0, 13.0)]
    assert m.pick_user_segment(segs, (7.0, 7.5)) == (6.9, 8.0)
    assert m.pick_user_segment(segs, (10.0, 10.5)) is None   # the VAD missed the event
    assert m.pick_user_segment([], (1.0, 2.0)) is None


def test_keyword_proxy_matches_whole_words():
    assert m.contains_keyword("Four plus five is nine.", "nine")
    assert not m.contains_keyword("that is ninety", "nine")   # "ninety" is not "nine"
    assert m.contains_keyword("that makes twenty-five", "twenty five")


def test_summary_splits_pauses_at_the_answer_fallback_and_reports_medians():
    from microturn.runtime.eval.score import summarize

    pauses = [{"task": "v1/pause_handling", "take_over": 0, "take_over_truth": int(p > 1.2), "pause_s": p}
              for p in (0.5, 0.9, 1.1, 1.3, 1.6)]
    turns = [{"task": "v1/smooth_turn_taking", "take_over": 1, "latency": x, "latency_truth": x,
              "detector_error": 0.0} for x in (0.3, 0.32, 1.2)]
    s = summarize(pauses + turns)
    assert s["v1/pause_handling"]["TOR_truth"] == 0.4
    assert s["v1/pause_handling"]["n_short"] == 3
    assert s["v1/pause_handling"]["TOR_truth_short"] == 0.0
    assert s["v1/pause_handling"]["TOR_truth_long"] == 1.0
    assert s["v1/smooth_turn_taking"]["latency_truth_median"] == 0.32
    assert abs(s["v1/smooth_turn_taking"]["latency_truth"] - 0.6067) < 1e-3


def test_median_of_skips_missing_values_and_rounds():
    assert m.median_of([0.3, None, 0.1, 0.2], 4) == 0.2
    assert m.median_of([1.0, 2.0], 1) == 1.5  # even count: the mean of the middle two
    assert m.median_of([0.123456], 3) == 0.123
    assert m.median_of([None, None], 4) is None and m.median_of([], 1) is None


def test_the_agents_own_backchannel_is_not_a_turn_onset():
    # truth-anchored take-overs and latencies time the agent's turns from the engine's events;
    # an "mm-hm" in the user's pause neither takes the turn nor answers it
    from microturn.runtime.eval.score import agent_onsets_from_events

    events = [{"type": "agent.backchannel", "media_ms": 1400, "text": "mm-hm"},
              {"type": "agent.speech.started", "media_ms": 3200},
              {"type": "interjection.delivered", "media_ms": 5000},
              {"type": "user.speech.started", "media_ms": 600}]
    assert agent_onsets_from_events(events) == [3.2, 5.0]
