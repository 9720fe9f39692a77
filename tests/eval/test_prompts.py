"""The prompt tasks: a whiteboard change or a due timer in silence, run closed loop through the
real engine, the default app and the default (model) policy, and timed from the agent's events."""

from __future__ import annotations

import json

import numpy as np
import pytest

from microturn.runtime.eval import runner, targets
from microturn.runtime.eval.layout import discover
from microturn.runtime.eval.prompts import TIMER_NAME, WITHIN_S, offline_inputs, score_prompt, user_speaking_until
from microturn.runtime.eval.synth import synth_suite
from microturn.runtime.speech.wav import read_wav

PROMPT_TASKS = ["mt/board_change", "mt/timer_due"]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("prompts")
    synth_suite(root, items_per_task=3, seed=5, tasks=PROMPT_TASKS)
    return root


@pytest.fixture(scope="module")
def worker():
    from microturn.runtime.engine.services import default_speech_services
    from microturn.runtime.eval.detectors import SpeechDetector

    runner._WORKER.update(speech=default_speech_services(), detector=SpeechDetector())
    return runner._WORKER


def test_prompt_items_read_back_with_the_prompt_in_silence_or_mid_question(suite, tmp_path):
    items, problems = discover(suite)
    assert problems == [] and [it.task for it in items] == ["mt/board_change"] * 3 + ["mt/timer_due"] * 3
    for it in items:
        at = it.event[0]
        audio, sr = read_wav(it.input_wav)
        assert len(audio) == round(it.truth["duration_s"] * sr) and it.truth["duration_s"] >= at + 3.0
        user = [s for s in it.truth["segments"] if s["who"] == "user"]
        if it.path.name == "002":   # in the middle of the user's question
            assert len(user) == 1 and user[0]["start"] + 0.3 < at < user[0]["end"] - 0.3
            assert user_speaking_until(it.truth, at) == user[0]["end"]
            continue
        around = audio[int((at - 0.3) * sr): int((at + 2.0) * sr)]
        assert np.sqrt(np.mean(around ** 2)) < 1e-3, "nobody speaks around the prompt"
        assert user_speaking_until(it.truth, at) is None
        # item 0: silence from the start; item 1: a question first, long enough before for its answer
        assert (len(user) == 1 and user[0]["end"] + 6.0 <= at) if it.path.name == "001" else not user
    board, timer = items[0], items[3]
    frames = offline_inputs(board)["video"]
    assert [ms for ms, _ in frames] == [0, round(board.event[0] * 1000)] and not np.array_equal(*[f for _, f in frames])
    assert offline_inputs(timer) == {"timers": [(TIMER_NAME, round(timer.event[0] * 1000))]}
    synth_suite(tmp_path, items_per_task=3, seed=5, tasks=PROMPT_TASKS)     # deterministic
    assert all((tmp_path / p.relative_to(suite)).read_bytes() == p.read_bytes() for p in suite.rglob("*.wav"))


def _run(src, dst, app=None):
    runner._WORKER["options"] = runner.RunOptions(policy="model", app=app, plots=False)
    res = runner.run_item((str(src), str(dst)))
    assert "error" not in res, res.get("traceback")
    return res


def test_the_default_app_voices_board_and_timer_prompts_within_two_micro_turns(suite, tmp_path, worker):
    import sys

    from microturn.runtime.apps import load_app

    board_prompt = sys.modules[load_app(None).__module__].BOARD_PROMPT   # the default app's words
    for task, folder, words in (("mt/board_change", "microturn/board_change/001", board_prompt),
                                ("mt/timer_due", "microturn/timer_due/000", TIMER_NAME)):
        res = _run(suite / folder, tmp_path / folder)
        assert res["task"] == task and res["silent_at_event"], res
        assert res["prompt_voiced"] and res["prompt_within_two_turns"], res
        assert 0 <= res["prompt_delay_truth"] <= WITHIN_S
        events = [json.loads(x) for x in (tmp_path / folder / "events.jsonl").read_text().splitlines()]
        at_ms = res["prompt_delay_truth"] * 1000 + json.loads((suite / folder / "prompt.json").read_text())[0]["timestamp"][0] * 1000
        said = [e["text"] for e in events if e["type"] == "agent.speech.started" and e["media_ms"] >= at_ms - 1]
        assert said and words in said[0], "the app's own words, not something else"
        out, sr = read_wav(tmp_path / folder / "output.wav")
        heard = out[int((at_ms / 1000) * sr): int((at_ms / 1000 + 1.0) * sr)]
        assert np.sqrt(np.mean(heard ** 2)) > 0.01, "and heard in the output, not only announced"
        assert runner.score_one(str(tmp_path / folder))["prompt_delay_truth"] == res["prompt_delay_truth"]


