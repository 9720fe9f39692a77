"""The micro-turn engine: clock, per-session state, batched policy step, floor control, delivery.

Read it in this order:

- `ports.py`: what the WebRTC layer sees (`EnginePort.open_session`, `SessionPort`).
- `policy.py`: the `FloorPolicy` seam, its registry and `DEFAULT_POLICY` (the trained model,
  `runtime/model/policy.py`); `heuristic.py` is the VAD-and-timer policy it falls back on,
  whose near-field check (level; pitch in `speaker_pitch.py`, timbre in `speaker_timbre.py`) also
  gates the model's yields.
- `engine.py`: `Engine`, the 200 ms tick: one batched `policy.step` for every live session.
- `live_session.py`: one conversation: input cut per micro-turn, floor control, agent messages.
- `listener.py`: the engine's ear (VAD per micro-turn, utterances, speech recognition).
- `voice.py`: the agent's voice (utterance queue, TTS off the loop, 20 ms playout, cuts).
- `delivery.py`: when a reasoner interjection may be voiced; `reasoner_link.py`: the seam.
- `clock.py`, `options.py`, `services.py`: time, knobs, speech providers.
- `offline.py`: `run_offline`, the same engine driven frame by frame for evaluation.
"""

from __future__ import annotations

import importlib

# the names most callers want, loaded on first use (importing the package stays cheap)
_EXPORTS = {
    "Engine": "microturn.runtime.engine.engine",
    "EngineOptions": "microturn.runtime.engine.options",
    "RealClock": "microturn.runtime.engine.clock",
    "VirtualClock": "microturn.runtime.engine.clock",
    "SpeechServices": "microturn.runtime.engine.services",
    "default_speech_services": "microturn.runtime.engine.services",
    "run_offline": "microturn.runtime.engine.offline",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'microturn.runtime.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
