"""How far apart in pitch the user and the other voices are, over a `train data --split eval` set:
the median F0 (semitones) of each full-band side-talk span over the agent, of the first 400 ms of
each interruption and of each user backchannel over the agent, each against the user's own
median F0 (their speech while the agent is silent), with the voice check's estimator
(`engine/speaker_pitch.voiced_f0`).

    python scripts/pitch_apart.py runs/ho2h

docs/training.md ("Voice check") has what it printed, and why the check's tolerance is 6.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from microturn.runtime.engine.speaker_pitch import semitones, voiced_f0
from microturn.runtime.eval.episodes import episode_audio
from microturn.runtime.train.timeline import Timeline


def median_st(f0: np.ndarray) -> float | None:
    return semitones(float(np.median(f0))) if len(f0) >= 3 else None


def main(root: Path) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    apart: dict[str, list[float]] = {"side talk (side_near) over the agent": [],
                                     "interruption, first 400 ms": [], "user backchannel over the agent": []}
    names = list(apart)
    episodes = [e for shard in manifest["shards"]
                for e in json.loads((root / shard["file"]).with_suffix(".json").read_text())["episodes"]]
    for episode, audio in zip(episodes, episode_audio(root, manifest)):
        tl = Timeline.from_dict(episode["timeline"])
        mic = audio.astype(np.float32) / 32768.0

        def pitch(lo_ms: int, hi_ms: int) -> float | None:
            return median_st(voiced_f0(mic[lo_ms * 16: hi_ms * 16]))

        agent = tl.agent_turns()
        alone = [(s, t) for u in tl.user_turns for s, t in u.spans if not any(a.overlaps(s, t) for a in tl.agent)]
        user = median_st(np.concatenate([voiced_f0(mic[s * 16: t * 16]) for s, t in alone])) if alone else None
        if user is None:
            continue
        spans = {names[0]: [(o.start, o.end) for o in tl.others
                            if o.kind == "side_near" and any(a.overlaps(o.start, o.end) for a in agent)],
                 names[1]: [(u.start, u.start + 400) for u in tl.user_turns
                            if any(a.start <= u.start < a.end for a in agent)],
                 names[2]: [(b.start, b.end) for b in tl.user_backchannels
                            if any(a.overlaps(b.start, b.end) for a in agent)]}
        for name, pairs in spans.items():
            apart[name] += [abs(p - user) for p in (pitch(lo, hi) for lo, hi in pairs) if p is not None]
    for name, xs in apart.items():
        x = np.array(xs)
        shares = ", ".join(f"> {k}: {np.mean(x > k):.2f}" for k in (2, 3, 4, 6))
        print(f"{name:38s} n={len(x):4d}  |apart| semitones p50 {np.median(x):.1f} p90 {np.percentile(x, 90):.1f};  {shares}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
