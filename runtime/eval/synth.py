"""`microturn eval synth`: build a stimulus suite in Full-Duplex-Bench's v1 and v1.5 layouts.

Each item is a short scene placed on a 16 kHz timeline with eSpeak NG voices; because we place
every utterance ourselves, every boundary is known exactly and written to `truth.json` (with
leading and trailing synthesizer silence trimmed, so "start" is the first audible sample).

How the agent is made to talk for the overlap tasks (v1 and v1.5 interruption, v1.5
backchannel / others / background): the input opens with the user asking the default app a sum
with a long spoken answer (`TALK_PROMPTS`, about 3 s of speech), then leaves a gap; the overlap
(interruption, "mm hmm", side talk, distant speech) starts 1.8-2.2 s after the prompt ends,
when an agent that takes the turn within about 1 s is mid-answer. This is how FD-bench v1.5 builds its items too: the
input holds only the user's side, and the system's own answer fills the gap. Whether the agent
really was talking at the overlap is checked per item when scoring (`talking_at_onset`).

Deterministic: a seed fixes every choice (texts, voices, timings, degradations, noise floor), so
the same seed writes the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from microturn.runtime.eval import degrade, room as rooms, stimuli_bank as bank
from microturn.runtime.eval.layout import TASKS

SR = 16_000
NOISE_FLOOR = 3e-4        # ~-70 dBFS of dither: exact digital silence upsets pocketsphinx
LEAD_IN_S = 0.5           # silence before the first utterance
OVERLAP_LEAD_S = 1.8      # prompt end -> overlap start (agent mid-answer by then)
TRIM_LEVEL = 0.01         # synthesizer output below this at the ends counts as silence

FOLDERS = {  # task -> folder under the suite root (FD-bench's names where they exist)
    "v1/pause_handling": "v1/synthetic_pause_handling",
    "v1/smooth_turn_taking": "v1/synthetic_turn_taking",
    "v1/user_interruption": "v1/synthetic_user_interruption",
    "v1/backchannel": "v1/synthetic_backchannel",
    "v1.5/user_interruption": "v1.5/user_interruption",
    "v1.5/user_backchannel": "v1.5/user_backchannel",
    "v1.5/talking_to_other": "v1.5/talking_to_other",
    "v1.5/background_speech": "v1.5/background_speech",
    "mt/board_change": "microturn/board_change",
    "mt/timer_due": "microturn/timer_due",
}


def speak(text: str, voice: tuple[str, int, int]) -> np.ndarray:
    """eSpeak NG speech at 16 kHz with the synthesizer's leading/trailing silence trimmed."""
    from microturn.runtime.speech.espeak import EspeakTTS
    from microturn.runtime.speech.resample import resample

    tts = EspeakTTS(voice=voice[0], rate=voice[1], pitch=voice[2])
    audio = resample(tts.synthesize_all(text), tts.sample_rate, SR)
    loud = np.flatnonzero(np.abs(audio) >= TRIM_LEVEL)
    if len(loud) == 0:
        raise ValueError(f"eSpeak produced no audible speech for {text!r}")
    return audio[loud[0] : loud[-1] + 1]


@dataclass
class Scene:
    """Utterances on one timeline; `render` mixes the chosen talkers into one clip."""

    rng: np.random.Generator
    parts: list[tuple[float, np.ndarray, dict]] = field(default_factory=list)

    def place(self, start_s: float, audio: np.ndarray, speech_len: int, **info) -> dict:
        """Put `audio` at `start_s`; `speech_len` samples of it are the speech itself (the rest is tail)."""
        seg = {**info, "start": round(start_s, 4), "end": round(start_s + speech_len / SR, 4)}
        self.parts.append((start_s, audio, seg))
        return seg

    def say(self, start_s: float, text: str, voice, who: str = "user") -> dict:
        audio = speak(text, voice)
        return self.place(start_s, audio, len(audio), who=who, text=text, voice=voice[0], rate=voice[1], pitch=voice[2])

    def render(self, duration_s: float, noise_seed: int, keep: Callable[[dict], bool] = lambda seg: True) -> np.ndarray:
        n = int(round(duration_s * SR))
        out = (np.random.default_rng(noise_seed).standard_normal(n) * NOISE_FLOOR).astype(np.float32)
        for start_s, audio, seg in self.parts:
            if keep(seg):
                i = int(round(start_s * SR))
                piece = audio[: max(0, n - i)]
                out[i : i + len(piece)] += piece
        return np.clip(out, -1.0, 1.0).astype(np.float32)

    @property
    def segments(self) -> list[dict]:
        return sorted((p[2] for p in self.parts), key=lambda s: s["start"])


