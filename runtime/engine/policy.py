"""The seam between the engine and whatever decides *when*: the `FloorPolicy` protocol.

Every 200 ms the engine cuts one micro-turn of input for each live session and calls
`FloorPolicy.step` once with all of them. The heuristic policy, the trained interaction model
and the timer baselines all implement this protocol, and they are looked up by name in one
registry shared by `dev`, `serve` and `eval`.

`step` is synchronous and is always called off the event loop that drives WebRTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

MICRO_TURN_MS = 200
SAMPLE_RATE = 16_000
SAMPLES_PER_TURN = SAMPLE_RATE * MICRO_TURN_MS // 1000  # 3200


class FloorAction(str, enum.Enum):
    """What the agent does with the floor during the next micro-turn."""

    LISTEN = "LISTEN"            # stay silent, keep listening
    BACKCHANNEL = "BACKCHANNEL"  # a short "mm-hm" without taking the turn
    SPEAK = "SPEAK"              # take the turn (or keep speaking what was started)
    CONTINUE = "CONTINUE"        # keep talking through overlap ("yeah", side talk)
    YIELD = "YIELD"              # stop talking now: the user barged in
    INTERJECT = "INTERJECT"      # voice a pending interjection now


@dataclass(frozen=True)
class PendingInterjection:
    """An interjection waiting for its moment, as a policy sees it."""

    id: str
    priority: str  # "urgent" | "next_pause" | "when_idle"
    expires_ms: int


@dataclass
class TurnInput:
    """One session's input for one micro-turn."""

    session_id: str
    media_ms: int                       # media time at the *end* of this micro-turn
    audio: np.ndarray                   # float32, SAMPLES_PER_TURN samples, 16 kHz mono, [-1, 1]
    video: np.ndarray | None = None     # latest frame (H, W, 3) uint8 RGB, or None
    video_changed: bool = False         # the frame differs noticeably from the last one seen
    text: list[str] = field(default_factory=list)  # user text / ASR partials that arrived
    agent_speaking: bool = False
    agent_text: str = ""                # what the agent is saying now ("" when silent)
    interjections: list[PendingInterjection] = field(default_factory=list)
    timer_due: bool = False             # an app timer fell due during this micro-turn
    # The turn-end word check (speech/grammar_fit.py) on the user's words so far, made when they
    # last stopped speaking: True = a whole request of the app's grammar, False = not (a prefix,
    # or speech outside the grammar), None = no verdict (no check, speech since, or not decoded).
    words_complete: bool | None = None
    words_checked: bool = False         # the session has that check (its app has a grammar)


@dataclass
class TurnDecision:
    """A policy's decision for one session for one micro-turn."""

    action: FloorAction = FloorAction.LISTEN
    text: str | None = None             # e.g. the backchannel to say
    interjection_id: str | None = None  # with INTERJECT: which pending one to voice
    # Sub-tick arms (optional; a policy that leaves them None is decided per tick only). The
    # engine watches the input between ticks at its VAD's chunk resolution (32 ms) and acts as
    # soon as the condition holds, instead of waiting for the next tick:
    # with CONTINUE: yield once the user's speech run has lasted this many more ms (barge-in);
    yield_after_speech_ms: int | None = None
    # with LISTEN: take the turn once the user has been silent this many more ms (end of turn).
    speak_after_silence_ms: int | None = None
    # with CONTINUE while the agent speaks: keep the floor but pause the agent's voice for this
    # micro-turn (someone is talking over it and it is not yet clear whether they are cutting
    # in); the next decision without it resumes from the same sample, a YIELD cuts as usual.
    hold: bool = False
    # with LISTEN: take the turn as soon as the turn-end word check, still running when this
    # decision was made or started between ticks when the user pauses, finds the user's words a
    # whole request (and no speech was heard after the words it judged).
    speak_if_words_complete: bool = False


@runtime_checkable
class FloorPolicy(Protocol):
    """Decides floor actions for every live session, one batched call per tick."""

    def open(self, session_id: str) -> None: ...

    def close(self, session_id: str) -> None: ...

    def step(self, turns: Sequence[TurnInput]) -> list[TurnDecision]: ...


PolicyFactory = Callable[..., FloorPolicy]
# The floor policy of `dev`, `serve`, `eval run` and an `Engine` built without one: the trained
# interaction model, loading the checkpoint that ships with microturn. `heuristic` (VAD plus a
# 300 ms end-of-turn timer) answers sooner but takes every pause and stops for nearly every "mm-hmm";
# the figures behind the choice are in checkpoints/tiny-floor-v3/CARD.md.
DEFAULT_POLICY = "model"
_REGISTRY: dict[str, PolicyFactory] = {}
# Modules that register policies when imported; imported lazily so that `microturn --help`
# does not load onnxruntime or torch.
_PROVIDERS: list[str] = [
    "microturn.runtime.engine.heuristic",
    "microturn.runtime.engine.baselines",
    "microturn.runtime.model.policy",
]


def register_policy(name: str) -> Callable[[PolicyFactory], PolicyFactory]:
    """Class or function decorator: make a policy available by `name` everywhere."""

    def deco(factory: PolicyFactory) -> PolicyFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def _load_providers() -> None:
    import importlib

    for mod in _PROVIDERS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:  # a provider module not written yet
            if exc.name != mod:
                raise


def policy_names() -> list[str]:
    _load_providers()
    return sorted(_REGISTRY)


def policy_takes(name: str, option: str) -> bool:
    """Does the factory registered as `name` name `option` as a parameter? (A catch-all
    ``**options`` does not count: the baselines forward those to a class that rejects unknown
    ones.) Lets a caller pass e.g. ``checkpoint`` only to the policies that use one."""
    import inspect

    _load_providers()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown floor policy {name!r}; known: {', '.join(sorted(_REGISTRY)) or 'none'}") from None
    param = inspect.signature(factory).parameters.get(option)
    return param is not None and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY)


def make_policy(name: str, **options) -> FloorPolicy:
    """Build a registered policy. Raises ValueError naming the known policies."""
    _load_providers()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown floor policy {name!r}; known: {', '.join(sorted(_REGISTRY)) or 'none'}") from None
    return factory(**options)
