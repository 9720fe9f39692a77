"""`eval episodes`: open-loop event metrics on generator episodes, on a hand-built timeline and
on a real generated data set streamed through a checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from microturn.runtime.eval import episodes as ep
from microturn.runtime.train.labels import label_timeline
from microturn.runtime.train.timeline import Span, Timeline, UserTurn


def _timeline() -> Timeline:
    return Timeline(
        duration_ms=12_000,
        # a paused turn (pause 1000-1600 ms), answered at 2800; a monologue later
        user_turns=[UserTurn(((0, 1000), (1600, 2600))),
                    UserTurn(((6400, 7000), (7400, 8000), (8400, 9000), (9400, 10_000)))],
        agent=[Span(2800, 6000, "turn"), Span(10_200, 11_600, "turn")],
        visual_events=[11_700],
    )


def test_each_first_move_is_scored_against_the_timeline():
    tl = _timeline()
    lab = label_timeline(tl)
    labels, speaking = lab.actions.astype(np.int64), lab.agent_state > 0
    n = tl.n_turns
    actions = np.where(speaking, ep.CONTINUE, ep.LISTEN)
    actions[6] = ep.SPEAK             # decision at 1400 ms: inside the pause -> a false start
    actions[12] = ep.SPEAK            # 2600 ms: one tick before the labels' SPEAK -> early, not false
    actions[13] = ep.SPEAK            # 2800 ms: on time (answer latency 200 ms)
    actions[20] = ep.YIELD            # inside the first agent turn, nobody interrupting -> false yield
    actions[35] = ep.BACKCHANNEL      # 7200 ms: in the monologue's first pause
    actions[36] = ep.BACKCHANNEL      # same run: one backchannel
    actions[43] = ep.BACKCHANNEL      # 8800 ms: a second one
    actions[44] = ep.SPEAK            # 9000 ms: taking the turn inside the monologue
    actions[59] = ep.SPEAK            # 12000 ms: 300 ms after the visual event
    assert len(actions) == n == 60
    r = ep.score_episode(tl, actions, labels, speaking)
    assert (r["agent_turns"], r["false_yield_turns"]) == (2, 1)
    assert r["false_starts"] == 2 and r["false_starts_in_pauses"] == 1  # 1400 ms and 9000 ms
    assert (r["monologues"], r["monologue_backchannels"], r["monologue_turn_takes"]) == (1, 2, 1)
    assert r["prompt_latencies_ms"] == [300]
    # the start decided at the very end of the turn (2600) is neither false nor an answer
    assert r["turn_end_latencies_ms"] == [200, None]  # the monologue: not decided before the recorded answer
    m = ep.aggregate([r])
    assert m.no_false_yield_rate == 0.5 and m.prompt_within_two_turns_rate == 1.0
    assert m.false_starts_per_min == pytest.approx(2 / (60 * 0.2 / 60), abs=1e-3)
    assert m.monologue_bc_per_min == pytest.approx(2 / 0.06, abs=1e-3)


def test_an_interruption_counts_as_yielded_only_before_the_recorded_agent_stops():
    tl = Timeline(duration_ms=6000, user_turns=[UserTurn(((0, 800),)), UserTurn(((2000, 3200),))],
                  agent=[Span(1000, 2600, "turn")])
    lab = label_timeline(tl)
    speaking = lab.agent_state > 0
    actions = np.where(speaking, ep.CONTINUE, ep.LISTEN)
    assert ep.score_episode(tl, actions, lab.actions.astype(np.int64), speaking)["interruption_yield_latencies_ms"] == [None]
    actions[11] = ep.YIELD  # decided at 2400 ms: 400 ms after the user cut in, the agent still talking
    r = ep.score_episode(tl, actions, lab.actions.astype(np.int64), speaking)
    assert r["interruption_yield_latencies_ms"] == [400]
    m = ep.aggregate([r])
    assert (m.interruptions, m.interruptions_yielded_on_time, m.interruption_yield_latency_ms_median) == (1, 1, 400)


def test_false_yields_are_put_down_to_what_was_heard_just_before():
    """Each false yield gets the cause the microphone held in the second before it: the user's
    own backchannel, another talker of the generator's kinds, or nothing (echo, noise)."""
    tl = Timeline(duration_ms=12_000, user_turns=[UserTurn(((0, 600),))],
                  user_backchannels=[Span(1400, 1700)],
                  agent=[Span(800, 3000, "turn"), Span(3400, 6000, "turn"), Span(6400, 9000, "turn")],
                  others=[Span(4000, 5200, "side_near")])
    lab = label_timeline(tl)
    speaking = lab.agent_state > 0
    actions = np.where(speaking, ep.CONTINUE, ep.LISTEN)
    actions[8] = ep.YIELD    # decided at 1800 ms: 100 ms after the user's "mm-hmm"
    actions[23] = ep.YIELD   # 4800 ms: someone else talking nearby
    actions[24] = ep.YIELD   # same turn: counted once
    actions[39] = ep.YIELD   # 8000 ms: nothing but the agent itself
    r = ep.score_episode(tl, actions, lab.actions.astype(np.int64), speaking)
    assert (r["agent_turns"], r["false_yield_turns"]) == (3, 3)
    assert r["false_yield_causes"] == ["user_backchannel", "side_near", "none"]
    assert ep.aggregate([r, r]).false_yield_causes == {"none": 2, "side_near": 2, "user_backchannel": 2}
    assert ep.false_yield_cause(tl, 700) == "user_speech"   # the user's turn ended 100 ms before


