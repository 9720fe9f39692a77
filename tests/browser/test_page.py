"""The real page in headless Chromium, a WAV as its microphone, a real `microturn dev` server.

Times here are positions on the WAV's own timeline (see microturn.runtime.bench.browser), used
to say *which* audio to look at; how fast things happen is measured by `microturn bench
latency`, never asserted.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from microturn.runtime.bench.browser import build_stimulus, recognise_answer, run_call
from microturn.runtime.speech.stimuli import speak

pytestmark = pytest.mark.browser

QUESTION = "what is seven times eight"
QUESTION_AT_S = 2.0       # leading silence: the call is up before the question starts
# A product with a long spoken answer ("... is three hundred and twenty three", about 3 s), and an
# interruption late enough that the agent has surely started answering, early enough that it
# has surely not finished.
LONG_QUESTION = "what is nineteen times seventeen"
BARGE_IN_AFTER_S = 1.8
BARGE_IN = "no wait, stop"


async def live_sessions(url: str) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/healthz")).json()["live_sessions"]


async def wait_for_no_sessions(url: str, timeout_s: float = 20.0) -> int:
    n = -1
    for _ in range(int(timeout_s / 0.25)):
        n = await live_sessions(url)
        if n == 0:
            break
        await asyncio.sleep(0.25)
    return n


def agent_text(call) -> str:
    return " ".join(e["text"] for e in call.transcript if e["role"] == "agent")


async def test_a_spoken_question_gets_a_spoken_answer_and_a_closed_tab_is_released(dev_server, tmp_path):
    stim = build_stimulus(tmp_path / "question.wav", [(QUESTION_AT_S, QUESTION)])
    call = await run_call(dev_server.url, stim, listen_s=3.0, leave=False)  # the tab just closes
    assert call.error is None, call.error
    assert call.alignment > 0.5, "the page did not send the WAV as its microphone"
    # the answer SDP's maxaveragebitrate=64000 lifts Chromium's Opus from its ~28 kbit/s default
    assert call.mic_kbps is not None and call.mic_kbps > 45, f"microphone sent at {call.mic_kbps} kbit/s"

    q_end = stim.segments[0].end_s
    onset = call.agent_onset_after(q_end)
    assert onset is not None, f"no agent audio heard after the question; events: {call.events}"
    stop = call.agent_stop_after(q_end + onset + 0.05) or 3.0
    heard = recognise_answer(call.agent_audio_between(q_end + onset - 0.1, q_end + onset + 0.05 + stop + 0.1))
    assert "fifty six" in heard, f"heard {heard!r}"

    shown = agent_text(call).lower()
    assert "56" in shown or "fifty six" in shown or "fifty-six" in shown, f"page transcript: {call.transcript}"
    assert any(e["type"] == "user.turn.ended" for e in call.events)

    assert await wait_for_no_sessions(dev_server.url) == 0, "a closed tab left its session behind"


async def video_frames(url: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{url}/metrics")).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("microturn_video_frames_total"))


async def test_barge_in_silences_the_agent_and_keeps_only_what_was_played(dev_server, tmp_path):
    """With the camera on too: its frames reach the server alongside the conversation."""
    q_end = build_stimulus(tmp_path / "probe.wav", [(QUESTION_AT_S, LONG_QUESTION)]).segments[0].end_s
    barge_at = q_end + BARGE_IN_AFTER_S
    stim = build_stimulus(tmp_path / "barge.wav", [(QUESTION_AT_S, LONG_QUESTION), (barge_at, BARGE_IN)])
    frames_before = await video_frames(dev_server.url)
    call = await run_call(dev_server.url, stim, listen_s=3.0, query="camera=1")
    assert call.error is None, call.error
    assert await video_frames(dev_server.url) > frames_before

    interrupted = call.events_of("agent.speech.interrupted")
    assert interrupted, f"the agent was not interrupted; events: {[e['type'] for e in call.events]}"
    cut = interrupted[0]
    full = {e["speech_id"]: e["text"] for e in call.events_of("agent.speech.started")}[cut["speech_id"]]
    played = cut["played_text"]
    assert played and full.startswith(played) and len(played) < len(full), (played, full)
    shown = [t for t in call.transcript if t.get("speech_id") == cut["speech_id"]]
    assert shown and shown[0]["text"] == played and shown[0].get("interrupted")

    # The agent was audible when the user barged in, and went quiet before its answer would have
    # finished playing.
    answer_start = q_end + call.agent_onset_after(q_end)
    assert answer_start < barge_at, "the agent had not started answering when the user barged in"
    full_s = speak(full).size / 16000
    stop = call.agent_stop_after(barge_at)
    assert stop is not None and barge_at + stop < answer_start + full_s, (stop, full_s)
    assert await wait_for_no_sessions(dev_server.url) == 0


def test_latency_bench_counts_barge_ins_the_agent_talked_through():
    """`bench latency` summary: a measured barge-in without an `agent.speech.interrupted` event is
    one the agent talked through; one where the agent was not speaking is not measured at all."""
    from microturn.runtime.bench.latency import summarize

    rows = [{"answer_ms": 400.0, "understood": True, "correct": True, "barge_in_stop_ms": 300.0, "interrupted_event": True},
            {"answer_ms": 600.0, "understood": True, "correct": False, "barge_in_stop_ms": 2800.0, "interrupted_event": False},
            {"answer_ms": 500.0, "understood": False, "barge_in_stop_ms": None, "interrupted_event": False}]
    s = summarize(rows)
    assert (s["questions"], s["answers_understood"], s["answers_correct"]) == (3, 2, 1)
    assert (s["barge_in_measured"], s["barge_in_yielded"]) == (2, 1)
    assert s["summary"]["answer_ms"]["p50"] == 500.0 and s["summary"]["barge_in_stop_ms"]["n"] == 2


async def test_a_whiteboard_stroke_in_silence_makes_the_agent_speak_up_live(dev_server, tmp_path):
    """The page sends a whiteboard stroke on its data channel while nobody speaks: the default
    app's remark is voiced then (heard in the page), and a question asked after it is answered."""
    import sys

    from microturn.runtime.apps import load_app

    remark = sys.modules[load_app(None).__module__].BOARD_PROMPT
    question_at = 8.0
    stim = build_stimulus(tmp_path / "board.wav", [(question_at, QUESTION)])
    stroke = "window.microturn.sendRaw(JSON.stringify({type: 'whiteboard.stroke', points: [[0, 0], [40, 30]]}))"
    call = await run_call(dev_server.url, stim, listen_s=3.0, actions=[(1.5, stroke)])
    assert call.error is None, call.error
    said = [(e["media_ms"], e["text"]) for e in call.events_of("agent.speech.started")]
    assert said and said[0][1] == remark, said
    # voiced in the silence before the question (media time starts with the session, a little
    # before the recording; both well before 8 s)
    assert said[0][0] < question_at * 1000 - 1000, said
    sent_at = 1.5 - call.wav_offset_s    # the stroke, on the WAV's timeline
    onset = call.agent_onset_after(sent_at)
    assert onset is not None and sent_at + onset < question_at, "the remark is heard in the page, before the question"
    assert any("fifty six" in t.lower() or "56" in t for _, t in said[1:]), said
