"""How far apart in pitch and timbre the user and the other voices are, over a `train data --split
eval` set: each full-band side-talk span over the agent, the first 400 ms (pitch) or 500 ms
(timbre) of each interruption, and each user backchannel over the agent, against the user's own
speech while the agent is silent, with the voice checks' own estimators
(`engine/speaker_pitch.py`, `engine/speaker_timbre.py`):

- pitch: |median F0 - the user's median F0| in semitones;
- timbre: the timbre check's distance (RMS of the mean mel-cepstrum difference in units of the
  user's spread; the user's profile from their last 250 voiced frames, the span's frames within
  6 dB of the user's level only, as live).

    python scripts/pitch_apart.py runs/ho2h

docs/training.md ("Voice check", "Timbre check") has what it printed, and why the tolerances are
6 semitones and 1.2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from microturn.runtime.engine.speaker_pitch import semitones, voiced_frames
from microturn.runtime.engine.speaker_timbre import MIN_RUN_FRAMES, USER_FRAMES, timbre
from microturn.runtime.eval.episodes import episode_audio
from microturn.runtime.train.timeline import Timeline

NEAR_DB = 6.0


def median_st(f0: np.ndarray) -> float | None:
    return semitones(float(np.median(f0))) if len(f0) >= 3 else None


def report(name: str, xs: list[float], cuts: tuple[float, ...]) -> None:
    x = np.array(xs)
    shares = ", ".join(f"> {k}: {np.mean(x > k):.2f}" for k in cuts)
    print(f"{name:46s} n={len(x):4d}  p50 {np.median(x):.2f} p90 {np.percentile(x, 90):.2f} max {x.max():.2f};  {shares}")


def main(root: Path) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    kinds = ("side talk (side_near) over the agent", "interruption, first words", "user backchannel over the agent")
    pitch: dict[str, list[float]] = {k: [] for k in kinds}
    spread: dict[str, list[float]] = {k: [] for k in kinds}
    episodes = [e for shard in manifest["shards"]
                for e in json.loads((root / shard["file"]).with_suffix(".json").read_text())["episodes"]]
    for episode, audio in zip(episodes, episode_audio(root, manifest)):
        tl = Timeline.from_dict(episode["timeline"])
        mic = audio.astype(np.float32) / 32768.0
        agent = tl.agent_turns()
        alone = [(s, t) for u in tl.user_turns for s, t in u.spans if not any(a.overlaps(s, t) for a in tl.agent)]
        heard = [voiced_frames(mic[s * 16: t * 16]) for s, t in alone]
        if not heard:
            continue
        user_f0 = median_st(np.concatenate([f0 for _, f0 in heard]))
        user_frames = np.concatenate([frames for frames, _ in heard])[-USER_FRAMES:]
        if user_f0 is None or len(user_frames) < MIN_RUN_FRAMES:
            continue
        cepstra = timbre(user_frames)
        mean, sd = cepstra.mean(axis=0), cepstra.std(axis=0) + 1e-3
        floor = np.mean([(mic[s * 16: t * 16] ** 2).mean() for s, t in alone]) * 10 ** (-NEAR_DB / 10)
        spans = {kinds[0]: [(o.start, o.end) for o in tl.others
                            if o.kind == "side_near" and any(a.overlaps(o.start, o.end) for a in agent)],
                 kinds[1]: [(u.start, u.start + 500) for u in tl.user_turns
                            if any(a.start <= u.start < a.end for a in agent)],
                 kinds[2]: [(b.start, b.end) for b in tl.user_backchannels
                            if any(a.overlaps(b.start, b.end) for a in agent)]}
        for name, pairs in spans.items():
            for lo, hi in pairs:
                frames, f0 = voiced_frames(mic[lo * 16: min(hi, lo + 500) * 16], floor)
                p = median_st(voiced_frames(mic[lo * 16: min(hi, lo + 400) * 16])[1])
                if p is not None:
                    pitch[name].append(abs(p - user_f0))
                if len(frames) >= MIN_RUN_FRAMES:
                    spread[name].append(float(np.sqrt(np.mean(((timbre(frames).mean(axis=0) - mean) / sd) ** 2))))
    print("pitch apart, semitones")
    for name in kinds:
        report(name, pitch[name], (2, 3, 4, 6))
    print("timbre distance, first 500 ms")
    for name in kinds:
        report(name, spread[name], (0.8, 1.0, 1.2, 1.4))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
