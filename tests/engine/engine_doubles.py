"""Speech doubles and a scripted peer for engine tests on the virtual clock.

`ToneVAD` treats any chunk louder than a whisper as speech (chunked like Silero: 512 samples);
`ScriptedASR` returns the next scripted text per utterance; `BeepTTS` renders each word as
250 ms of tone. `speech(ms)` / `silence(ms)` build scripted 16 kHz input.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from microturn.runtime.engine.clock import VirtualClock
from microturn.runtime.engine.engine import Engine
from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.options import EngineOptions
from microturn.runtime.engine.services import SpeechServices
from microturn.runtime.engine.voice import split_sentences
from microturn.runtime.speech.base import Transcript

SR = 16_000


def speech(ms: int, amp: float = 0.3) -> np.ndarray:
    t = np.arange(SR * ms // 1000) / SR
    return (amp * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def silence(ms: int) -> np.ndarray:
    rng = np.random.default_rng(ms)
    return (1e-4 * rng.standard_normal(SR * ms // 1000)).astype(np.float32)


def script(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts).astype(np.float32)


class ToneVAD:
    sample_rate = SR

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._pending = np.zeros(0, np.float32)

    def chunk_probs(self, audio: np.ndarray) -> np.ndarray:
        a = np.concatenate([self._pending, np.asarray(audio, np.float32)])
        n = len(a) // 512
        chunks = a[: n * 512].reshape(n, 512)
        self._pending = a[n * 512:]
        rms = np.sqrt((chunks ** 2).mean(axis=1)) if n else np.zeros(0)
        return np.where(rms > 0.02, 0.95, 0.02).astype(np.float32)

    def speech_prob(self, audio: np.ndarray) -> float:
        p = self.chunk_probs(audio)
        return float(p.max()) if len(p) else 0.0


class _Stream:
    def __init__(self, asr: "ScriptedASR"):
        self.asr, self.samples = asr, 0

    def feed(self, audio: np.ndarray) -> str:
        self.samples += len(audio)
        return ""

    def finish(self) -> Transcript:
        self.asr.finished.append(self.samples)
        return Transcript(self.asr.texts.popleft() if self.asr.texts else "", [])


class ScriptedASR:
    sample_rate = SR

    def __init__(self, texts=()):
        self.texts = deque(texts)
        self.finished: list[int] = []

    def stream(self) -> _Stream:
        return _Stream(self)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        stream = self.stream()
        stream.feed(audio)
        return stream.finish()


class BeepTTS:
    sample_rate = SR

    def __init__(self, ms_per_word: int = 250):
        self.ms_per_word = ms_per_word
        self.calls: list[str] = []

    def synthesize(self, text: str, voice=None):
        self.calls.append(text)
        for sentence in split_sentences(text):
            yield speech(self.ms_per_word * len(sentence.split()), amp=0.2)


def doubles(asr_texts=()) -> SpeechServices:
    return SpeechServices(vad_factory=ToneVAD, asr=ScriptedASR(asr_texts), tts=BeepTTS())


async def make_engine(agent=None, asr_texts=(), policy=None, options=None, reasoner=None) -> Engine:
    from microturn.runtime.apps import agent_factory

    engine = Engine(options or EngineOptions(), policy or HeuristicPolicy(vad_factory=ToneVAD),
                    doubles(asr_texts), agent_factory(agent) if agent is not None else None,
                    VirtualClock(), reasoner)
    await engine.start()
    return engine


class Peer:
    """A scripted WebRTC peer: pushes input and pulls output one micro-turn at a time."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.events: list[dict] = []
        self.out: list[np.ndarray] = []   # one 48 kHz array per micro-turn pulled
        self.port = None

    async def join(self, room: str = "r", identity: str = "u") -> "Peer":
        self.port = await self.engine.open_session(room, identity, self.events.append)
        await self.engine.settle()
        return self

    async def play(self, audio: np.ndarray) -> None:
        """Play `audio` (16 kHz) as the microphone, micro-turn by micro-turn."""
        for k in range(0, len(audio), 3200):
            self.out.append(np.concatenate([self.port.pull_audio() for _ in range(10)]))
            self.port.push_audio(audio[k:k + 3200])
            await self.engine.advance(200)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]

    def loud_turns(self) -> list[bool]:
        """Per micro-turn pulled: did the agent's audio carry sound?"""
        return [bool(np.abs(o).max() > 0.01) for o in self.out]
