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
    assert HeuristicOptions().end_of_turn_ms == 300 and HeuristicOptions().barge_in_ms == 160


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
    cough = run(policy, script(silence(400), speech(120), silence(680)), agent_speaking=lambda k: True, sid="a")
    assert "YIELD" not in cough and set(cough) == {"CONTINUE"}
    talk = run(policy, script(silence(400), speech(800)), agent_speaking=lambda k: True, sid="b")
    assert talk.index("YIELD") == 2  # 200 ms of speech in turn 2 >= barge_in_ms: yield at its end
    # speech that starts late in a micro-turn carries its run over into the next one
    late = run(policy, script(silence(520), speech(400), silence(280)), agent_speaking=lambda k: True, sid="d")
    assert late.index("YIELD") == 3
    # two bursts with a pause between them are two short runs, not one long one
    split = run(policy, script(silence(400), speech(100), silence(100), speech(100), silence(500)),
                agent_speaking=lambda k: True, sid="e")
    assert "YIELD" not in split
    # a 20 ms click inside one 32 ms VAD chunk (416-448 ms) stays under min_speech_ms
    click = run(policy, script(silence(420), speech(20), silence(560)), agent_speaking=lambda k: False, sid="c")
    assert "SPEAK" not in click, "a click is not a user turn"


def test_a_long_barge_in_timer_counts_speech_across_short_gaps():
    """With `run_gap_ms`, a sentence with short dips (stop closures, breaths) is one run; the run
    counts its speech only, and a gap longer than the allowance starts it again."""
    sentence = script(silence(400), speech(400), silence(96), speech(400), silence(160), speech(600))
    agent = lambda k: True  # noqa: E731
    strict = run(HeuristicPolicy(HeuristicOptions(barge_in_ms=1000), vad_factory=ToneVAD), sentence, agent)
    assert "YIELD" not in strict, "every dip restarts a strict run: 1 s is never reached"
    lenient = run(HeuristicPolicy(HeuristicOptions(barge_in_ms=1000, run_gap_ms=250), vad_factory=ToneVAD),
                  sentence, agent)
    # speech reaches 1000 ms 200 ms into the last burst (which starts at 1456): the tick ending at 1800
    assert lenient.index("YIELD") == 8
    pause = script(silence(400), speech(600), silence(400), speech(600))
    assert "YIELD" not in run(HeuristicPolicy(HeuristicOptions(barge_in_ms=1000, run_gap_ms=250),
                                              vad_factory=ToneVAD), pause, agent), "a real pause ends the run"


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


def test_decisions_arm_the_between_tick_watch_with_what_is_left_of_each_timer():
    policy = HeuristicPolicy(vad_factory=ToneVAD)
    policy.open("s")
    # speech up to 320 ms, then silence: each tick arms the watch with the rest of the 300 ms
    # timer (counted in whole 32 ms chunks) until the tick that sees all of it takes the turn
    audio = script(speech(320), silence(480))
    d = [policy.step([TurnInput("s", (k + 1) * 200, audio[k * 3200:(k + 1) * 3200])])[0] for k in range(4)]
    assert [x.action for x in d] == [FloorAction.LISTEN] * 3 + [FloorAction.SPEAK]
    left = [x.speak_after_silence_ms for x in d]
    assert left[0] == 300 and 300 > left[1] > left[2] > 0 and left[3] is None
    assert left[1] - left[2] == 200  # a micro-turn without speech adds its whole 200 ms
    # over the agent: the rest of the barge-in minimum, shrinking while the user's run lasts
    over = script(silence(100), speech(100))
    d = policy.step([TurnInput("s", 1000, over, agent_speaking=True)])[0]
    assert d.action is FloorAction.CONTINUE and 0 < d.yield_after_speech_ms < 160
    quiet = policy.step([TurnInput("s", 1200, silence(200), agent_speaking=True)])[0]
    assert quiet.yield_after_speech_ms == 160


def test_near_field_gate_yields_to_the_user_not_to_a_quieter_voice(caplog):
    """With `near_field_db`, a long run over the agent yields only at about the user's level."""
    gated = HeuristicPolicy(HeuristicOptions(barge_in_ms=600, near_field_db=6.0), vad_factory=ToneVAD)
    speaking_after = lambda k: k >= 10  # noqa: E731: the user talks for 1 s, silence, then the agent
    with caplog.at_level("INFO", logger="microturn.runtime.engine.heuristic"):
        quiet = run(gated, script(speech(1000, 0.3), silence(1000), speech(1600, 0.1)), speaking_after)
    assert "YIELD" not in quiet[10:], "a voice ~10 dB under the user's is not an interruption"
    gated_lines = [r for r in caplog.records if "gated out as far-field" in r.getMessage()]
    assert len(gated_lines) == 1, "one line for the run, not one for every tick it lasts"
    loud = run(HeuristicPolicy(HeuristicOptions(barge_in_ms=600, near_field_db=6.0), vad_factory=ToneVAD),
               script(speech(1000, 0.3), silence(1000), speech(1600, 0.25)), speaking_after)
    assert "YIELD" in loud[10:]
    ungated = run(HeuristicPolicy(HeuristicOptions(barge_in_ms=600), vad_factory=ToneVAD),
                  script(speech(1000, 0.3), silence(1000), speech(1600, 0.1)), speaking_after)
    assert "YIELD" in ungated[10:]


