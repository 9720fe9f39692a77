"""The `model` floor policy: the interaction model behind the engine's FloorPolicy seam.

    make_policy("model", checkpoint="path/to/ckpt")   # or checkpoint=None: random init (babbles)

Each tick the engine calls `step` once with every live session; this turns their TurnInputs
into one TurnTensors batch, runs ONE batched streaming step, and reads each session's floor
action and text back. Per session it keeps only what the layout needs between turns: user text
waiting for its byte slots, and the bytes the text head wrote last turn (fed back as AGENT_TEXT).

From probabilities to an action (`DecisionOptions`): the floor head's softmax is read against
thresholds, not by argmax, because each threshold is a trade-off the evaluation suite can tune
(taking the turn in a pause vs answering late; stopping for a "mm-hmm" vs yielding late), and
training's class weights should not have to carry it. Under the model sit hard fallbacks, a
slow VAD timer policy, so nothing is ever stuck: the agent answers after `fallback_answer_ms`
of silence after user speech and yields after `fallback_yield_ms` of sustained speech over it,
whatever the model says; both act between ticks through the engine's watch.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from microturn.runtime.engine.policy import (
    SAMPLES_PER_TURN,
    FloorAction,
    TurnDecision,
    TurnInput,
    register_policy,
)
from microturn.runtime.model.backends import make_ops
from microturn.runtime.model.config import FLOOR_ACTIONS, N_FLAGS, get_config
from microturn.runtime.model.decisions import DecisionOptions, decision_options  # noqa: F401 (re-exported)
from microturn.runtime.model.features import build_turn
from microturn.runtime.model.hold import HoldState, hold_or_commit, hold_through, window_samples
from microturn.runtime.model.layout import NONE_BYTE
from microturn.runtime.model.streaming import StreamingSessions
from microturn.runtime.model.transformer import InteractionModel
from microturn.runtime.speech.commands import CommandCheck

_PRIORITY_RANK = {"urgent": 0, "next_pause": 1, "when_idle": 2}
HEARD_TURNS = 15  # hold_words hears at most the last 3 s of a session's microphone


_INDEX = {a: i for i, a in enumerate(FLOOR_ACTIONS)}


def decide_floor(probs: Sequence[float], agent_speaking: bool, interjection_pending: bool,
                 d: DecisionOptions, speech_to_noise_db: float | None = None) -> TurnDecision:
    """The action the floor probabilities (FLOOR_ACTIONS order) and thresholds give, with the
    watch armed early when the model leans towards taking the turn or yielding but is not sure
    yet; `speech_to_noise_db` (None: unknown) picks the yield threshold
    (`DecisionOptions.noisy_yield_threshold`). The one decision rule: the live policy and
    `eval episodes` both use it."""
    prob = lambda name: probs[_INDEX[name]]  # noqa: E731
    if agent_speaking:
        if prob("YIELD") >= yield_threshold(d, speech_to_noise_db):
            return TurnDecision(FloorAction.YIELD)
        early = d.early_yield_speech_ms if prob("YIELD") >= d.early_yield_threshold else None
        return TurnDecision(FloorAction.CONTINUE, yield_after_speech_ms=early)
    if interjection_pending and prob("INTERJECT") >= d.take_threshold:
        return TurnDecision(FloorAction.INTERJECT)
    if prob("SPEAK") >= d.take_threshold:
        return TurnDecision(FloorAction.SPEAK)
    if prob("BACKCHANNEL") >= d.backchannel_threshold:
        return TurnDecision(FloorAction.BACKCHANNEL)
    early = d.early_take_silence_ms if prob("SPEAK") >= d.early_take_threshold else None
    return TurnDecision(FloorAction.LISTEN, speak_after_silence_ms=early)


def yield_threshold(d: DecisionOptions, speech_to_noise_db: float | None) -> float:
    """`yield_threshold`, or `noisy_yield_threshold` where the user is heard over noise by less
    than `noisy_below_db` (an unknown level counts as quiet: the shipped behaviour)."""
    if d.noisy_yield_threshold is not None and speech_to_noise_db is not None and speech_to_noise_db < d.noisy_below_db:
        return d.noisy_yield_threshold
    return d.yield_threshold


def far_field_continues(decided: TurnDecision, near_field: bool | None) -> TurnDecision:
    """`DecisionOptions.yield_near_field_db`: a YIELD in a micro-turn without near-field
    speech (`HeuristicPolicy.speech_near_field` False; None = speech, level unknown) becomes
    CONTINUE. The live policy and `eval episodes` both use it."""
    if decided.action is FloorAction.YIELD and near_field is False:
        return TurnDecision(FloorAction.CONTINUE)
    return decided


def fallback_policy(d: DecisionOptions):
    """The hard fallbacks as a slow heuristic policy (its VAD and user level also serve the
    near-field gate): a timer too slow to matter unless the model is stuck (0 = never)."""
    from microturn.runtime.engine.heuristic import HeuristicPolicy

    return HeuristicPolicy(end_of_turn_ms=d.fallback_answer_ms or 10**9, barge_in_ms=d.fallback_yield_ms or 10**9,
                           run_gap_ms=d.fallback_yield_gap_ms, near_field_db=d.fallback_near_field_db,
                           voice_semitones=d.voice_semitones, voice_timbre=d.voice_timbre,
                           voice_joint=d.voice_joint)


@dataclass
class _SessionText:
    pending_user: bytearray = field(default_factory=bytearray)  # waiting for USER_TEXT slots
    last_output: bytes = b""                                    # fed back as AGENT_TEXT


def turn_flags(turn: TurnInput, *, user_speaking: bool = False, interjections: bool = True) -> list[float]:
    """The TURN token's flags, in the order the model's flag table expects.

    A visual change or a due timer is shown only when it meets silence (neither side speaking
    at the tick): training has them only there, as cues to speak up when nobody does, and one
    shown mid-sentence drew a SPEAK that ended the user's turn half-way. The app's hook hears of
    it either way, and its words wait for the pause. `interjections`: show pending ones
    (`DecisionOptions.interjection_flags`)."""
    prompt = not user_speaking and not turn.agent_speaking
    pending = interjections and bool(turn.interjections)
    urgent = pending and any(p.priority == "urgent" for p in turn.interjections)
    return [float(turn.agent_speaking), float(turn.video_changed and prompt), float(turn.timer_due and prompt),
            float(pending), float(urgent)]


class ModelPolicy:
    """FloorPolicy over a StreamingSessions batch. Thread-safe: open/close may race a step."""

    def __init__(self, model: InteractionModel, decisions: DecisionOptions | None = None, fallback=None,
                 command_check: CommandCheck | None = None):
        """`fallback`: the hard fallbacks' policy (default: `fallback_policy`, a slow VAD timer);
        `command_check`: what `DecisionOptions.hold_words` asks (default: `GrammarCommands`)."""
        self.model = model.eval()
        self.config = model.config
        self.decisions = decisions or DecisionOptions()
        self.sessions = StreamingSessions(model)
        self._text: dict[str, _SessionText] = {}
        self._holds: dict[str, HoldState] = {}
        self._heard: dict[str, deque] = {}  # with hold_words: each session's last micro-turns of audio
        self._lock = threading.Lock()
        d = self.decisions
        if fallback is None and (d.fallback_answer_ms or d.fallback_yield_ms or d.yield_near_field_db is not None
                                 or d.holds or d.noisy_yield_threshold is not None):
            fallback = fallback_policy(d)
        self.fallback = fallback
        if command_check is None and d.hold_words and d.holds:
            from microturn.runtime.speech.commands import GrammarCommands

            command_check = GrammarCommands()
        self.command_check = command_check

    def open(self, session_id: str) -> None:
        with self._lock:
            if session_id not in self.sessions:
                self.sessions.open(session_id)
                self._text[session_id] = _SessionText()
            if self.fallback is not None:
                self.fallback.open(session_id)

    def close(self, session_id: str) -> None:
        with self._lock:
            if session_id in self.sessions:
                self.sessions.close(session_id)
            self._text.pop(session_id, None)
            self._holds.pop(session_id, None)
            self._heard.pop(session_id, None)
            if self.fallback is not None:
                self.fallback.close(session_id)

    def step(self, turns: Sequence[TurnInput]) -> list[TurnDecision]:
        if not turns:
            return []
        for t in turns:   # before anything steps, so a bad turn changes no session's state
            size = np.asarray(t.audio).size
            if size != SAMPLES_PER_TURN:
                raise ValueError(f"session {t.session_id}: a micro-turn has {SAMPLES_PER_TURN} samples, got {size}")
        # the fallback first: its VAD says who is speaking at this tick, which the flags need
        fallback = self.fallback.step(turns) if self.fallback is not None else None
        speaking = [self._silence_ms(t.session_id) == 0 for t in turns]
        with self._lock:
            for t in turns:
                if t.session_id not in self.sessions:  # forgiving: a step implies open
                    self.sessions.open(t.session_id)
                    self._text[t.session_id] = _SessionText()
            tt = self._inputs(turns, speaking)
            floor, text = self.sessions.step([t.session_id for t in turns], tt)
            decisions = [self._decide(t, floor[i], text[i]) for i, t in enumerate(turns)]
        if fallback is None:
            return decisions
        if self.decisions.yield_near_field_db is not None:
            decisions = [self._far_field_continues(t, d) for t, d in zip(turns, decisions)]
        decisions = [_with_fallback(d, f) for d, f in zip(decisions, fallback)]
        if self.decisions.turn_words:
            decisions = [self._turn_words(t, d, f) for t, d, f in zip(turns, decisions, fallback)]
        if self.decisions.holds:
            p_yield = torch.softmax(floor.float(), dim=-1)[:, _INDEX["YIELD"]].tolist()
            decisions = [self._hold_or_commit(t, d, f, p) for t, d, f, p in zip(turns, decisions, fallback, p_yield)]
        return decisions

    def _hold_or_commit(self, turn: TurnInput, decided: TurnDecision, fallback: TurnDecision,
                        p_yield: float) -> TurnDecision:
        going_on = getattr(self.fallback, "speech_going_on", None)
        if going_on is None:
            return decided
        sid = turn.session_id
        heard = None
        if self.command_check is not None:
            heard = self._heard.setdefault(sid, deque(maxlen=HEARD_TURNS))
            heard.append(np.asarray(turn.audio, dtype=np.float32).reshape(-1))
        if not turn.agent_speaking:
            self._holds.pop(sid, None)
            return decided
        d = self.decisions
        run_ms = going_on(sid, d.hold_gap_ms, d.hold_margin_db)
        near_speech = getattr(self.fallback, "near_speech_ms", None)
        near_ms = near_speech(sid, d.hold_gap_ms, d.hold_margin_db) if near_speech is not None else None
        decided = hold_or_commit(decided, run_ms, d, forced=fallback.action is FloorAction.YIELD, p_yield=p_yield,
                                 near_ms=near_ms)
        is_command = None
        if heard is not None:
            def is_command(window_ms: float) -> bool:
                audio = np.concatenate(heard)
                return self.command_check.is_command(audio[-window_samples(window_ms):])
        silence_ms = self._silence_ms(sid)
        return hold_through(decided, run_ms, d, self._holds.setdefault(sid, HoldState()), is_command, silence_ms,
                            p_yield=p_yield)

    def _silence_ms(self, session_id: str) -> float | None:
        """How long the fallback's VAD has heard the microphone silent (None: it cannot say)."""
        silence_ms = getattr(self.fallback, "silence_ms", None)
        return silence_ms(session_id) if silence_ms is not None else None

    def _turn_words(self, turn: TurnInput, decided: TurnDecision, fallback: TurnDecision) -> TurnDecision:
        """`DecisionOptions.turn_words`: the words of a whole request end the user's turn."""
        silence_ms = self._silence_ms(turn.session_id)
        if turn.agent_speaking or turn.interjections or silence_ms is None:
            return decided
        # With speech at the tick a verdict is for words the user has since added to; one may still
        # come between ticks, on the words up to a pause the engine's watch hears before the next
        # tick (its listener.py)
        verdict = turn.words_complete if silence_ms > 0 else None
        if verdict and decided.action in (FloorAction.LISTEN, FloorAction.BACKCHANNEL):
            return TurnDecision(FloorAction.SPEAK)  # a whole request is answered, not acknowledged
        if decided.action is FloorAction.LISTEN:
            return dataclasses.replace(decided, speak_if_words_complete=True) if verdict is None else decided
        if (decided.action is FloorAction.SPEAK and self.decisions.turn_words_wait
                and fallback.action is not FloorAction.SPEAK
                and (verdict is False or (verdict is None and turn.words_checked))):
            # With a grammar the turn end is the check's (and the fallback's): "not whole" waits
            # for the fallback; no verdict yet (the tick came before the check, or the user is
            # still heard) waits for one and takes the turn the moment it says "whole". The
            # model's own SPEAK answered monologues: after saying "mm-hm" in one pause it took a
            # later pause, or a sentence mid-way, before the check could say "not whole".
            return TurnDecision(FloorAction.LISTEN, speak_after_silence_ms=fallback.speak_after_silence_ms,
                                speak_if_words_complete=verdict is None)
        return decided

    def _far_field_continues(self, turn: TurnInput, decided: TurnDecision) -> TurnDecision:
        gate = getattr(self.fallback, "speech_near_field", None)
        near = gate(turn.session_id, self.decisions.yield_near_field_db) if gate is not None else None
        return far_field_continues(decided, near)

    # -- inputs and outputs -----------------------------------------------------------------

    def _inputs(self, turns: Sequence[TurnInput], user_speaking: Sequence[bool]):
        c = self.config
        audio = np.stack([np.asarray(t.audio, dtype=np.float32).reshape(-1) for t in turns])
        user_chunks, agent_chunks = [], []
        for t in turns:
            state = self._text[t.session_id]
            for piece in t.text if self.decisions.user_text else ():   # DecisionOptions.user_text
                state.pending_user.extend(piece.encode("utf-8"))
            user_chunks.append(bytes(state.pending_user[: c.text_in]))
            del state.pending_user[: c.text_in]
            agent_chunks.append(state.last_output)
        flags = np.array([turn_flags(t, user_speaking=u, interjections=self.decisions.interjection_flags)
                          for t, u in zip(turns, user_speaking)], dtype=np.float32).reshape(len(turns), N_FLAGS)
        return build_turn(c, audio, [t.video for t in turns], user_chunks, agent_chunks, flags)

    def _action(self, turn: TurnInput, floor: torch.Tensor) -> TurnDecision:
        probs = torch.softmax(floor.float(), dim=-1).tolist()
        return decide_floor(probs, turn.agent_speaking, bool(turn.interjections), self.decisions,
                            self._speech_to_noise_db(turn.session_id))

    def _speech_to_noise_db(self, session_id: str) -> float | None:
        """The fallback's estimate of how far the user stands over the noise (None: it cannot say)."""
        estimate = getattr(self.fallback, "speech_to_noise_db", None)
        return estimate(session_id) if estimate is not None else None

    def _decide(self, turn: TurnInput, floor: torch.Tensor, text: torch.Tensor) -> TurnDecision:
        decided = self._action(turn, floor)
        action = decided.action
        out = bytearray()
        for b in text.argmax(dim=-1).tolist():
            if b == NONE_BYTE:
                break
            out.append(b)
        self._text[turn.session_id].last_output = bytes(out)
        words = out.decode("utf-8", errors="ignore").strip() or None
        if action is FloorAction.INTERJECT:
            if not turn.interjections:
                return TurnDecision(action=FloorAction.LISTEN)
            best = min(turn.interjections, key=lambda p: (_PRIORITY_RANK.get(p.priority, 3), p.expires_ms))
            return TurnDecision(action=action, interjection_id=best.id)
        if action is FloorAction.BACKCHANNEL:
            return TurnDecision(action=action, text=words or self.decisions.backchannel_word or None)
        if action is FloorAction.SPEAK:
            return TurnDecision(action=action, text=words)
        return decided


