"""The whole path: synthesized item -> real engine (run_offline) with a baseline -> output.wav -> score.

Everything is real: eSpeak stimuli, Silero VAD, pocketsphinx, the engine and the default app.
The assertions are the ones a baseline gets by construction, so a broken policy, engine hook or
metric shows up as a failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from microturn.runtime.eval import runner
from microturn.runtime.eval.layout import read_item
from microturn.runtime.eval.synth import synth_suite
from microturn.runtime.speech.wav import read_wav


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("suite")
    synth_suite(root, items_per_task=1, seed=11, tasks=["v1.5/user_interruption"])
    return root


@pytest.fixture(scope="module")
def speech():
    from microturn.runtime.engine.services import default_speech_services

    return default_speech_services()


def _onsets(events):
    return [e["media_ms"] / 1000 for e in events if e["type"] == "agent.speech.started"]


@pytest.mark.parametrize("pause_s, policy, takes_over", [
    (0.9, "silence-timeout-500", True),
    (0.3, "silence-timeout-500", False),
    (0.45, "always-yield", True),
])
def test_engine_with_baseline_takes_over_pauses_by_construction(speech, paused_turn, pause_s, policy, takes_over):
    from microturn.runtime.apps import load_app
    from microturn.runtime.engine.offline import run_offline

    audio, p0, p1, end = paused_turn(pause_s)
    result = run_offline(audio, policy=policy, speech=speech, agent=load_app(None))   # the default app
    assert len(result.output_audio) == len(audio)
    onsets = _onsets(result.events)
    assert any(p0 < t <= p1 + 0.2 for t in onsets) == takes_over
    if not takes_over:   # it does answer, once the turn is really over
        assert onsets and onsets[0] > end


def test_run_item_writes_the_layout_and_score_agrees(suite, tmp_path, speech):
    src = next(p.parent for p in suite.rglob("metadata.json"))
    runner._WORKER.update(speech=speech)
    from microturn.runtime.eval.detectors import SpeechDetector

    runner._WORKER["detector"] = SpeechDetector()
    results = {}
    for policy, clean in (("silence-timeout-500", True), ("floor-holder", False)):
        runner._WORKER["options"] = runner.RunOptions(policy=policy, clean_outputs=clean, plots=policy == "floor-holder")
        dst = tmp_path / policy
        results[policy] = res = runner.run_item((str(src), str(dst)))
        assert "error" not in res, res.get("traceback")
        inp, sr = read_wav(dst / "input.wav")
        out, sr_out = read_wav(dst / "output.wav")
        assert sr == sr_out == 16000 and len(out) == len(inp)
        assert (dst / "clean_output.wav").is_file() == clean
        assert json.loads((dst / "score.json").read_text())["task"] == "v1.5/user_interruption"
        assert read_item(dst).truth == read_item(src).truth     # inputs copied: `eval score` works on dst
    assert (tmp_path / "floor-holder" / "timeline.png").stat().st_size > 1000

    yielding, holding = results["silence-timeout-500"], results["floor-holder"]
    assert yielding["talking_at_onset_truth"] and holding["talking_at_onset_truth"]
    # by construction: the yielding baseline stops within a few micro-turns, the floor-holder does not
    assert yielding["stop_latency_truth"] < 0.6
    assert holding["stop_latency_truth"] > yielding["stop_latency_truth"] + 0.3
    assert yielding["behaviour_proxy_truth"] == "stop+speak"
    events = [json.loads(x) for x in (tmp_path / "floor-holder" / "events.jsonl").read_text().splitlines()]
    assert not any(e["type"] == "user.barged_in" for e in events)

    # `eval score` on the written folder gives the same numbers from the files alone
    runner._WORKER["detector"] = SpeechDetector()
    rescored = runner.score_one(str(tmp_path / "silence-timeout-500"))
    for key in ("stop_latency", "stop_latency_truth", "response_latency", "behaviour_proxy_truth"):
        assert rescored[key] == yielding[key]


def test_a_held_turn_counts_as_talking_on_only_if_the_pause_was_short():
    from microturn.runtime.eval.score import _overlap_views

    segments = [(1.0, 6.0)]  # the agent's audio, as the VAD hears it (a short pause is merged over)
    ev = lambda t, ms: {"type": f"agent.speech.{t}", "media_ms": ms}  # noqa: E731
    started = {"type": "agent.speech.started", "media_ms": 1000}
    short = [started, ev("paused", 3200), ev("resumed", 3600)]
    long = [started, ev("paused", 3200), ev("resumed", 3800)]
    never = [started, ev("paused", 3200)]
    assert _overlap_views(segments, (3.0, 3.4), [1.0], short)["behaviour_proxy_truth"] == "continue"
    assert _overlap_views(segments, (3.0, 3.4), [1.0], long)["behaviour_proxy_truth"] == "pause"
    assert _overlap_views(segments, (3.0, 3.4), [1.0], never)["behaviour_proxy_truth"] == "pause"
    # a pause before this overlap is not this overlap's
    assert _overlap_views(segments, (4.5, 4.9), [1.0], long)["behaviour_proxy_truth"] == "continue"