@pytest.fixture(scope="module")
def heldout_and_checkpoint(tmp_path_factory):
    """1.5 minutes of held-out episodes and an untrained `tiny` checkpoint."""
    import torch

    from microturn.runtime.model.checkpoint import save_checkpoint
    from microturn.runtime.model.config import get_config
    from microturn.runtime.model.transformer import InteractionModel
    from microturn.runtime.train.dataset import DataOptions, generate

    root = tmp_path_factory.mktemp("episodes")
    data = root / "heldout"
    generate(data, DataOptions(hours=1.5 / 60, seed=3, split="eval", shard_minutes=0.75,
                               episode_seconds=(20.0, 30.0)), workers=2, progress=False)
    torch.manual_seed(0)
    save_checkpoint(InteractionModel(get_config("tiny")), root / "ck")
    return data, root / "ck"


def test_a_generated_data_set_streams_through_a_checkpoint(heldout_and_checkpoint):
    from microturn.runtime.model.policy import DecisionOptions

    data, ck = heldout_and_checkpoint
    # thresholds low enough that a random model acts somewhere, so the counts are exercised
    decisions = DecisionOptions(take_threshold=0.2, yield_threshold=0.2, backchannel_threshold=0.2)
    full = ep.evaluate_episodes(data, str(ck), decisions, progress=False)
    one = ep.evaluate_episodes(data, str(ck), decisions, max_episodes=1, progress=False)
    m = full["summary"]["episodes"]
    assert m["episodes"] == len(full["per_episode"]) >= 3
    assert m["agent_turns"] > 0 and m["minutes"] == pytest.approx(1.5, abs=0.5)
    # an episode's decisions do not depend on which other episodes stream beside it
    assert one["per_episode"][0] == full["per_episode"][0]
    assert 0.0 <= m["no_false_yield_rate"] <= 1.0
    # every factor's buckets partition the episodes
    for factor, buckets in full["breakdown"].items():
        assert sum(b["episodes"] for b in buckets.values()) == m["episodes"], factor
    assert {r["conditions"]["accent"] for r in full["per_episode"]} == set(full["breakdown"]["accent"])
    assert set(full["breakdown"]) == set(ep.FACTORS) and "opus_kbps" in full["breakdown"]
    # threshold-free separability: the same whatever the decisions, and a probability-ranking figure
    s = full["separability"]
    assert s == ep.evaluate_episodes(data, str(ck), DecisionOptions(), progress=False)["separability"]
    assert s["turn_ends"] > 0 and s["pauses"] > 0 and 0.0 <= s["turn_end_vs_pause_auc"] <= 1.0