def test_near_field_gate_reads_the_user_level_as_a_meter_does():
    """Speech is loud vowels and quiet consonants. The user's level is their mean speech *power*;
    a mean of per-chunk dB, started at the quiet onset, reads it ~10 dB low here, and a voice
    7.5 dB under the user passed the 6 dB gate (the eval suite's side talk at -8 dB made the
    model policy's fallback yield)."""
    # 32 ms = one VAD chunk; each "syllable" starts quiet, as speech onsets do
    syllables = [speech(32, amp) for _ in range(16) for amp in (0.04, 0.3)]
    user = script(*syllables, silence(976))                                 # 2 s in all
    speaking_after = lambda k: k >= 10  # noqa: E731
    colleague = run(HeuristicPolicy(HeuristicOptions(barge_in_ms=600, near_field_db=6.0), vad_factory=ToneVAD),
                    script(user, speech(1600, 0.09)), speaking_after)
    assert "YIELD" not in colleague[10:], "7.5 dB under the user's speech level is someone else"
    user_again = run(HeuristicPolicy(HeuristicOptions(barge_in_ms=600, near_field_db=6.0), vad_factory=ToneVAD),
                     script(user, *syllables), speaking_after)
    assert "YIELD" in user_again[10:], "the user's own speech over the agent still yields"


def test_speech_near_field_judges_the_last_micro_turn_against_the_user_level():
    """The verdict the model policy's near-field gate on yields reads: False for a micro-turn
    without speech or with a quieter voice, True for speech at the user's level (this
    micro-turn's or its speech run's), None while no user level has been learnt."""
    policy = HeuristicPolicy(HeuristicOptions(near_field_db=6.0), vad_factory=ToneVAD)
    policy.open("s")

    def step(audio, agent_speaking):
        policy.step([TurnInput("s", 0, audio, agent_speaking=agent_speaking)])
        return policy.speech_near_field("s")

    assert step(speech(200, 0.3), agent_speaking=True) is None      # speech, but no user level yet
    for _ in range(5):
        assert step(speech(200, 0.3), agent_speaking=False) is True  # the user, agent silent
    assert step(silence(200), agent_speaking=True) is False         # nothing heard: nobody to yield to
    assert step(speech(200, 0.1), agent_speaking=True) is False     # 9.5 dB quieter: someone else
    assert step(silence(200), agent_speaking=True) is False
    assert step(speech(200, 0.2), agent_speaking=True) is True      # 3.5 dB quieter: still the user
    # a quiet stretch inside the user's own run (consonants, a closure) still counts as theirs:
    # the louder of the micro-turn's level and the run's decides
    assert step(speech(200, 0.3), agent_speaking=True) is True      # the user's level over the agent
    assert step(speech(200, 0.05), agent_speaking=True) is True
    assert step(silence(200), agent_speaking=True) is False
    assert step(speech(200, 0.05), agent_speaking=True) is False    # the same, on its own: someone else
    ungated = HeuristicPolicy(vad_factory=ToneVAD)
    ungated.open("s")
    ungated.step([TurnInput("s", 0, speech(200, 0.1), agent_speaking=True)])
    assert ungated.speech_near_field("s") is None                   # no gate set: cannot tell


def test_speech_near_field_takes_its_own_margin():
    policy = HeuristicPolicy(HeuristicOptions(near_field_db=6.0), vad_factory=ToneVAD)
    policy.open("s")
    for _ in range(5):
        policy.step([TurnInput("s", 0, speech(200, 0.3), agent_speaking=False)])
    policy.step([TurnInput("s", 0, silence(200), agent_speaking=True)])
    policy.step([TurnInput("s", 0, speech(200, 0.2), agent_speaking=True)])      # 3.5 dB under the user
    assert policy.speech_near_field("s") is True                                  # the policy's 6 dB
    assert policy.speech_near_field("s", margin_db=3.0) is False                  # a stricter gate