def _with_fallback(model: TurnDecision, fallback: TurnDecision) -> TurnDecision:
    """The model's decision, overruled only where the fallback timer ran out (SPEAK after the
    long silence, YIELD after the long speech run); otherwise carrying the fallback's arm so
    the engine's watch can still act on it between ticks."""
    if fallback.action in (FloorAction.SPEAK, FloorAction.YIELD) and model.action is not fallback.action:
        if model.action in (FloorAction.LISTEN, FloorAction.CONTINUE, FloorAction.BACKCHANNEL):
            return TurnDecision(action=fallback.action)
    if model.action in (FloorAction.LISTEN, FloorAction.CONTINUE):
        return TurnDecision(action=model.action, text=model.text,
                            speak_after_silence_ms=_sooner(model.speak_after_silence_ms, fallback.speak_after_silence_ms),
                            yield_after_speech_ms=_sooner(model.yield_after_speech_ms, fallback.yield_after_speech_ms))
    return model


def _sooner(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


@register_policy("model")
def make_model_policy(
    checkpoint: str | None = None,
    config: str = "tiny",
    backend: str = "torch",
    invariant: bool = True,
    device: str = "cpu",
    seed: int = 0,
    take_threshold: float | None = None,
    yield_threshold: float | None = None,
    noisy_yield_threshold: float | None = None,
    noisy_below_db: float | None = None,
    backchannel_threshold: float | None = None,
    early_take_threshold: float | None = None,
    early_take_silence_ms: int | None = None,
    early_yield_threshold: float | None = None,
    early_yield_speech_ms: int | None = None,
    yield_near_field_db: float | None = None,
    fallback_answer_ms: int | None = None,
    fallback_yield_ms: int | None = None,
    fallback_near_field_db: float | None = None,
    fallback_yield_gap_ms: int | None = None,
    voice_semitones: float | None = None,
    voice_timbre: float | None = None,
    voice_joint: bool | None = None,
    hold_speech_ms: int | None = None,
    hold_gap_ms: int | None = None,
    hold_max_ms: int | None = None,
    hold_commit_ms: int | None = None,
    hold_commit_threshold: float | None = None,
    hold_lean_threshold: float | None = None,
    hold_words: bool | None = None,
    words_max_burst_ms: int | None = None,
    turn_words: bool | None = None,
    turn_words_wait: bool | None = None,
    interjection_flags: bool | None = None,
    user_text: bool | None = None,
    backchannel_word: str | None = None,
) -> ModelPolicy:
    """The interaction model as a floor policy.

    checkpoint: a folder written by `microturn model init` / `microturn train` (or its
        .safetensors file); None loads the trained checkpoint that ships with microturn
        (`microturn.checkpoints.SHIPPED`); "random" builds `config` with random weights (seeded),
        which babble: only for tests and benchmarks of the machinery.
        A checkpoint folder may hold `decisions.json` (tuned thresholds, see DecisionOptions).
    backend: "torch" (reference), "triton" (kernels) or "tensorrt" (see model/README.md).
    invariant: batch-invariant CPU mode for the torch backend (the triton kernels always are).
    The rest: `DecisionOptions`, each named here so callers (`eval run --policy-option`) can
    see it; one left at None comes from `decisions.json`, else the DecisionOptions default.
    """
    args = dict(locals())
    given = {name: args[name] for name in DecisionOptions.names() if args[name] is not None}
    checkpoint = resolve_checkpoint(checkpoint)
    decisions = decision_options(checkpoint, given)
    ops = make_ops(backend, invariant=invariant)
    if checkpoint:
        from microturn.runtime.model.checkpoint import load_model

        model = load_model(checkpoint, ops=ops, device=device)
    else:
        torch.manual_seed(seed)
        model = InteractionModel(get_config(config), ops=ops).to(device)
    return ModelPolicy(model, decisions)


RANDOM_WEIGHTS = "random"


def resolve_checkpoint(checkpoint: str | None) -> str | None:
    """The checkpoint the `model` policy loads: None means the shipped one, "random" means none
    (random weights); a path is checked here, so a typo fails with its name, not deep in a load."""
    if checkpoint is None:
        from microturn.checkpoints import SHIPPED

        if not SHIPPED.is_dir():
            raise ValueError(f"the shipped checkpoint {SHIPPED} is missing from this install; "
                             "name one with --checkpoint PATH")
        return str(SHIPPED)
    if checkpoint == RANDOM_WEIGHTS:
        return None
    if not Path(checkpoint).exists():
        raise ValueError(f"checkpoint {checkpoint}: no such file or folder")
    return checkpoint
