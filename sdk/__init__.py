"""microturn: full-duplex voice agents over WebRTC.

What agent developers import lives here (`Agent`, `tool`, `Session`, ...). Names are loaded
lazily so that `import microturn.kernels` on a bare GPU machine needs only torch and triton.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it (filled in as the SDK grows)
_EXPORTS: dict[str, str] = {
    "Agent": "microturn.agent",
    "tool": "microturn.tools",
    "Tool": "microturn.tools",
    "ToolDispatcher": "microturn.tools",
    "ToolResult": "microturn.tools",
    "ToolError": "microturn.tools",
    "Session": "microturn.session",
    "SpeechHandle": "microturn.session",
    "TranscriptEntry": "microturn.session",
    "ReasonerUnavailable": "microturn.session",
    "SessionClosed": "microturn.session",
    "Interjection": "microturn.interjection",
    "UserTurn": "microturn.messages",
    "SpeechResult": "microturn.messages",
    "AgentRunner": "microturn.runner",
    "RuntimeClient": "microturn.client",
    "RuntimeApiError": "microturn.client",
    "ReasonerBackend": "microturn.reasoner",
    "ReasonerRequest": "microturn.reasoner",
    "ReasonerError": "microturn.reasoner",
    "Observation": "microturn.reasoner",
    "ContextItem": "microturn.reasoner",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'microturn' has no attribute {name!r}")
    if name == "SpeechResult":  # the notification `on_speech_finished` receives
        name = "SpeechDone"
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
