"""The `model` floor policy behind the engine's FloorPolicy seam."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from microturn.runtime.engine.policy import (
    FloorAction,
    FloorPolicy,
    PendingInterjection,
    TurnDecision,
    TurnInput,
    make_policy,
)
from microturn.runtime.model.checkpoint import save_checkpoint
from microturn.runtime.model.config import FLOOR_ACTIONS
from microturn.runtime.model.policy import ModelPolicy
from model_helpers import make_model


def turn_input(sid, ms, rng, **kw):
    return TurnInput(session_id=sid, media_ms=ms, audio=(rng.standard_normal(3200) * 0.05).astype(np.float32), **kw)


def test_registered_and_steps_all_sessions_in_one_call():
    policy = make_policy("model", checkpoint="random", seed=1, user_text=True)
    assert isinstance(policy, FloorPolicy)
    rng = np.random.default_rng(0)
    for sid in ["a", "b", "c"]:
        policy.open(sid)
    frame = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    queued = []
    for ms in (200, 400, 600):
        turns = [turn_input("a", ms, rng, text=["hello there"] if ms == 200 else []),
                 turn_input("b", ms, rng, video=frame, video_changed=True),
                 turn_input("c", ms, rng, agent_speaking=True, agent_text="sure")]
        decisions = policy.step(turns)
        assert len(decisions) == 3 and all(isinstance(d, FloorAction) for d in (x.action for x in decisions))
        queued.append(len(policy._text["a"].pending_user))
    assert policy.sessions.cache_length("a") == 3 * policy.config.tokens_per_turn
    # user text waits for its byte slots: 11 bytes, 4 per turn
    assert queued == [7, 3, 0]
    policy.close("b")
    assert "b" not in policy.sessions
    assert len(policy.step([turn_input("a", 800, rng)])) == 1


def test_typed_text_reaches_the_model_only_when_asked():
    """The shipped checkpoint never saw user text in training: by default typed text leaves the
    model's input (and so every decision) as it would be without it."""
    runs = {}
    for name, kwargs in (("none", {}), ("typed", {}), ("fed", {"user_text": True})):
        policy, rng = make_policy("model", checkpoint="random", seed=3, **kwargs), np.random.default_rng(2)
        queued, decisions = [], []
        for ms in range(200, 2000, 200):
            decisions += policy.step([turn_input("a", ms, rng, text=["hello there"] if name != "none" and ms == 200 else [])])
            queued.append(len(policy._text["a"].pending_user))
        runs[name] = (decisions, queued)
    assert runs["typed"] == runs["none"] and runs["none"][1][0] == 0
    assert runs["fed"][1][:3] == [7, 3, 0]   # 11 bytes into 4-byte slots, one micro-turn at a time


def test_the_model_sees_a_prompt_only_when_it_meets_silence_and_no_pending_interjections():
    """Training shows the model visual changes and due timers only in silence, and interjections
    never: what the policy feeds the model (the TURN flags) keeps a prompt that comes while the
    user speaks (the fallback's VAD says so) and every pending interjection out of it."""
    from microturn.runtime.eval.synth import speak

    fed = []

    def recording(policy):   # every TURN-flag row the policy feeds its model
        real_step = policy.sessions.step
        policy.sessions.step = lambda ids, tt: (fed.append(tt.flags.reshape(-1).tolist()), real_step(ids, tt))[1]
        return policy

    policy = recording(make_policy("model", checkpoint="random", seed=1))
    voice = speak("so I was wondering about the weather", ("en-us", 160, 50))
    pending = [PendingInterjection("soon", "urgent", 0)]
    quiet = np.zeros(3200, np.float32) + 1e-4
    prompt = dict(video_changed=True, timer_due=True, interjections=pending)
    policy.step([TurnInput(session_id="s", media_ms=200, audio=voice[3200:6400], **prompt)])
    policy.step([TurnInput(session_id="s", media_ms=400, audio=quiet, **prompt)])
    policy.step([TurnInput(session_id="s", media_ms=600, audio=quiet, interjections=pending)])
    # flags: agent speaking, video changed, timer due, interjection pending, urgent
    assert fed == [[0, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0]]
    shown = recording(make_policy("model", checkpoint="random", seed=1, interjection_flags=True))
    shown.step([TurnInput(session_id="t", media_ms=200, audio=quiet, interjections=pending)])
    assert fed[-1] == [0, 0, 0, 1, 1]