def test_the_near_field_gate_runs_over_each_episode_s_own_microphone_signal(heldout_and_checkpoint):
    from microturn.runtime.model.policy import DecisionOptions

    data, ck = heldout_and_checkpoint
    streamed = ep.StreamedEpisodes(data, str(ck), progress=False)
    gated = DecisionOptions(yield_threshold=0.2, yield_near_field_db=6.0)
    verdicts = streamed.near_field(gated)
    user_heard, quiet_heard = [], []
    for e, v in zip(streamed.chosen, verdicts):
        lo, hi = streamed.data.bounds[e]
        assert len(v) == hi - lo and set(v) <= {True, False, None}
        # the signal is this episode's: the gate hears speech where the timeline has the user
        # talking alone, and mostly not where nobody talks
        tl = streamed.timelines[e]
        busy = [(a.start, a.end) for a in tl.agent + tl.others + tl.user_backchannels]
        for k in range(hi - lo):
            t0, t1 = k * 200, (k + 1) * 200
            overlaps = lambda spans: any(a < t1 and t0 < b for a, b in spans)  # noqa: E731
            user = [s for u in tl.user_turns for s in u.spans]
            if any(a <= t0 and t1 <= b for a, b in user) and not overlaps(busy):
                user_heard.append(v[k] is not False)
            elif not overlaps(user) and not overlaps([(a - 400, b + 400) for a, b in busy]):
                quiet_heard.append(v[k] is not False)
    assert len(user_heard) > 20 and len(quiet_heard) > 20
    assert np.mean(user_heard) > 0.8 and np.mean(quiet_heard) < 0.3
    plain = streamed.score(DecisionOptions(yield_threshold=0.2))["summary"]["episodes"]
    with_gate = streamed.score(gated)["summary"]["episodes"]
    assert with_gate["false_yield_turns"] <= plain["false_yield_turns"]


def test_eval_run_with_episodes_puts_every_target_in_one_table(heldout_and_checkpoint, tmp_path, capsys):
    """`eval run --episodes`: the model's open-loop figures join its summary and the targets
    comparison (baselines get "-" there); without the model policy the option is refused."""
    from microturn.runtime.cli import main
    from microturn.runtime.eval.synth import synth_suite
    from microturn.runtime.model.policy import DecisionOptions

    data, ck = heldout_and_checkpoint
    suite = tmp_path / "suite"
    synth_suite(suite, 1, seed=0, tasks=["v1/smooth_turn_taking"], progress=False)
    args = ["eval", "run", "--data", str(suite), "--episodes", str(data),
            "--no-plots", "--no-clean", "--workers", "1", "--json"]
    assert main(args + ["--policy", "silence-timeout-800", "--out", str(tmp_path / "refused")]) == 2
    assert "only the `model` policy" in capsys.readouterr().err
    assert main(args + ["--policy", "model,silence-timeout-800", "--checkpoint", str(ck), "--out", str(tmp_path / "run"),
                        "--policy-option", "take_threshold=0.2"]) == 0
    reports = json.loads(capsys.readouterr().out)
    model_eps = reports["model"]["summary"]["episodes"]
    alone = ep.evaluate_episodes(data, str(ck), DecisionOptions(take_threshold=0.2), progress=False)
    assert model_eps == alone["summary"]["episodes"]
    assert reports["model"]["separability"] == alone["separability"]
    assert "separability" not in reports["silence-timeout-800"]
    assert "episodes" not in reports["silence-timeout-800"]["summary"]
    rows = {r["metric"]: r for r in reports["model"]["targets"]}
    assert rows["false_starts_per_min"]["value"] == model_eps["false_starts_per_min"]
    table = (tmp_path / "run" / "table.md").read_text()
    line = next(x for x in table.splitlines() if x.startswith("| false starts per minute"))
    assert line.rstrip(" |").endswith("-") and f"{model_eps['false_starts_per_min']:.2f}" in line
