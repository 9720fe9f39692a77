"""The turn-end word check in the engine (`DecisionOptions.turn_words`): with the arithmetic app's
grammar, a whole question is answered as soon as the user stops, a question cut short by a pause
is not, and without the option the model decides alone. Real providers end to end (Silero VAD,
pocketsphinx, eSpeak NG, the shipped checkpoint) on the engine's virtual clock."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from engine_doubles import doubles, script, silence, speech

from examples.arithmetic import ArithmeticAgent
from microturn import Agent
from microturn.runtime.engine.clock import VirtualClock
from microturn.runtime.engine.engine import Engine
from microturn.runtime.engine.offline import run_offline
from microturn.runtime.engine.options import EngineOptions
from microturn.runtime.engine.policy import FloorAction, TurnDecision, make_policy
from microturn.runtime.eval.synth import speak

VOICE = ("en-us", 160, 50)
LEAD_MS = 400


def clip(*parts) -> tuple[np.ndarray, list[int]]:
    """Speech and silences (ms) after a 400 ms lead-in; returns the audio and where each spoken
    part ends (ms)."""
    pieces, ends, t = [np.zeros(LEAD_MS * 16, np.float32)], [], LEAD_MS
    for part in parts:
        a = np.zeros(part * 16, np.float32) if isinstance(part, int) else speak(part, VOICE).astype(np.float32)
        pieces.append(a)
        t += len(a) // 16
        if not isinstance(part, int):
            ends.append(t)
    return np.concatenate(pieces), ends


def answer_starts(result) -> list[int]:
    return [e["media_ms"] for e in result.events if e["type"] == "agent.speech.started"]


@pytest.fixture(scope="module")
def real_speech():
    from microturn.runtime.engine.services import default_speech_services

    return default_speech_services()


def test_a_whole_question_is_answered_as_soon_as_the_user_stops(real_speech):
    audio, (end,) = clip("what is seven times eight", 2000)
    fast = run_offline(audio, policy=make_policy("model", turn_words=True), agent=ArithmeticAgent(), speech=real_speech)
    starts = answer_starts(fast)
    assert starts and end < starts[0] <= end + 300, (end, starts)
    said = [e["text"] for e in fast.events if e["type"] == "agent.speech.started"]
    assert "fifty six" in said[0]
    # without the option the same model waits longer for this question (its P(SPEAK) alone)
    alone = answer_starts(run_offline(audio, policy=make_policy("model", turn_words=False),
                                      agent=ArithmeticAgent(), speech=real_speech))
    assert alone and alone[0] > starts[0], (starts, alone)


def test_a_question_cut_short_waits_for_the_rest(real_speech):
    audio, (cut, end) = clip("what is seven times", 900, "eight", 2000)
    result = run_offline(audio, policy=make_policy("model", turn_words=True, turn_words_wait=True),
                         agent=ArithmeticAgent(), speech=real_speech)
    starts = answer_starts(result)
    assert starts and starts[0] > end, (cut, end, starts)       # nothing in the pause
    assert starts[0] <= end + 300, (end, starts)                  # and fast once the question is whole


# ---- the plumbing, with doubles (tone VAD, scripted ASR, a check that says what it is told) ----


GRAMMAR_TEXT = "#JSGF V1.0;\ngrammar g;\npublic <q> = what is seven times eight;\n"


class SaysWhole:
    """A `TurnWordsCheck` double: every utterance gets `verdict` (or only those of at least
    `min_ms`); counts its calls and keeps the length of what it judged."""

    def __init__(self, verdict: bool, min_ms: int = 0):
        self.verdict, self.min_ms, self.calls, self.judged_ms = verdict, min_ms, 0, []
        self.asr, self.decodes_before = None, []   # how many decodes the recogniser had finished

    def complete(self, audio):
        self.calls += 1
        self.judged_ms.append(len(audio) // 16)
        if self.asr is not None:
            self.decodes_before.append(len(self.asr.finished))
        return self.verdict and len(audio) // 16 >= self.min_ms


class WaitsForWords:
    """Never takes the turn by itself: LISTEN asking for the verdict, SPEAK once a tick sees it."""

    def __init__(self):
        self.seen = []
        self.agent_speaking = {}   # media_ms -> what the tick was told

    def open(self, session_id): ...

    def close(self, session_id): ...

    def step(self, turns):
        out = []
        for t in turns:
            self.seen.append((t.media_ms, t.words_complete))
            self.agent_speaking[t.media_ms] = t.agent_speaking
            out.append(TurnDecision(FloorAction.SPEAK) if t.words_complete and not t.agent_speaking
                       else TurnDecision(FloorAction.LISTEN, speak_if_words_complete=True))
        return out


class GrammarApp(Agent):
    asr_grammar = GRAMMAR_TEXT

    async def on_user_turn(self, session, turn):
        session.say("fifty six")


async def run_words(verdict: bool, early_floor: bool, check=None, audio=None, texts=("what is seven times eight",),
                    partials: bool = True, events=None, policy=None):
    from microturn.runtime.apps import agent_factory

    check = check or SaysWhole(verdict)
    speech_services = doubles(list(texts))
    speech_services.turn_words_for_grammar = lambda grammar: check
    check.asr = speech_services.asr
    policy = policy or WaitsForWords()
    engine = Engine(EngineOptions(early_floor=early_floor, asr_partials=partials), policy, speech_services,
                    agent_factory(GrammarApp()), VirtualClock())
    await engine.start()
    events = [] if events is None else events
    port = await engine.open_session("r", "u", events.append)
    await engine.settle()
    if audio is None:
        audio = script(silence(200), speech(560), silence(1240))   # speech ends at 760 ms
    for k in range(0, len(audio), 320):
        port.pull_audio()
        port.push_audio(audio[k:k + 320])
        await engine.advance(20)
    await engine.stop()
    ended = [e["media_ms"] for e in events if e["type"] == "user.turn.ended"]
    return ended, policy.seen, check.calls


def verdicts(name: str) -> float:
    from microturn.runtime import metrics

    return metrics.REGISTRY.get_sample_value("microturn_turn_words_total", {"verdict": name}) or 0.0


async def test_a_whole_request_is_answered_when_the_verdict_comes_not_at_the_next_tick():
    before = verdicts("whole")
    ended, seen, calls = await run_words(True, early_floor=True)
    assert verdicts("whole") - before == calls, "every verdict is counted for /metrics"
    # the speech ends at 760 ms; the tick at 800 ms hears only 40 ms of silence, but the watch
    # hears 64 ms by the 32 ms chunk ending at 832 ms: the speculative decode and the check run
    # then, and the turn is taken as their verdict comes (at once on this clock), not at a tick
    assert calls == 1 and len(ended) == 1 and 800 < ended[0] <= 864, (ended, seen)


@pytest.mark.parametrize("partials", [True, False])
async def test_a_pause_heard_between_ticks_is_judged_again_at_the_tick_and_speech_after_it_is_not_lost(partials):
    # "what is seven" (200-480 ms), a 220 ms pause, "times eight" (700-1100 ms), then silence.
    # The first pause is judged as the watch hears it (not whole: too short for this check), and
    # again on the tick at 600 ms's longer cut ("not whole" from between ticks is not final);
    # the second pause is judged whole and taken before the tick at 1200 ms, with the whole
    # utterance's words.
    check = SaysWhole(True, min_ms=900)
    events: list[dict] = []
    audio = script(silence(200), speech(280), silence(220), speech(400), silence(1300))
    ended, seen, calls = await run_words(True, True, check=check, audio=audio, partials=partials, events=events,
                                         texts=["what is seven", "what", "what is seven times eight"])
    assert calls == 3 and len(ended) == 1 and 1100 < ended[0] <= 1200, (ended, check.judged_ms)
    turn = next(e for e in events if e["type"] == "user.turn.ended")
    assert (turn["text"], turn["start_ms"]) == ("what is seven times eight", 200) and 1100 <= turn["end_ms"] < 1140
    first, at_tick, whole = check.judged_ms
    assert first < at_tick < 900 <= whole, check.judged_ms


async def test_a_turn_taken_between_ticks_owns_its_last_syllable_in_the_next_tick():
    # the speech ends at 840 ms, after the tick at 800 ms: the turn is taken at the pause the
    # watch hears (~900 ms); the tick at 1000 ms still holds 40 ms of that speech, which must
    # not open a second user turn, and which the policy is shown as the user's (agent silent)
    events: list[dict] = []
    policy = WaitsForWords()
    ended, seen, calls = await run_words(True, True, audio=script(silence(200), speech(640), silence(1160)),
                                         events=events, policy=policy)
    assert calls == 1 and len(ended) == 1 and 840 < ended[0] < 1000, (ended, seen)
    turn = next(e for e in events if e["type"] == "user.turn.ended")
    assert turn["text"] == "what is seven times eight" and 830 <= turn["end_ms"] <= 864, turn
    starts = [e["media_ms"] for e in events if e["type"] == "user.speech.started"]
    assert starts == [200], starts
    assert [ms for ms, verdict in seen if verdict is not None] == [], "no tick had to see the verdict"
    assert not policy.agent_speaking[1000] and policy.agent_speaking[1200], policy.agent_speaking


@pytest.mark.parametrize("partials", [True, False])
async def test_between_ticks_the_verdict_comes_before_the_words(partials):
    # a take waits for the verdict only: the check runs before the utterance is decoded, and the
    # turn's words are still the decoded ones
    check, events = SaysWhole(True), []
    ended, seen, calls = await run_words(True, True, check=check, events=events, partials=partials,
                                         audio=script(silence(200), speech(640), silence(1160)))
    assert calls == 1 and check.decodes_before == [0] and 840 < ended[0] < 1000, (check.decodes_before, ended)
    assert [e["text"] for e in events if e["type"] == "user.turn.ended"] == ["what is seven times eight"]


class AnswersOnTickVerdicts(WaitsForWords):
    """Takes the turn only at a tick that sees a whole verdict (never asks for one between ticks)."""

    def step(self, turns):
        return [dataclasses.replace(d, speak_if_words_complete=False) for d in super().step(turns)]


@pytest.mark.parametrize("whole", [True, False])
async def test_a_verdict_made_between_ticks_is_the_next_ticks_unless_it_is_not_whole(whole):
    # the speech ends at 700 ms; the watch hears the pause by 768 ms and the check runs then.
    # Whole: the tick at 800 ms takes that verdict over (no second check) and the tick at 1000 ms
    # sees it. Not whole: judged again on the tick at 800 ms's cut.
    ended, seen, calls = await run_words(True, True, check=SaysWhole(whole), policy=AnswersOnTickVerdicts(),
                                         audio=script(silence(200), speech(500), silence(1300)))
    assert calls == (1 if whole else 2), (calls, seen)
    assert (1000, whole) in seen and ended == ([1000] if whole else []), (ended, seen)


async def test_without_the_watch_the_next_tick_sees_the_verdict():
    ended, seen, _ = await run_words(True, early_floor=False)
    assert (1200, True) in seen and ended == [1200], (ended, seen)


async def test_a_request_that_is_not_whole_is_not_answered():
    ended, seen, calls = await run_words(False, early_floor=True)
    assert calls >= 1 and ended == [], (ended, seen)
    assert (1200, False) in seen, "the policy is told, so it can wait (turn_words_wait)"
    assert all(v is None for ms, v in seen if ms <= 1000), "no verdict before the pause, nor during speech"


def test_an_agent_without_a_grammar_gets_no_check_and_a_failing_one_costs_only_the_check():
    services = doubles()
    services.turn_words_for_grammar = lambda grammar: (_ for _ in ()).throw(ValueError("bad grammar"))
    assert services.turn_words_for(None) is None
    assert services.turn_words_for(GRAMMAR_TEXT) is None   # logged, not raised: sessions still open
    services.turn_words_for_grammar = lambda grammar: SaysWhole(True)
    assert services.turn_words_for(GRAMMAR_TEXT) is None, "the outcome is cached per grammar"
    assert services.turn_words_for("#JSGF V1.0;\ngrammar h;\npublic <q> = stop;\n").verdict is True


def test_the_model_policy_rules_for_the_verdict():
    from microturn.runtime.engine.policy import TurnInput

    policy = make_policy("model", checkpoint="random", turn_words=True, turn_words_wait=True)

    class Fallback:
        silence = 300.0

        def silence_ms(self, session_id):
            return self.silence

    policy.fallback = fb = Fallback()
    turn = lambda verdict, speaking=False, checked=True: TurnInput(  # noqa: E731
        "s", 1000, np.zeros(3200, np.float32), agent_speaking=speaking, words_complete=verdict, words_checked=checked)
    listen, speak = TurnDecision(FloorAction.LISTEN, speak_after_silence_ms=120), TurnDecision(FloorAction.SPEAK)
    rule = policy._turn_words
    assert rule(turn(True), listen, listen).action is FloorAction.SPEAK
    assert rule(turn(True), TurnDecision(FloorAction.BACKCHANNEL, text="mm-hm"), listen).action is FloorAction.SPEAK
    assert rule(turn(None), TurnDecision(FloorAction.BACKCHANNEL, text="mm-hm"), listen).action is FloorAction.BACKCHANNEL
    pending = rule(turn(None), listen, listen)
    assert pending.action is FloorAction.LISTEN and pending.speak_if_words_complete and pending.speak_after_silence_ms == 120
    waited = rule(turn(False), speak, listen)                 # the model would take a "not whole" request
    assert waited.action is FloorAction.LISTEN and waited.speak_after_silence_ms == 120
    assert rule(turn(False), speak, speak).action is FloorAction.SPEAK, "the answer fallback still answers"
    early = rule(turn(None), speak, listen)        # the model would take a pause the check has not judged yet
    assert early.action is FloorAction.LISTEN and early.speak_if_words_complete, "the verdict decides, when it comes"
    assert early.speak_after_silence_ms == 120
    assert rule(turn(None, checked=False), speak, listen) is speak, "an app without a grammar: the model decides"
    assert rule(turn(None), speak, speak).action is FloorAction.SPEAK, "the answer fallback still answers"
    assert rule(turn(True, speaking=True), listen, listen) is listen, "not while the agent speaks"
    fb.silence = 0.0
    heard = rule(turn(True), listen, listen)   # a verdict at the tick is for words the user has since added to
    assert heard.action is FloorAction.LISTEN and heard.speak_after_silence_ms == 120, "not while the user is heard"
    assert heard.speak_if_words_complete, "but a verdict on the pause the watch hears before the next tick may take it"
    over = rule(turn(None), speak, listen)         # the model would take the turn over the user's words
    assert over.action is FloorAction.LISTEN and over.speak_if_words_complete, "the next pause's verdict decides"
    assert rule(turn(None, checked=False), speak, listen) is speak, "an app without a grammar: the model decides"
    assert rule(turn(False), speak, speak) is speak, "the fallback still answers"
    fb.silence = None
    assert rule(turn(True), listen, listen) is listen, "a fallback that cannot say who speaks: no rule"
