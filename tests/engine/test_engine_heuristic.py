"""The `heuristic` floor policy on scripted micro-turns, and the engine's real-time tick loop."""

from __future__ import annotations

import asyncio

import numpy as np
from engine_doubles import ToneVAD, doubles, script, silence, speech

from microturn.runtime.engine.clock import RealClock, VirtualClock
from microturn.runtime.engine.heuristic import HeuristicOptions, HeuristicPolicy
from microturn.runtime.engine.policy import FloorAction, TurnInput, make_policy, policy_names


def run(policy: HeuristicPolicy, audio: np.ndarray, agent_speaking=lambda k: False, sid="s") -> list[str]:
    policy.open(sid)
    actions = []
    for k in range(len(audio) // 3200):
        turn = TurnInput(sid, (k + 1) * 200, audio[k * 3200:(k + 1) * 3200], agent_speaking=agent_speaking(k))
        actions.append(policy.step([turn])[0].action.value)
    return actions


def test_registered_by_name_with_typed_options():
    assert "heuristic" in policy_names()
    policy = make_policy("heuristic", vad_factory=ToneVAD, end_of_turn_ms=800)
    assert isinstance(policy, HeuristicPolicy) and policy.options.end_of_turn_ms == 800
    assert HeuristicOptions().end_of_turn_ms == 300 and HeuristicOptions().barge_in_turns == 2


def test_end_of_turn_follows_the_silence_timer():
    audio = script(silence(200), speech(600), silence(1400))
    short = run(HeuristicPolicy(vad_factory=ToneVAD), audio)
    long = run(HeuristicPolicy(HeuristicOptions(end_of_turn_ms=1000), vad_factory=ToneVAD), audio)
    assert short.count("SPEAK") == 1 and long.count("SPEAK") == 1
    # speech ends at 800 ms: 300 ms of silence is complete in the turn ending at 1200 (index 5),
    # 1000 ms in the one ending at 1800 (index 8)
    assert short.index("SPEAK") == 5 and long.index("SPEAK") == 8
    assert set(run(HeuristicPolicy(vad_factory=ToneVAD), silence(2000))) == {"LISTEN"}, "no speech, no turn"


def test_barge_in_needs_sustained_speech_over_the_agent():
    policy = HeuristicPolicy(vad_factory=ToneVAD)
    cough = run(policy, script(silence(400), speech(150), silence(650)), agent_speaking=lambda k: True, sid="a")
    assert "YIELD" not in cough and set(cough) == {"CONTINUE"}
    talk = run(policy, script(silence(400), speech(800)), agent_speaking=lambda k: True, sid="b")
    assert talk.index("YIELD") == 3  # speech in turns 2 and 3: yield at the end of the second
    # a 20 ms click inside one 32 ms VAD chunk (416-448 ms) stays under min_speech_ms
    click = run(policy, script(silence(420), speech(20), silence(560)), agent_speaking=lambda k: False, sid="c")
    assert "SPEAK" not in click, "a click is not a user turn"


def test_sessions_are_independent_in_one_batch():
    policy = HeuristicPolicy(vad_factory=ToneVAD)
    policy.open("talker")
    policy.open("quiet")
    loud, quiet = script(speech(600), silence(800)), silence(1400)
    actions = {"talker": [], "quiet": []}
    for k in range(7):
        turns = [TurnInput("talker", (k + 1) * 200, loud[k * 3200:(k + 1) * 3200]),
                 TurnInput("quiet", (k + 1) * 200, quiet[k * 3200:(k + 1) * 3200])]
        for t, d in zip(turns, policy.step(turns)):
            actions[t.session_id].append(d.action)
    assert FloorAction.SPEAK in actions["talker"] and FloorAction.SPEAK not in actions["quiet"]
    policy.close("talker")
    assert "talker" not in policy._sessions


async def test_the_real_clock_drives_ticks_by_itself():
    from microturn.runtime.engine.engine import Engine

    engine = Engine(policy=HeuristicPolicy(vad_factory=ToneVAD), speech=doubles(), clock=RealClock())
    await engine.start()
    port = await engine.open_session("r", "u", lambda e: None)
    port.push_audio(silence(1000))
    for _ in range(200):  # bounded: until three ticks have run
        if engine.stats.steps >= 3:
            break
        await asyncio.sleep(0.05)
    await engine.stop()
    assert engine.stats.steps >= 3 and engine.stats.live_sessions == 0
    assert port.media_ms == engine.stats.steps * 200


async def test_virtual_clock_wakes_sleepers_in_order():
    clock = VirtualClock()
    woke = []

    async def sleeper(t):
        await clock.sleep_until(t)
        woke.append((t, clock.now_ms()))

    tasks = [asyncio.ensure_future(sleeper(t)) for t in (300, 100, 200)]
    await asyncio.sleep(0)
    clock.advance(150)
    await asyncio.sleep(0)
    assert woke == [(100, 150)]
    clock.set(400)
    await asyncio.gather(*tasks)
    assert sorted(woke) == [(100, 150), (200, 400), (300, 400)]