def test_checkpoint_option_loads_the_weights(tmp_path):
    model = make_model(seed=4)
    save_checkpoint(model, tmp_path / "ck")
    a = make_policy("model", checkpoint=str(tmp_path / "ck"))
    b = ModelPolicy(make_model(seed=4))
    rng1, rng2 = np.random.default_rng(5), np.random.default_rng(5)
    for ms in (200, 400):
        da = a.step([turn_input("s", ms, rng1)])
        db = b.step([turn_input("s", ms, rng2)])
        assert da == db


def test_bad_audio_is_a_clear_error_and_loses_nothing():
    policy = make_policy("model", checkpoint="random")
    rng = np.random.default_rng(1)
    policy.open("ok")
    policy.step([turn_input("ok", 200, rng)])
    bad = TurnInput(session_id="bad", media_ms=200, audio=np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="session bad: a micro-turn has 3200 samples, got 100"):
        policy.step([turn_input("ok", 400, rng), bad])
    assert policy.sessions.cache_length("ok") == policy.config.tokens_per_turn   # nothing appended
    shipped = make_policy("model")            # with its fallback: that is not stepped either
    shipped.step([turn_input("ok", 200, rng)])
    before = shipped.fallback.silence_ms("ok")
    with pytest.raises(ValueError, match="session bad"):
        shipped.step([turn_input("ok", 400, rng), bad])
    assert shipped.fallback.silence_ms("ok") == before
    assert len(policy.step([turn_input("ok", 400, rng)])) == 1


def test_interject_picks_the_most_urgent_pending_one():
    policy = make_policy("model", checkpoint="random")
    pending = [PendingInterjection("later", "when_idle", 900), PendingInterjection("now", "urgent", 5000)]
    turn = turn_input("s", 200, np.random.default_rng(0), interjections=pending)
    policy.open("s")
    floor = torch.full((len(FLOOR_ACTIONS),), -1.0)
    floor[FLOOR_ACTIONS.index("INTERJECT")] = 1.0
    text = torch.zeros(policy.config.text_out, 257)
    text[:, 256] = 1.0
    assert policy._decide(turn, floor, text) == TurnDecision(FloorAction.INTERJECT, interjection_id="now")
    bare = turn_input("s", 400, np.random.default_rng(0))
    assert policy._decide(bare, floor, text).action is FloorAction.LISTEN
    floor[:] = -1.0
    floor[FLOOR_ACTIONS.index("BACKCHANNEL")] = 1.0
    text[:] = 0.0
    for j, byte in enumerate(b"mhm"):
        text[j, byte] = 1.0
    text[3, 256] = 1.0
    assert policy._decide(bare, floor, text) == TurnDecision(FloorAction.BACKCHANNEL, text="mhm")


def test_a_backchannel_without_words_from_the_text_head_says_the_default_word():
    # the shipped checkpoint's byte head writes nothing at its BACKCHANNEL decisions: without a
    # word the engine voices nothing, and the agent never said "mm-hm" (until 2026-11-28)
    floor = torch.full((len(FLOOR_ACTIONS),), -1.0)
    floor[FLOOR_ACTIONS.index("BACKCHANNEL")] = 1.0
    text = torch.zeros(24, 257)
    text[:, 256] = 1.0      # NONE in every slot
    for options, said in (({}, "mm-hm"), ({"backchannel_word": "yeah"}, "yeah"), ({"backchannel_word": ""}, None)):
        policy = make_policy("model", checkpoint="random", **options)
        policy.open("s")
        bare = turn_input("s", 400, np.random.default_rng(0))
        assert policy._decide(bare, floor, text[: policy.config.text_out]) == TurnDecision(FloorAction.BACKCHANNEL, text=said)
