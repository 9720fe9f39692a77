"""Shared scripted audio for the eval tests."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from microturn.runtime.eval.synth import SR, speak

VOICE = ("en-us", 165, 50)


@functools.lru_cache(maxsize=None)
def _halves() -> tuple[np.ndarray, np.ndarray]:
    return speak("so I was wondering", VOICE), speak("what is twelve plus nine", VOICE)


def _paused_turn(pause_s: float) -> tuple[np.ndarray, float, float, float]:
    """(audio, pause start, pause end, turn end): real eSpeak speech, "so I was wondering" + a
    pause of exactly `pause_s` + "what is twelve plus nine", 0.5 s lead-in, 2 s of silence after."""
    a, b = _halves()
    lead = np.zeros(SR // 2, np.float32)
    x = np.concatenate([lead, a, np.zeros(int(pause_s * SR), np.float32), b, np.zeros(2 * SR, np.float32)])
    x = x + np.random.default_rng(0).standard_normal(len(x)).astype(np.float32) * 3e-4
    p0 = (len(lead) + len(a)) / SR
    return x, p0, p0 + pause_s, p0 + pause_s + len(b) / SR


@pytest.fixture
def paused_turn():
    return _paused_turn
