"""Which open-loop false yields does the word check of `DecisionOptions.hold_words` cause, and
what did it hear?

Streams a data set's episodes through the shipped checkpoint (or `--checkpoint`) once, decides
every episode with its `decisions.json` as shipped and again with `hold_words` off, and for each
episode with more false yields with the words prints the bursts the check heard as commands
(window length in s, words):

    microturn train data --out runs/val77ep --hours 2 --seed 77 --split eval
    python scripts/word_false_yields.py runs/val77ep
"""

from __future__ import annotations

import argparse
import dataclasses

from microturn.checkpoints import SHIPPED
from microturn.runtime.eval.episodes import StreamedEpisodes, decide, score_episode
from microturn.runtime.model.policy import decision_options
from microturn.runtime.speech.commands import GrammarCommands


class HeardCommands:
    """A `CommandCheck` that remembers what it heard as a command."""

    def __init__(self, check: GrammarCommands):
        self.check, self.commands = check, []

    def is_command(self, audio) -> bool:
        heard = self.check.heard(audio)
        command = self.check.kind(audio) == "command"
        if command:
            self.commands.append((round(len(audio) / 16000, 2), heard))
        return command


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="a data set written by `microturn train data --split eval`")
    ap.add_argument("--checkpoint", default=str(SHIPPED))
    args = ap.parse_args()
    episodes = StreamedEpisodes(args.data, args.checkpoint, progress=False)
    words = decision_options(args.checkpoint, {})
    if not (words.holds and words.hold_words):
        raise SystemExit(f"{args.checkpoint}: its decisions.json does not hold with the word check")
    without = dataclasses.replace(words, hold_words=False)
    check = GrammarCommands()
    totals = [0, 0]
    for e, probs, gate in zip(episodes.chosen, episodes.probs, episodes.gate_traces(words)):
        lo, hi = episodes.data.bounds[e]
        speaking, labels = episodes._speaking(e), episodes.data.labels[lo:hi]
        heard = HeardCommands(check)
        rows = [score_episode(episodes.timelines[e], decide(probs, speaking, d, gate, c), labels, speaking)
                for d, c in ((words, heard), (without, None))]
        totals[0] += rows[0]["false_yield_turns"]
        totals[1] += rows[1]["false_yield_turns"]
        extra = rows[0]["false_yield_turns"] - rows[1]["false_yield_turns"]
        if extra > 0:
            print(f"episode {e}: {extra} more ({rows[0]['false_yield_causes']} vs {rows[1]['false_yield_causes']}); "
                  f"heard as commands: {heard.commands}", flush=True)
    print(f"false yields: {totals[0]} with the word check, {totals[1]} without")


if __name__ == "__main__":
    main()
