"""Does an input the model rarely or never saw in training change what it decides? Steps the
`model` policy over a suite's first six pause and six turn-taking items micro-turn by
micro-turn, once as they are and once with the input added, and counts the items (and
micro-turns) whose decisions differ, and when the first SPEAK comes.

    python scripts/input_effect.py runs/heldout3 typed [KEY=VALUE ...]   # e.g. user_text=true
    python scripts/input_effect.py runs/heldout3 camera                  # or: board

typed: "can you help me with my homework" typed at the fourth micro-turn, before the user
speaks (training has no user text: with `user_text=true`, 11 of 12 seed-4 items decided
differently, most turn ends no longer taken; 0 of 12 with the default, which keeps it out).
board / camera: a frame every micro-turn, a whiteboard like training's (strokes on a light
canvas) or a dim textured room like a webcam's, which training never shows (measured
2026-11-27: board 6 of 12 items, 8 micro-turns; camera 10 of 12, 26 micro-turns, the first
SPEAK up to 0.8 s later and fewer backchannels).
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import numpy as np

from microturn.runtime.engine.policy import TurnInput, make_policy
from microturn.runtime.eval.score import load_audio

TYPED = "can you help me with my homework"


@functools.cache   # built once, shown every micro-turn
def _frames() -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:240, 0:320]
    room = np.stack([80 + 60 * np.sin(xx / 40.0), 70 + 50 * np.cos(yy / 30.0), 60 + 40 * np.sin((xx + yy) / 50.0)], -1)
    room = np.clip(room + np.random.default_rng(0).normal(0, 10, room.shape), 0, 255).astype(np.uint8)
    board = np.full((240, 320, 3), 245, np.uint8)
    board[60:63, 40:280] = 20
    return {"camera": room, "board": board}


def _turn(audio: np.ndarray, k: int, what: str | None) -> TurnInput:
    extra = {}
    if what == "typed" and k == 3:
        extra["text"] = [TYPED]
    elif what in ("camera", "board"):
        extra["video"] = _frames()[what]
    return TurnInput(session_id="s", media_ms=(k + 1) * 200, audio=audio[k * 3200:(k + 1) * 3200], **extra)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("typed", "camera", "board"):
        print(__doc__, file=sys.stderr)
        return 2
    suite, what = Path(argv[0]), argv[1]
    options = {k: json.loads(v) for k, v in (a.split("=", 1) for a in argv[2:])}
    items = (sorted((suite / "v1/synthetic_pause_handling").iterdir())[:6]
             + sorted((suite / "v1/synthetic_turn_taking").iterdir())[:6])
    changed = differ_total = 0
    for folder in items:
        audio = load_audio(folder / "input.wav")
        actions = {}
        for added in (None, what):
            policy = make_policy("model", **options)
            policy.open("s")
            actions[added] = [policy.step([_turn(audio, k, added)])[0].action.value for k in range(len(audio) // 3200)]
        differ = sum(a != b for a, b in zip(actions[None], actions[what]))
        first = [next((k for k, a in enumerate(actions[x]) if a == "SPEAK"), None) for x in (None, what)]
        changed += differ > 0
        differ_total += differ
        print(f"{folder.parent.name}/{folder.name}: {differ} micro-turns differ; first SPEAK at tick {first[0]} -> {first[1]}")
    print(f"{what}: {changed} of {len(items)} items decide differently ({differ_total} micro-turns)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
