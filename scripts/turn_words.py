"""How the turn-end word check (`speech/grammar_fit.py`) judges an eval suite's mid-turn pauses and
finished questions, cut as the engine cuts them: from one micro-turn before the first speech to
the first tick with at least 64 ms of silence after it (where the engine decodes speculatively),
or with `--tail S` S seconds after the words end (the between-tick watch hears the pause and
the engine judges the words about 0.1-0.2 s after they end: Silero's end lag plus 64 ms).

    python scripts/turn_words.py SUITE [SUITE ...] [--min-fit X] [--noisy-min-fit X] [--min-tail X] [--verbose]
                                 [--snr-db X] [--rt60 S] [--tail S]

For each item: the grammar's words, their fit against the phone loop per second, how much of the
last stretch of speech they cover, the clip's level range (its SNR, roughly: the noisy bound
applies under `--noisy-below`), and whether the check calls the turn complete. A pause item's
words (its first half) should not be complete; a turn item's (the whole question) should; nor
should a monologue's (v1 backchannel items: the user's sentences so far at each of their pauses
but the last, as the engine buffers them while it does not take the turn). `--snr-db` adds white noise that many dB under the
speech, `--rt60` a room's reverberation (`eval/degrade.py`), both seeded: how the check holds up
off the clean channel. docs/training.md has what it printed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from microturn.runtime.apps import load_app
from microturn.runtime.engine.listener import SPECULATE_AFTER_MS
from microturn.runtime.engine.policy import MICRO_TURN_MS, SAMPLE_RATE
from microturn.runtime.speech.grammar_fit import (MIN_FIT_PER_S, MIN_TAIL_COVERED, NOISY_BELOW_DB, NOISY_MIN_FIT_PER_S,
                                                  GrammarFit)
from microturn.runtime.speech.wav import read_wav

RATE = SAMPLE_RATE
TICK_S = MICRO_TURN_MS / 1000
SPECULATE_AFTER_S = SPECULATE_AFTER_MS / 1000
TASKS = {"v1/synthetic_pause_handling": "pause", "v1/synthetic_turn_taking": "turn",
         "v1/synthetic_backchannel": "monologue"}


def word_ends(truth: dict, kind: str) -> list[float]:
    """Where the engine judges the item's words: at its event (a pause item's pause, a turn
    item's end), or a monologue's pauses (each of the user's sentences but the last)."""
    if kind != "monologue":
        return [truth["event"][0]]
    return [s["end"] for s in truth["segments"] if s["who"] == "user"][:-1]


def utterance(audio: np.ndarray, end_s: float, tail_s: float | None = None) -> np.ndarray:
    """The engine's buffer at its speculative decode: whole ticks from the one before the first
    speech to the first tick boundary at least SPECULATE_AFTER_S after `end_s` (or, with
    `tail_s`, to `tail_s` after it, as between ticks)."""
    loud = np.nonzero(np.abs(audio[: int(end_s * RATE)]) > 0.01)[0]
    first = loud[0] / RATE if len(loud) else 0.0
    start = max(0.0, (np.floor(first / TICK_S) - 1) * TICK_S)
    stop = end_s + tail_s if tail_s is not None else np.ceil((end_s + SPECULATE_AFTER_S) / TICK_S) * TICK_S
    return audio[int(start * RATE): int(stop * RATE)].astype(np.float32)


def degrade(clip: np.ndarray, snr_db: float | None, rt60: float | None, rng: np.random.Generator) -> np.ndarray:
    """The clip in a reverberant room and/or under white noise `snr_db` below its speech."""
    from microturn.runtime.eval.degrade import reverberate, room_impulse

    if rt60:
        clip = reverberate(clip, room_impulse(rng, RATE, rt60))[: len(clip)]
    if snr_db is not None:
        loud = clip[np.abs(clip) > 0.01]
        speech_rms = float(np.sqrt(np.mean(loud ** 2))) if len(loud) else 0.0
        clip = clip + rng.normal(0.0, speech_rms * 10 ** (-snr_db / 20), len(clip))
    return clip.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suites", nargs="+", type=Path)
    ap.add_argument("--min-fit", type=float, default=MIN_FIT_PER_S)
    ap.add_argument("--noisy-min-fit", type=float, default=NOISY_MIN_FIT_PER_S,
                    help="the fit bound for a clip whose level range is under --noisy-below dB")
    ap.add_argument("--noisy-below", type=float, default=NOISY_BELOW_DB)
    ap.add_argument("--min-tail", type=float, default=MIN_TAIL_COVERED,
                    help="share of the last stretch of speech the words must cover")
    ap.add_argument("--verbose", action="store_true", help="one line per item")
    ap.add_argument("--snr-db", type=float, default=None, help="add white noise this many dB under the speech")
    ap.add_argument("--rt60", type=float, default=None, help="add a room's reverberation (seconds)")
    ap.add_argument("--by-accent", action="store_true", help="also count by the speaker's accent (eSpeak voice)")
    ap.add_argument("--tail", type=float, default=None,
                    help="cut this many seconds after the words end instead of at the tick (between-tick checks)")
    args = ap.parse_args()
    check = GrammarFit(load_app().asr_grammar, min_fit_per_s=args.min_fit, min_tail_covered=args.min_tail,
                       noisy_min_fit_per_s=args.noisy_min_fit, noisy_below_db=args.noisy_below)
    summary: dict[str, dict[str, int]] = {}
    for suite in args.suites:
        for task, kind in TASKS.items():
            if not (suite / task).is_dir():
                continue
            for item in sorted(p for p in (suite / task).iterdir() if p.is_dir()):
                truth = json.loads((item / "truth.json").read_text())
                audio, _ = read_wav(item / "input.wav")
                for n, end_s in enumerate(word_ends(truth, kind)):
                    clip = degrade(utterance(audio, end_s, args.tail), args.snr_db, args.rt60,
                                   np.random.default_rng(len(summary) * 1000 + int(item.name) + 100000 * n))
                    judged = check.judge(clip)
                    complete = check.passes(judged)
                    rows = [f"{suite.name} {kind}"]
                    if args.by_accent:
                        rows.append(f"accent {truth['segments'][0]['voice'].split('+')[0]} {kind}")
                    for name in rows:
                        row = summary.setdefault(name, {"items": 0, "complete": 0})
                        row["items"] += 1
                        row["complete"] += complete
                    if args.verbose:
                        print(f"{suite.name} {kind} {item.name} {end_s:5.2f}s fit {judged.fit_per_s:+.3f}/s "
                              f"tail {judged.tail_covered:.2f} range {judged.level_range_db:4.1f} dB "
                              f"{'COMPLETE' if complete else '-':8} {judged.text!r}")
    for name, row in summary.items():
        print(f"{name}: {row['complete']} of {row['items']} complete")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