def test_prompts_that_come_mid_question_wait_for_its_end_and_the_question_is_answered(suite, tmp_path, worker):
    """The timer falls due and the board changes while the user asks a sum: nothing starts over
    them (a prompt shown to the model mid-sentence drew a SPEAK that cut their turn), and the
    question is answered too (a prompt voiced first used to leave it unanswered)."""
    for folder in ("microturn/timer_due/002", "microturn/board_change/002"):
        res = _run(suite / folder, tmp_path / folder)
        assert res["during_user"] and res["spoke_over_user"] is False and res["user_turn_ended"], res
        events = [json.loads(x) for x in (tmp_path / folder / "events.jsonl").read_text().splitlines()]
        said = [e["text"] for e in events if e["type"] == "agent.speech.started"]
        assert len(said) == 2 and any(" is " in s for s in said), said   # the prompt and "X times Y is Z"


def test_an_app_without_prompt_hooks_voices_nothing(suite, tmp_path, worker):
    res = _run(suite / "microturn/timer_due/000", tmp_path / "greeter", app="examples/greeter.py")
    assert res["silent_at_event"] and not res["prompt_voiced"] and not res["prompt_within_two_turns"]


def test_score_prompt_times_from_events_or_vad_and_flags_a_busy_agent():
    # events say 0.12 s after the prompt; the VAD hears it a little later
    r = score_prompt(2.0, [(2.15, 3.0)], [2.12], "events")
    assert r["silent_at_event"] and r["prompt_delay_truth"] == 0.12 and r["prompt_delay"] == 0.15
    assert r["prompt_within_two_turns"]
    late = score_prompt(2.0, [(2.6, 3.0)], [2.55], "vad")
    assert late["prompt_voiced"] and not late["prompt_within_two_turns"]
    busy = score_prompt(2.0, [(1.0, 2.5)], [1.0], "events")
    assert not busy["silent_at_event"] and not busy["prompt_voiced"]
    # mid-question: judged on not starting over the user, and on their turn reaching the app after
    mid = score_prompt(2.0, [(3.1, 5.0)], [3.1], "events", user_until=3.0, turn_ends=[3.05])
    assert mid["spoke_over_user"] is False and mid["user_turn_ended"] is True and "prompt_voiced" not in mid
    cut = score_prompt(2.0, [(2.6, 5.0)], [2.6], "events", user_until=3.0, turn_ends=[2.6])
    assert cut["spoke_over_user"] is True and cut["user_turn_ended"] is False
    assert score_prompt(2.0, [], [], "vad", user_until=3.0)["user_turn_ended"] is None


def test_prompt_targets_are_judged_only_on_suites_that_have_the_task():
    base = {"v1/pause_handling": {"TOR_truth_short": 0.1}}
    without = targets.shortfall(base)
    rows = {(r["task"], r["metric"]): r for r in targets.check(base)}
    assert rows[("mt/board_change", "prompt_within_two_turns_rate")]["met"] is None
    assert "eval synth --tasks mt/timer_due" in targets.table(base)
    missed = {**base, "mt/board_change": {"prompt_within_two_turns_rate": 0.5}}
    assert abs(targets.shortfall(missed) - without - (0.95 - 0.5) / 0.95) < 1e-9
    assert targets.check(missed)[len(targets.TARGETS) - 2]["met"] is False


async def test_the_default_app_remarks_on_a_changing_picture_at_most_once_in_30_s():
    """A camera changes the picture whenever someone moves: the remark must not repeat."""
    import sys

    from microturn.runtime.apps import load_app

    app = load_app(None)
    agent, offered = app(), []

    class Session:
        session_id = "s1"

        def offer_interjection(self, inj):
            offered.append((inj.anchor_ms, inj.priority, inj.text))

    for ms in (1000, 5000, 20000, 31000):
        await agent.on_visual_change(Session(), ms)
    words = sys.modules[app.__module__].BOARD_PROMPT
    assert offered == [(1000, "next_pause", words), (31000, "next_pause", words)]
