"""Does one typed sentence change what the model decides afterwards? Steps the `model` policy
over a suite's first six pause and six turn-taking items micro-turn by micro-turn, once as they
are and once with "can you help me with my homework" typed at the fourth micro-turn (before the
user speaks), and counts the items whose decisions differ anywhere.

    python scripts/typed_text_effect.py runs/heldout3 [KEY=VALUE ...]   # e.g. user_text=true

The shipped checkpoint never saw user text in training; with `user_text=true` the text reaches
its USER_TEXT slots (measured 2026-11-27 on the seed-4 suite: 11 of 12 items decided
differently, most turn ends no longer taken; 0 of 12 with the default, which keeps it out).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from microturn.runtime.engine.policy import TurnInput, make_policy
from microturn.runtime.eval.score import load_audio

TYPED = "can you help me with my homework"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    suite = Path(argv[0])
    options = {k: json.loads(v) for k, v in (a.split("=", 1) for a in argv[1:])}
    items = (sorted((suite / "v1/synthetic_pause_handling").iterdir())[:6]
             + sorted((suite / "v1/synthetic_turn_taking").iterdir())[:6])
    changed = 0
    for folder in items:
        audio = load_audio(folder / "input.wav")
        actions = {}
        for typed in (False, True):
            policy = make_policy("model", **options)
            policy.open("s")
            actions[typed] = [policy.step([TurnInput(session_id="s", media_ms=(k + 1) * 200,
                                                     audio=audio[k * 3200:(k + 1) * 3200],
                                                     text=[TYPED] if typed and k == 3 else [])])[0].action
                              for k in range(len(audio) // 3200)]
        differ = [k for k, (a, b) in enumerate(zip(actions[False], actions[True])) if a != b]
        changed += bool(differ)
        print(f"{folder.parent.name}/{folder.name}: " + (f"{len(differ)} micro-turns differ" if differ else "same"))
    print(f"{changed} of {len(items)} items decide differently after typed text")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