def level_like(audio: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`audio` scaled to the RMS of `reference` (both trimmed speech, so RMS is the speech level)."""
    from microturn.runtime.train.dsp import rms, scale_to_rms

    return scale_to_rms(audio, 20 * np.log10(max(rms(reference), 1e-9)))


def _pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


def held_out_voices() -> list[tuple[str, int, int]]:
    """Eight voices made only of the variants `microturn train data` holds out of training
    (`train.voices.variants("eval")`), one per accent, with rates and pitches spread out: a
    suite spoken by these is heard by a trained model for the first time."""
    from microturn.runtime.train.voices import ACCENTS, variants

    held = variants("eval")
    return [(f"{accent}+{held[(3 * i) % len(held)]}", 140 + 10 * i, 34 + 5 * i) for i, accent in enumerate(ACCENTS)]


VOICE_SETS: dict[str, Callable[[], list]] = {"default": lambda: list(bank.VOICES), "heldout": held_out_voices}
_voices: list[tuple[str, int, int]] = list(bank.VOICES)  # the set in use; synth_item sets it per item


def _other_voice(rng, user_voice):
    return _pick(rng, [v for v in _voices if v[0] != user_voice[0]])


# ------------------------------------------------------------------ one builder per task
# Each takes the item's generator and index and returns
# (scene, duration_s, official files {name: json}, truth extras).

# Pause lengths, taken in turn by item index so every suite has the same spread: four of six
# within the 0.4-1.2 s the pauses span (up to the 1.2 s answer fallback), two longer,
# which any policy with that fallback takes (scored apart: `TOR_truth_short` / `_long`).
PAUSES_S = (0.5, 0.7, 0.9, 1.1, 1.3, 1.6)


def _pause_handling(rng, index: int):
    voice = _pick(rng, _voices)
    first, second = _pick(rng, bank.PAUSED_TURNS)
    pause = PAUSES_S[index % len(PAUSES_S)]
    sc = Scene(rng)
    a = sc.say(LEAD_IN_S, first, voice)
    b = sc.say(a["end"] + pause, second, voice)
    duration = b["end"] + 0.3   # the clip ends right after the turn: any speech in it took a pause
    official = {"pause.json": [{"text": f"{first} ... {second}", "timestamp": [a["end"], b["start"]]}]}
    return sc, duration, official, {"event": [a["end"], b["start"]], "pause_s": pause,
                                    "expected": "no take-over"}


def _smooth_turn_taking(rng, index: int):
    voice = _pick(rng, _voices)
    question, answer = _pick(rng, bank.QUESTIONS)
    sc = Scene(rng)
    q = sc.say(LEAD_IN_S, question, voice)
    duration = q["end"] + 4.0
    official = {"turn_taking.json": [{"text": question, "timestamp": [q["end"], round(duration, 4)]}]}
    return sc, duration, official, {"event": [q["end"], round(duration, 4)], "keyword": answer,
                                    "expected": "take the turn fast"}


def _backchannel_v1(rng, index: int):
    voice = _pick(rng, _voices)
    phrases = _pick(rng, bank.MONOLOGUES)
    sc = Scene(rng)
    t = LEAD_IN_S
    for phrase in phrases:
        seg = sc.say(t, phrase, voice)
        t = seg["end"] + float(rng.uniform(0.25, 0.45))   # breaths, shorter than any timeout >= 500
    duration = sc.segments[-1]["end"] + 0.3
    return sc, duration, {}, {"event": [sc.segments[0]["start"], sc.segments[-1]["end"]],
                              "expected": "short backchannels, no take-over"}


def _prompt_then_overlap(rng, make_overlap):
    """The shared shape of every overlap item: a talk prompt, a gap, then the overlap."""
    voice = _pick(rng, _voices)
    prompt = _pick(rng, bank.TALK_PROMPTS)
    sc = Scene(rng)
    p = sc.say(LEAD_IN_S, prompt, voice)
    start = p["end"] + OVERLAP_LEAD_S + float(rng.uniform(0.0, 0.4))
    ov, extras = make_overlap(sc, start, voice)
    return sc, prompt, p, ov, extras


def _interruption(rng, v15: bool):
    def overlap(sc, start, voice):
        text, keyword = _pick(rng, bank.INTERRUPTIONS)
        return sc.say(start, text, voice, who="user_overlap"), {"keyword": keyword}

    sc, prompt, p, ov, extras = _prompt_then_overlap(rng, overlap)
    duration = ov["end"] + 4.0
    ts = [ov["start"], ov["end"]]
    if v15:
        official = {"metadata.json": {"context_text": prompt, "current_turn_text": ov["text"], "timestamps": ts}}
    else:
        official = {"interrupt.json": [{"context": prompt, "interrupt": ov["text"], "timestamp": ts}]}
    return sc, duration, official, {"event": ts, **extras, "expected": "stop, then answer the interruption"}


def _v15_overlap(rng, kind: str):
    def overlap(sc, start, voice):
        if kind == "backchannel":
            text = _pick(rng, bank.BACKCHANNELS)
            return sc.say(start, text, voice, who="user_overlap"), {}
        other = _other_voice(rng, voice)
        text = _pick(rng, bank.SIDE_TALK if kind == "other" else bank.BACKGROUND)
        # The degradation's gain is relative to the user, as in the training mix: eSpeak voices
        # differ in loudness by up to 9 dB (the +klatt variants are the quiet ones), so without
        # this a quiet user made "-6..-10 dB" side talk as loud as themselves.
        dry = level_like(speak(text, other), sc.parts[0][1])
        shape = degrade.as_other_talker if kind == "other" else degrade.as_background
        wet, how = shape(dry, SR, rng)
        who = "other" if kind == "other" else "background"
        seg = sc.place(start, wet, len(dry), who=who, text=text, voice=other[0], rate=other[1], pitch=other[2],
                       degradation=how)
        return seg, {}

    sc, prompt, p, ov, extras = _prompt_then_overlap(rng, overlap)
    duration = ov["end"] + 3.0
    ts = [ov["start"], ov["end"]]
    official = {"metadata.json": {"context_text": prompt, "current_turn_text": ov["text"], "timestamps": ts}}
    return sc, duration, official, {"event": ts, "expected": "keep talking (resume)"}


# After an exchange, the prompt comes this long after the question ends: the default app's answer
# (about 3 s) has started within the 1.2 s answer fallback and ended by then, so both sides are
# silent (checked per item when scoring: `silent_at_event`).
PROMPT_AFTER_QUESTION_S = 6.0
PROMPT_TAIL_S = 3.0       # silence after the prompt: time to voice it, and to show it is voiced once
PROMPT_CONTEXTS = ("silence from the start", "after a question and its answer", "while the user speaks")


def _prompt(rng, index: int, kind: str):
    """A whiteboard change or a due timer (eval/prompts.py), in turn by item index: in silence
    before anyone has spoken; in silence after a question and the agent's answer; or in the
    middle of the user's question, where it must wait until they finish."""
    sc = Scene(rng)
    context = PROMPT_CONTEXTS[index % len(PROMPT_CONTEXTS)]
    if context == PROMPT_CONTEXTS[0]:
        at = LEAD_IN_S + float(rng.uniform(0.5, 1.5))
        end = at + PROMPT_TAIL_S
    else:
        q = sc.say(LEAD_IN_S, _pick(rng, bank.TALK_PROMPTS), _pick(rng, _voices))
        if context == PROMPT_CONTEXTS[1]:
            at = q["end"] + PROMPT_AFTER_QUESTION_S + float(rng.uniform(0.0, 0.6))
            end = at + PROMPT_TAIL_S
        else:
            at = q["start"] + float(rng.uniform(0.35, 0.65)) * (q["end"] - q["start"])
            end = q["end"] + PROMPT_AFTER_QUESTION_S   # the answer and the prompt, in either order
    at = round(at, 4)
    entry = {"kind": kind, "timestamp": [at, at]}
    if kind == "timer":
        from microturn.runtime.eval.prompts import TIMER_NAME

        entry["name"] = TIMER_NAME
    expected = ("hold it until the user finishes" if context == PROMPT_CONTEXTS[2]
                else "voice the app's prompt within two micro-turns")
    return sc, end, {"prompt.json": [entry]}, {"event": [at, at], "prompt": kind, "context": context,
                                               "expected": expected}


BUILDERS: dict[str, Callable] = {
    "v1/pause_handling": _pause_handling,
    "v1/smooth_turn_taking": _smooth_turn_taking,
    "v1/user_interruption": lambda rng, index: _interruption(rng, v15=False),
    "v1/backchannel": _backchannel_v1,
    "v1.5/user_interruption": lambda rng, index: _interruption(rng, v15=True),
    "v1.5/user_backchannel": lambda rng, index: _v15_overlap(rng, "backchannel"),
    "v1.5/talking_to_other": lambda rng, index: _v15_overlap(rng, "other"),
    "v1.5/background_speech": lambda rng, index: _v15_overlap(rng, "background"),
    "mt/board_change": lambda rng, index: _prompt(rng, index, "board"),
    "mt/timer_due": lambda rng, index: _prompt(rng, index, "timer"),
}


def synth_item(task: str, index: int, seed: int, folder: Path, voices: str = "default",
               room: rooms.Room = rooms.Room()) -> dict:
    """Build one item into `folder` with the named voice set, heard in `room`; returns its truth."""
    from microturn.runtime.speech.wav import write_wav

    global _voices
    if voices not in VOICE_SETS:
        raise ValueError(f"unknown voice set {voices!r}; known: {sorted(VOICE_SETS)}")
    _voices = VOICE_SETS[voices]()
    rng = np.random.default_rng([seed, TASKS.index(task), index])
    sc, duration, official, extras = BUILDERS[task](rng, index)
    duration = round(duration, 4)
    folder.mkdir(parents=True, exist_ok=True)
    noise_seed = int(rng.integers(2**31))
    mixes = {"input.wav": sc.render(duration, noise_seed)}
    if task.startswith("v1.5/"):   # the overlap removed
        mixes["clean_input.wav"] = sc.render(duration, noise_seed, keep=lambda s: s["who"] == "user")
    level = rooms.user_level_dbfs([audio for _, audio, seg in sc.parts if seg["who"].startswith("user")])
    heard = rooms.hear(room, list(mixes.values()), level, rooms.rng_for(seed, TASKS.index(task), index))
    for name, audio in zip(mixes, heard):
        write_wav(folder / name, audio, SR)
    for name, data in official.items():
        (folder / name).write_text(json.dumps(data, indent=2) + "\n")
    truth = {"task": task, "seed": seed, "index": index, "voices": voices, "sample_rate": SR, "duration_s": duration,
             "segments": sc.segments, **extras}
    if not room.clean:
        truth["room"] = {**room.to_dict(), "user_level_dbfs": round(level, 2)}
    (folder / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth


def _synth_job(job: tuple[str, int, int, str, str, rooms.Room]) -> str:
    task, index, seed, folder, voices, room = job
    synth_item(task, index, seed, Path(folder), voices, room)
    return folder


def synth_suite(out: Path, items_per_task: int = 5, seed: int = 0, tasks: list[str] | None = None,
                progress: bool = False, workers: int = 2, voices: str = "default",
                room: rooms.Room = rooms.Room()) -> list[Path]:
    """Write `items_per_task` items for each task under `out`, heard in `room` (default: clean);
    returns the item folders.

    Every item is made in a fresh process: eSpeak NG keeps synthesis state between calls in
    one process (the same sentence twice gives different samples), so only a fresh library
    makes an item's bytes depend on its seed alone, whatever else was synthesized before.
    """
    import multiprocessing as mp

    out = Path(out)
    tasks = list(tasks or TASKS)
    jobs = [(task, i, seed, str(out / FOLDERS[task] / f"{i:03d}"), voices, room)
            for task in tasks for i in range(items_per_task)]
    ctx = mp.get_context("spawn")
    with ctx.Pool(processes=max(1, min(workers, len(jobs))), maxtasksperchild=1) as pool:
        done = pool.imap(_synth_job, jobs)
        if progress:
            from tqdm import tqdm

            done = tqdm(done, total=len(jobs), desc="synth", unit="item")
        folders = [Path(f) for f in done]
    # Tasks added to a suite made with the same seed, size and voices (new tasks, say) join its
    # record: the items of the tasks already there are byte for byte what this call would write.
    record = out / "suite.json"
    before = json.loads(record.read_text()) if record.is_file() else {}
    same = (("seed", seed), ("items_per_task", items_per_task), ("voices", voices), ("room", room.to_dict()))
    if all(before.get(k, {} if k == "room" else None) == v for k, v in same):
        tasks = [t for t in TASKS if t in tasks or t in before.get("tasks", [])]
    entry = {"seed": seed, "items_per_task": items_per_task, "tasks": tasks, "voices": voices,
             "folders": {t: FOLDERS[t] for t in tasks}}
    if not room.clean:
        entry["room"] = room.to_dict()
    record.write_text(json.dumps(entry, indent=2) + "\n")
    return folders
