"""Could the recogniser tell a backchannel from a short command? (the word check a held turn
would need: `DecisionOptions.hold_commit_ms` rides through "yeah" and "stop" alike.)

Decodes each overlap of the given suites' v1.5 items (the marked span, 100 ms before and 150 ms
after) with pocketsphinx and a grammar of backchannel words and command words, and counts how
often the word's class is right:

    python scripts/short_commands.py runs/heldout3 runs/commands3
    python scripts/burst_words.py runs/commands3 runs/heldout3

v1.5/user_backchannel items count as backchannels; v1.5/user_interruption items count as
commands only in a suite made by `short_commands.py` (elsewhere they are whole questions).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from microturn.runtime.speech.sphinx import PocketsphinxASR
from microturn.runtime.speech.wav import read_wav

BACKCHANNELS = ("mm hmm", "yeah", "okay", "right", "uh huh", "i see", "sure", "yes", "got it", "true", "oh wow")
COMMANDS = ("stop", "wait", "hold on", "no", "stop please", "one moment", "hang on", "excuse me")
KIND = {"v1.5/user_interruption": "command", "v1.5/user_backchannel": "backchannel"}


def grammar() -> str:
    return f"#JSGF V1.0;\ngrammar app;\npublic <s> = {' | '.join(BACKCHANNELS + COMMANDS)};\n"


def main(suites: list[str]) -> None:
    asr = PocketsphinxASR(grammar())
    right = {"command": [0, 0], "backchannel": [0, 0]}
    ms = []
    for suite in suites:
        derived = "commands" in json.loads((Path(suite) / "suite.json").read_text())
        for task, kind in KIND.items():
            if kind == "command" and not derived:
                continue
            folder = Path(suite) / task
            for item in sorted(folder.iterdir()) if folder.is_dir() else []:
                audio, sr = read_wav(item / "input.wav")
                meta = json.loads((item / "metadata.json").read_text())
                t0, t1 = meta["timestamps"]
                start = time.perf_counter()
                heard = asr.transcribe(audio[int((t0 - 0.1) * sr):int((t1 + 0.15) * sr)]).text.strip()
                ms.append((time.perf_counter() - start) * 1000)
                guess = "command" if heard in COMMANDS else "backchannel" if heard in BACKCHANNELS else "none"
                right[kind][0] += guess == kind
                right[kind][1] += 1
                print(f"{kind:12s} {meta['current_turn_text']!r:16s} -> {heard!r:14s} {guess}")
    for kind, (ok, n) in right.items():
        print(f"{kind}s heard as {kind}s: {ok} of {n}")
    if ms:
        print(f"decode time per burst: median {sorted(ms)[len(ms) // 2]:.0f} ms")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
