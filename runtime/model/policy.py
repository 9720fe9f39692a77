"""The `model` floor policy: the interaction model behind the engine's FloorPolicy seam.

    make_policy("model", checkpoint="path/to/ckpt")   # or checkpoint=None: random init (babbles)

Each tick the engine calls `step` once with every live session; this turns their TurnInputs
into one TurnTensors batch, runs ONE batched streaming step, and reads each session's floor
action and text back. Per session it keeps only what the layout needs between turns: user text
waiting for its byte slots, and the bytes the text head wrote last turn (fed back as AGENT_TEXT).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
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
from microturn.runtime.model.features import build_turn
from microturn.runtime.model.layout import NONE_BYTE
from microturn.runtime.model.streaming import StreamingSessions
from microturn.runtime.model.transformer import InteractionModel

_PRIORITY_RANK = {"urgent": 0, "next_pause": 1, "when_idle": 2}


@dataclass
class _SessionText:
    pending_user: bytearray = field(default_factory=bytearray)  # waiting for USER_TEXT slots
    last_output: bytes = b""                                    # fed back as AGENT_TEXT


def turn_flags(turn: TurnInput) -> list[float]:
    """The TURN token's flags, in the order the model's flag table expects."""
    urgent = any(p.priority == "urgent" for p in turn.interjections)
    return [float(turn.agent_speaking), float(turn.video_changed), float(turn.timer_due),
            float(bool(turn.interjections)), float(urgent)]


class ModelPolicy:
    """FloorPolicy over a StreamingSessions batch. Thread-safe: open/close may race a step."""

    def __init__(self, model: InteractionModel):
        self.model = model.eval()
        self.config = model.config
        self.sessions = StreamingSessions(model)
        self._text: dict[str, _SessionText] = {}
        self._lock = threading.Lock()

    def open(self, session_id: str) -> None:
        with self._lock:
            if session_id not in self.sessions:
                self.sessions.open(session_id)
                self._text[session_id] = _SessionText()

    def close(self, session_id: str) -> None:
        with self._lock:
            if session_id in self.sessions:
                self.sessions.close(session_id)
            self._text.pop(session_id, None)

    def step(self, turns: Sequence[TurnInput]) -> list[TurnDecision]:
        if not turns:
            return []
        with self._lock:
            for t in turns:
                if t.session_id not in self.sessions:  # forgiving: a step implies open
                    self.sessions.open(t.session_id)
                    self._text[t.session_id] = _SessionText()
            tt = self._inputs(turns)
            floor, text = self.sessions.step([t.session_id for t in turns], tt)
            return [self._decide(t, floor[i], text[i]) for i, t in enumerate(turns)]

    # -- inputs and outputs -----------------------------------------------------------------

    def _inputs(self, turns: Sequence[TurnInput]):
        c = self.config
        audio = np.zeros((len(turns), SAMPLES_PER_TURN), dtype=np.float32)
        for i, t in enumerate(turns):
            a = np.asarray(t.audio, dtype=np.float32).reshape(-1)
            if a.size != SAMPLES_PER_TURN:
                raise ValueError(f"session {t.session_id}: a micro-turn has {SAMPLES_PER_TURN} samples, got {a.size}")
            audio[i] = a
        user_chunks, agent_chunks = [], []
        for t in turns:
            state = self._text[t.session_id]
            for piece in t.text:
                state.pending_user.extend(piece.encode("utf-8"))
            user_chunks.append(bytes(state.pending_user[: c.text_in]))
            del state.pending_user[: c.text_in]
            agent_chunks.append(state.last_output)
        flags = np.array([turn_flags(t) for t in turns], dtype=np.float32).reshape(len(turns), N_FLAGS)
        return build_turn(c, audio, [t.video for t in turns], user_chunks, agent_chunks, flags)

    def _decide(self, turn: TurnInput, floor: torch.Tensor, text: torch.Tensor) -> TurnDecision:
        action = FloorAction(FLOOR_ACTIONS[int(floor.argmax())])
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
        if action in (FloorAction.BACKCHANNEL, FloorAction.SPEAK):
            return TurnDecision(action=action, text=words)
        return TurnDecision(action=action)


@register_policy("model")
def make_model_policy(
    checkpoint: str | None = None,
    config: str = "tiny",
    backend: str = "torch",
    invariant: bool = True,
    device: str = "cpu",
    seed: int = 0,
) -> ModelPolicy:
    """The interaction model as a floor policy.

    checkpoint: a folder written by `microturn model init` / `microturn train` (or its
        .safetensors file); None builds `config` with random weights (seeded), which babbles.
    backend: "torch" (reference), "triton" (kernels) or "tensorrt" (see model/README.md).
    invariant: batch-invariant CPU mode for the torch backend (the triton kernels always are).
    """
    ops = make_ops(backend, invariant=invariant)
    if checkpoint:
        from microturn.runtime.model.checkpoint import load_model

        model = load_model(checkpoint, ops=ops, device=device)
    else:
        torch.manual_seed(seed)
        model = InteractionModel(get_config(config), ops=ops).to(device)
    return ModelPolicy(model)
