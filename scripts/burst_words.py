"""How well does the word check of `DecisionOptions.hold_words` tell commands from other bursts?

Decodes each overlap of the given suites with `speech/commands.py`'s `GrammarCommands` over the
window the live policy would hear when a held burst ends: from `WORDS_PREROLL_MS` before the
overlap starts to a little after it ends; overlaps longer than `words_max_burst_ms` are never
checked. Counts how often each kind of burst is heard as a command:

    python scripts/short_commands.py runs/val21 runs/cmd_val21
    python scripts/burst_words.py runs/cmd_val21 runs/val21

v1.5/user_interruption items count as commands only in a suite made by `short_commands.py`
(elsewhere they are whole questions, and the model's YIELD, not the words, takes them);
backchannels and side talk should never be heard as commands.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from microturn.runtime.model.decisions import DecisionOptions
from microturn.runtime.model.hold import WORDS_PREROLL_MS
from microturn.runtime.speech.commands import GrammarCommands
from microturn.runtime.speech.wav import read_wav

KIND = {"v1.5/user_interruption": "command", "v1.5/user_backchannel": "backchannel",
        "v1.5/talking_to_other": "side talk"}


def window(t0: float, t1: float) -> tuple[float, float] | None:
    """The live check's window for an overlap spoken from t0 to t1 (s): the burst from
    `WORDS_PREROLL_MS` before it to the tick after it ends (about 0.1-0.2 s later); None for
    a burst longer than `DecisionOptions.words_max_burst_ms`, which is never checked."""
    if (t1 - t0) * 1000 > DecisionOptions().words_max_burst_ms:
        return None
    return t0 - WORDS_PREROLL_MS / 1000, t1 + 0.15


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suites", nargs="+")
    args = ap.parse_args()
    check = GrammarCommands()
    counts: dict[str, list[int]] = {}
    ms = []
    for suite in args.suites:
        derived = "commands" in json.loads((Path(suite) / "suite.json").read_text())
        for task, kind in KIND.items():
            if kind == "command" and not derived:
                continue
            folder = Path(suite) / task
            for item in sorted(folder.iterdir()) if folder.is_dir() else []:
                audio, sr = read_wav(item / "input.wav")
                meta = json.loads((item / "metadata.json").read_text())
                span = window(*meta["timestamps"])
                counts.setdefault(kind, [0, 0, 0])
                if span is None:
                    counts[kind][2] += 1
                    continue
                a, b = span
                start = time.perf_counter()
                clip = audio[max(0, int(a * sr)):int(b * sr)]
                heard = check.heard(clip)
                ms.append((time.perf_counter() - start) * 1000)
                command = check.kind(clip) == "command"
                counts[kind][0] += command
                counts[kind][1] += 1
                print(f"{kind:12s} {meta['current_turn_text']!r:34s} -> {heard!r:16s} {'COMMAND' if command else ''}")
    for kind, (n_command, n, too_long) in counts.items():
        print(f"{kind}: {n_command} of {n} heard as commands ({too_long} more too long to check)")
    if ms:
        print(f"decode time per burst: median {sorted(ms)[len(ms) // 2]:.0f} ms")


if __name__ == "__main__":
    main()