def test_near_speech_counts_the_run_from_its_first_chunk_at_the_users_level():
    """A run that quieter speech (the agent's echo residue, a voice further off) began before
    the user cut in: `speech_going_on` counts all of it, `near_speech_ms` only what came since
    the first chunk at the user's level, which is what a hold's commit waits on."""
    policy = HeuristicPolicy(HeuristicOptions(near_field_db=6.0, run_gap_ms=250), vad_factory=ToneVAD)
    policy.open("s")
    for _ in range(5):
        policy.step([TurnInput("s", 0, speech(200, 0.3), agent_speaking=False)])
    for _ in range(2):                                                     # their run is over
        policy.step([TurnInput("s", 0, silence(200), agent_speaking=False)])
    for _ in range(2):                                                     # 400 ms of quiet speech
        policy.step([TurnInput("s", 0, speech(200, 0.05), agent_speaking=True)])
    assert policy.near_speech_ms("s", 96) == 0.0                           # not near-field: nothing
    policy.step([TurnInput("s", 0, speech(200, 0.3), agent_speaking=True)])  # then the user, 200 ms
    whole, near = policy.speech_going_on("s", 96), policy.near_speech_ms("s", 96)
    assert 550 <= whole <= 650 and 150 <= near <= 250
    for _ in range(2):                                                     # the run is over
        policy.step([TurnInput("s", 0, silence(200), agent_speaking=True)])
    assert policy.near_speech_ms("s", 96) == 0.0
    ungated = HeuristicPolicy(vad_factory=ToneVAD)                         # no levels kept: the whole run
    ungated.open("s")
    ungated.step([TurnInput("s", 0, speech(200, 0.05), agent_speaking=True)])
    assert ungated.near_speech_ms("s", 96) == ungated.speech_going_on("s", 96) > 0


def test_a_gated_run_starts_afresh_when_the_agent_starts_speaking():
    """The user's own turn runs straight into the agent's answer, whose quiet echo residue
    bridges the gap: without the fresh start the run kept the user's level and length, and
    the residue read as the user talking over the agent."""
    policy = HeuristicPolicy(HeuristicOptions(near_field_db=6.0, run_gap_ms=250), vad_factory=ToneVAD)
    policy.open("s")
    for _ in range(5):
        policy.step([TurnInput("s", 0, speech(200, 0.3), agent_speaking=False)])
    for _ in range(3):                                                     # the answer's residue, 12 dB down
        policy.step([TurnInput("s", 0, speech(200, 0.075), agent_speaking=True)])
    assert policy.speech_near_field("s") is False
    assert policy.speech_going_on("s", 96) == 0.0 and policy.near_speech_ms("s", 96) == 0.0
    policy.step([TurnInput("s", 0, speech(200, 0.3), agent_speaking=True)])  # now the user cuts in
    assert policy.speech_near_field("s") is True
    assert 150 <= policy.near_speech_ms("s", 96) <= 250


def test_near_speech_starts_after_the_last_quiet_stretch_not_at_a_lone_loud_chunk():
    """Echo residue is quiet with loud moments: a 64 ms peak at the user's level early in the run
    does not make the rest of the residue count as the user's speech."""
    policy = HeuristicPolicy(HeuristicOptions(near_field_db=6.0, run_gap_ms=250), vad_factory=ToneVAD)
    policy.open("s")
    for _ in range(5):
        policy.step([TurnInput("s", 0, speech(200, 0.3), agent_speaking=False)])
    for _ in range(2):
        policy.step([TurnInput("s", 0, silence(200), agent_speaking=False)])
    residue = speech(600, 0.075)
    residue[1600:2624] = speech(64, 0.3)                                   # a loud moment, 100 ms in
    mic = np.concatenate([residue, speech(200, 0.3)])                      # then the user, 200 ms
    for k in range(0, len(mic), 3200):
        policy.step([TurnInput("s", 0, mic[k:k + 3200], agent_speaking=True)])
    assert 700 <= policy.speech_going_on("s", 96) <= 850
    assert 150 <= policy.near_speech_ms("s", 96) <= 250


def test_speech_to_noise_is_learnt_while_the_agent_is_silent():
    """`speech_to_noise_db`: the user's level over the floor of chunks without speech, learnt
    only while the agent is silent (over it, echo residue would read as noise)."""
    policy = HeuristicPolicy(HeuristicOptions(near_field_db=6.0), vad_factory=ToneVAD)
    policy.open("s")
    step = lambda audio, agent: policy.step([TurnInput("s", 0, audio, agent_speaking=agent)])  # noqa: E731
    assert policy.speech_to_noise_db("s") is None
    step(silence(200), False)
    assert policy.speech_to_noise_db("s") is None                    # a floor, but no user level yet
    for _ in range(5):
        step(speech(200, 0.3), False)
    # a 0.3-amplitude sine is -13.5 dBFS, the floor 1e-4 RMS is -80 dBFS
    assert abs(policy.speech_to_noise_db("s") - 66.5) < 1.5
    for _ in range(20):
        step(0.01 * np.ones(3200, np.float32), True)                 # quiet hum over the agent: not noise
    assert abs(policy.speech_to_noise_db("s") - 66.5) < 1.5
    for _ in range(20):
        step(0.01 * np.ones(3200, np.float32), False)                # the same with the agent silent
    assert abs(policy.speech_to_noise_db("s") - 26.5) < 3.0          # -40 dBFS now dominates the mean
    assert HeuristicPolicy(vad_factory=ToneVAD).speech_to_noise_db("s") is None
