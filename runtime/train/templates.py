"""Sentence templates for synthetic conversations, generated combinatorially from word lists.

A *pattern* is a sentence skeleton with slots (`{object}`, `{day}`, ...); a *template* is one
opener + one pattern (+ one tail for statements). Patterns are what we hold out for evaluation:
a held-out pattern never appears in the training split, so evaluation measures whether the model
learnt turn-taking rather than memorising a dozen pauses (a trap the first experiment fell into).

Every generated sentence carries its template id (`kind/pattern/opener/tail`), which the
dataset writes into its episode metadata; `tests/train` checks the split with those ids.
All words here are our own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORDS: dict[str, tuple[str, ...]] = {
    "name": ("Anna", "Ben", "Carla", "David", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas",
             "Kenji", "Laura", "Milo", "Nadia", "Oscar", "Priya", "Rosa", "Sam", "Tariq", "Vera"),
    "object": ("report", "spreadsheet", "recipe", "bike", "laptop", "garden", "homework", "ticket",
               "package", "invoice", "slides", "printer", "fridge", "budget", "essay", "map",
               "playlist", "contract", "lamp", "schedule", "camera", "bill", "puzzle", "tent"),
    "place": ("the office", "the station", "the kitchen", "the library", "the park", "the clinic",
              "the bakery", "the airport", "the garage", "school", "the gym", "the market"),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
            "tomorrow", "tonight", "next week", "this weekend", "later today"),
    "time": ("at nine", "at noon", "around three", "after lunch", "before dinner", "at half past four",
             "in the morning", "in the evening", "at eight thirty", "by five"),
    "verb": ("fix", "check", "move", "finish", "print", "clean", "send", "book", "cancel", "open",
             "return", "update", "paint", "measure", "repack", "review"),
    "past": ("fixed", "checked", "moved", "finished", "printed", "cleaned", "sent", "booked",
             "cancelled", "opened", "returned", "updated", "painted", "measured", "lost", "found"),
    "adj": ("broken", "heavy", "strange", "expensive", "tiny", "noisy", "late", "blue", "old",
            "useful", "complicated", "sticky", "bright", "slow"),
    "number": ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve",
               "fifteen", "twenty", "forty", "a hundred"),
    "subject": ("fractions", "geometry", "chemistry", "history", "spelling", "algebra", "biology",
                "grammar", "physics", "long division"),
    "food": ("soup", "pasta", "rice", "bread", "salad", "curry", "pancakes", "noodles", "pie",
             "tacos"),
    "city": ("Lisbon", "Oslo", "Nairobi", "Denver", "Osaka", "Leeds", "Quito", "Perth", "Lyon",
             "Austin"),
}

# Complete clauses a user says as (part of) a turn.
STATEMENTS = (
    "I {past} the {object} {day}", "my {object} is {adj} again", "we need {number} more {object}s",
    "{name} wants to {verb} the {object} {time}", "I left the {object} at {place}",
    "the {object} from {place} was {adj}", "I have been working on {subject} all week",
    "we are making {food} {day}", "{name} says the {object} is {adj}",
    "I think the {object} should go to {place}", "the train to {city} leaves {time}",
    "I already {past} it twice", "there are {number} people coming {day}",
    "the {adj} {object} costs {number} euros", "I can never remember how {subject} works",
    "{name} and I {past} the {object} together", "I would rather eat {food} {day}",
    "the meeting with {name} moved to {day}", "my sister lives in {city} now",
    "it took {number} minutes to {verb} the {object}", "I am trying to {verb} my {object}",
    "the {object} keeps getting {adj}", "we should {verb} the {object} before {day}",
    "I found a {adj} {object} at {place}", "{name} forgot to {verb} the {object}",
    "the weather in {city} was {adj}", "I got {number} questions wrong in {subject}",
    "I want to {verb} the {object} {time}", "the {object} is still at {place}",
    "we could take the bus to {place} {day}", "I have {number} {object}s to {verb}",
    "my teacher explained {subject} really fast", "the shop near {place} sells {food}",
    "{name} is flying to {city} {day}", "I need the {object} back by {day}",
    "the last {object} I {past} was {adj}", "I promised {name} some {food}",
    "my {object} stopped working {day}", "we spent {number} hours on {subject}",
    "I usually {verb} the {object} {time}",
)
QUESTIONS = (
    "can you {verb} the {object} for me", "what time does {place} open {day}",
    "how do I {verb} a {adj} {object}", "is it too late to {verb} the {object}",
    "what is {number} times {number}", "could you explain {subject} again",
    "where did {name} put the {object}", "do you know a good {food} recipe",
    "how long does it take to get to {city}", "should I {verb} the {object} {day}",
    "when is the next train to {city}", "why is my {object} so {adj}",
    "can we move the meeting to {day}", "what should I cook {day}",
    "did {name} {verb} the {object} yet", "how much is a ticket to {city}",
    "is {place} open {time}", "can you remind me to {verb} the {object}",
    "what is the best way to learn {subject}", "who is bringing the {food} {day}",
    "could you help me {verb} my {object}", "how many {object}s do we need",
    "which {object} should I buy", "what happened to the {adj} {object}",
    "is there a faster way to {verb} it", "can you check the weather in {city}",
)
# Incomplete lead-ins: the user stops after them, mid-thought, and then goes on.
LEAD_INS = (
    "so what I wanted to ask is", "I was wondering if", "the thing about the {object} is",
    "and then {name} told me that", "because the {object}", "the problem is that my",
    "what I really need is a", "so on {day} I", "I was going to say that the",
    "and the reason I ask is", "if we go to {place}", "my plan for {day} was to",
    "actually the {object} that", "so basically the", "I mean the {adj}",
    "well the question is whether", "when I tried to {verb} the", "and after that we",
)
# Words that start the rest of a turn after a pause that followed a complete clause.
CONNECTORS = ("and", "but", "so", "because", "and then", "also", "or maybe", "which means")

AGENT_LINES = (
    "sure, I can {verb} the {object} for you", "okay, let me look at {day} first",
    "that sounds {adj}, tell me more", "the {object} at {place} opens {time}",
    "right, {number} times {number} is a good one to practise", "good question, let us start with {subject}",
    "I would try to {verb} it {time}", "the train to {city} leaves {time} on {day}",
    "here is a simple way to think about {subject}", "I have noted that {name} wants the {object}",
    "we can book {place} for {day} {time}", "a {adj} {object} usually means it needs a check",
    "you could make {food} with what you have", "I moved it to {day}, is that alright",
    "let me explain it step by step", "first you {verb} the {object}, then you wait",
    "that is about {number} minutes from {place}", "it looks {adj} in {city} today",
    "I will remind you {time}", "so the answer is {number}",
)
AGENT_PROMPTS = (
    "I see something changed on the board", "it looks like you drew a new shape",
    "that is a nice {adj} diagram", "your reminder about the {object} is due now",
    "it is time to {verb} the {object}", "just a reminder, {name} is waiting at {place}",
    "I noticed the new number, {number}", "the timer for the {food} is done",
)
SIDE_TALK = (
    "{name}, can you {verb} the {object}", "I will be there in a minute",
    "did you see where I left the {object}", "no, the {adj} one, over there",
    "{name}, dinner is ready", "are you taking the car {day}",
    "hang on, I am on a call", "the {object} is in the kitchen",
    "who finished the {food}", "can you turn that down a bit",
    "we are leaving for {place} {time}", "I told {name} about the {object}",
)
TV_LINES = (
    "and now the weather for {city}", "scoring {number} points in the second half",
    "stay tuned after the break", "prices for {food} rose again this week",
    "our reporter in {city} has more", "traffic near {place} is slow this evening",
    "the match resumes {day} {time}", "in other news, a {adj} {object} was found in {city}",
)
BACKCHANNELS = ("mm-hm", "yeah", "right", "okay", "uh-huh", "I see", "sure", "yes", "oh wow",
                "got it", "mm", "true")
# The agent's own backchannels are at most 4 bytes: the tiny model's text head writes 4 bytes
# per micro-turn, and it learns to write these.
AGENT_BACKCHANNELS = ("mhm", "mm", "okay", "yeah", "sure", "ok", "aha")
# "yeah, but ..." starts: a backchannel, then the word where it turns into an interruption.
YEAH_BUT = (("yeah", "but"), ("right", "but"), ("okay", "but"), ("mm", "no"), ("sure", "except"),
            ("yes", "but wait"), ("uh-huh", "although"))
INTERRUPT_OPENERS = ("wait,", "sorry,", "hold on,", "no no,", "actually,", "hang on,", "excuse me,")

OPENERS = ("", "so", "well", "okay so", "um", "you know,", "hey,", "oh,")
TAILS = ("", " {day}", " at {place}", " I think", " if that works", " again")

# Held-out share of each pattern family, chosen by a fixed rule (every fifth pattern), so the
# split never depends on a seed and a reader can see which ones they are.
HELD_OUT_EVERY = 5
HELD_OUT_FAMILIES = ("statement", "question", "lead_in", "agent", "prompt", "side", "tv")
FAMILIES: dict[str, tuple[str, ...]] = {
    "statement": STATEMENTS, "question": QUESTIONS, "lead_in": LEAD_INS, "agent": AGENT_LINES,
    "prompt": AGENT_PROMPTS, "side": SIDE_TALK, "tv": TV_LINES,
}


def is_held_out(family: str, pattern_index: int) -> bool:
    return family in HELD_OUT_FAMILIES and pattern_index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1


def pattern_indices(family: str, split: str) -> list[int]:
    """Indices of the patterns of `family` usable in `split` ("train" or "eval")."""
    n = len(FAMILIES[family])
    if split == "train":
        return [i for i in range(n) if not is_held_out(family, i)]
    if split == "eval":
        held = [i for i in range(n) if is_held_out(family, i)]
        return held or list(range(n))
    raise ValueError(f"unknown split {split!r} (expected 'train' or 'eval')")


def template_count() -> int:
    """How many distinct templates (opener x pattern x tail) the generator can produce."""
    n = len(OPENERS) * len(TAILS) * len(STATEMENTS) + len(OPENERS) * len(QUESTIONS)
    n += len(LEAD_INS) * len(CONNECTORS) + len(AGENT_LINES) + len(AGENT_PROMPTS)
    return n + len(SIDE_TALK) + len(TV_LINES)


@dataclass(frozen=True)
class Sentence:
    text: str
    template: str  # "family/pattern_index[/opener/tail]"


class SentenceMaker:
    """Draws sentences of one split from a numpy Generator (deterministic for its seed)."""

    def __init__(self, rng: np.random.Generator, split: str = "train") -> None:
        self.rng = rng
        self.split = split
        self._allowed = {fam: pattern_indices(fam, split) for fam in FAMILIES}

    def _pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def fill(self, pattern: str) -> str:
        out = pattern
        while "{" in out:
            start = out.index("{")
            end = out.index("}", start)
            out = out[:start] + self._pick(WORDS[out[start + 1:end]]) + out[end + 1:]
        return out

    def pattern(self, family: str) -> tuple[int, str]:
        i = self._pick(self._allowed[family])
        return i, FAMILIES[family][i]

    def user_clause(self, question: bool | None = None) -> Sentence:
        """A complete user clause with opener (and tail for statements), no final punctuation."""
        if question is None:
            question = bool(self.rng.random() < 0.35)
        fam = "question" if question else "statement"
        i, pat = self.pattern(fam)
        o = int(self.rng.integers(len(OPENERS)))
        t = int(self.rng.integers(len(TAILS))) if not question else 0
        text = " ".join(x for x in (OPENERS[o], self.fill(pat) + self.fill(TAILS[t])) if x)
        return Sentence(text, f"{fam}/{i}/{o}/{t}")

    def lead_in(self) -> Sentence:
        i, pat = self.pattern("lead_in")
        return Sentence(self.fill(pat), f"lead_in/{i}")

    def connector(self) -> str:
        return self._pick(CONNECTORS)

    def line(self, family: str) -> Sentence:
        i, pat = self.pattern(family)
        return Sentence(self.fill(pat), f"{family}/{i}")

    def backchannel(self, agent: bool = False) -> str:
        return self._pick(AGENT_BACKCHANNELS if agent else BACKCHANNELS)

    def yeah_but(self) -> tuple[str, str]:
        return self._pick(YEAH_BUT)

    def interrupt_opener(self) -> str:
        return self._pick(INTERRUPT_OPENERS)
