"""`dev --record`: a live session written in the eval layout, readable by `eval score`."""

from __future__ import annotations

import json

import numpy as np

from microturn.runtime.eval.layout import read_item
from microturn.runtime.eval.record import Recorder
from microturn.runtime.speech.wav import read_wav


def test_recorded_session_is_an_aligned_eval_item(tmp_path):
    rec = Recorder(tmp_path).open("sess/1", room="r", identity="alice")
    for k in range(50):                          # 1 s of user audio in 20 ms pieces
        rec.user_audio(np.full(320, 0.1 if k < 25 else 0.0, np.float32))
    for k in range(45):                          # the agent's track ran 0.9 s: output is padded
        rec.agent_audio(np.full(960, 0.2 if 10 <= k < 20 else 0.0, np.float32))
    rec.event({"type": "agent.speech.started", "media_ms": 200, "speech_id": "a", "text": "hi"})
    folder = rec.close()
    assert rec.close() == folder                 # idempotent
    rec.user_audio(np.ones(10, np.float32))      # after close: ignored, not an error

    assert folder.parent.name == "live" and "sess_1" in folder.name
    inp, sr = read_wav(folder / "input.wav")
    out, sr_out = read_wav(folder / "output.wav")
    assert sr == sr_out == 16000 and len(inp) == len(out) == 16000
    assert abs(out[int(0.3 * sr)] - 0.2) < 0.01 and abs(out[int(0.95 * sr)]) < 1e-3
    events = [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines()]
    assert events[0]["type"] == "agent.speech.started"
    item = read_item(folder)
    assert item.task == "live/session" and item.truth["identity"] == "alice"


async def test_recording_engine_tees_a_real_engine_session(tmp_path):
    from microturn.runtime.apps import agent_factory, load_app
    from microturn.runtime.engine.clock import VirtualClock
    from microturn.runtime.engine.engine import Engine
    from microturn.runtime.eval.record import RecordingEngine
    from microturn.runtime.eval.synth import SR, speak

    engine = RecordingEngine(Engine(policy="silence-timeout-200", agent_factory=agent_factory(load_app(None)),
                                    clock=VirtualClock()), Recorder(tmp_path))
    await engine.start()
    seen: list[dict] = []
    try:
        session = await engine.open_session("room", "bob", seen.append)
        question = speak("what is two plus two", ("en-us", 165, 50))
        audio = np.concatenate([np.zeros(SR // 2, np.float32), question, np.zeros(3 * SR, np.float32)])
        audio += np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32) * 3e-4
        for k in range(len(audio) // 3200):
            for _ in range(10):
                session.pull_audio()
            session.push_audio(audio[k * 3200:(k + 1) * 3200])
            await engine.advance(200)
        await session.close()
    finally:
        await engine.stop()
    folder = next((tmp_path / "live").iterdir())
    inp, _ = read_wav(folder / "input.wav")
    out, _ = read_wav(folder / "output.wav")
    assert len(inp) == len(out) == (len(audio) // 3200) * 3200
    assert np.abs(out).max() > 0.05                   # the agent's answer was recorded
    recorded = [json.loads(x)["type"] for x in (folder / "events.jsonl").read_text().splitlines()]
    assert recorded == [e["type"] for e in seen]      # every event the peer got, in order
    assert "agent.speech.started" in recorded and recorded[0] == "session.started"
