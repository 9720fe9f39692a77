"""What the synthesized users say: the text bank behind `microturn eval synth`.

The default app (`examples/arithmetic.py`) answers "what is <n> <op> <m>" for n, m in 0..20,
so users ask sums; an interruption asks a *different* sum, whose answer is the keyword the reply
must contain (our judge-free relevance proxy). Prompts before an overlap ask for products with
long spoken answers, so the app is still talking when the overlap starts (see `docs/eval.md`).
"""

from __future__ import annotations

# (question, the words its answer contains)
QUESTIONS: list[tuple[str, str]] = [
    ("what is seven times eight", "fifty six"),
    ("what is twelve plus nine", "twenty one"),
    ("what is six times seven", "forty two"),
    ("what is fifteen minus four", "eleven"),
    ("what is nine times nine", "eighty one"),
    ("what is eight times three", "twenty four"),
    ("what is twenty divided by five", "four"),
    ("what is thirteen plus six", "nineteen"),
]

# A user turn with a pause inside it: (before the pause, after the pause)
PAUSED_TURNS: list[tuple[str, str]] = [
    ("what is seven times", "eight"),
    ("so I was wondering", "what is twelve plus nine"),
    ("could you tell me", "what six times seven is"),
    ("let me think, what is", "fifteen minus four"),
    ("okay so my question is", "nine times nine"),
    ("I need to know what", "eight times three is"),
]

# Long user turns for the v1 backchannel task: phrases joined by short breaths.
MONOLOGUES: list[list[str]] = [
    ["yesterday I was helping my sister with her homework", "she had a long list of sums to do",
     "and some of them were really tricky", "so we sat at the kitchen table for an hour"],
    ["when I was at school I never liked numbers", "but then I had a teacher who made it fun",
     "she used to bring sweets to class", "and we counted them before we ate them"],
    ["I am trying to plan a small party", "there will be about twelve people coming",
     "and I want everyone to have three slices of pizza", "so I have to work out how many to order"],
    ["last week I started running in the morning", "the first day I only managed two kilometres",
     "but now I can do almost five", "and I want to get to ten by the summer"],
]

# Prompts that make the arithmetic app talk for a while: products with three-digit answers
# ("nineteen times seventeen is three hundred and twenty three": about 3 s of speech).
TALK_PROMPTS: list[str] = [
    "what is nineteen times seventeen",
    "what is eighteen times sixteen",
    "what is seventeen times thirteen",
    "what is nineteen times fourteen",
    "what is sixteen times fifteen",
]

# Interruptions: (what the user says over the agent, the keyword the reply must contain).
# Kept inside the app's grammar so the relevance proxy measures the floor, not the recogniser.
INTERRUPTIONS: list[tuple[str, str]] = [
    ("what is four plus five", "nine"),
    ("what is two times three", "six"),
    ("what is ten minus three", "seven"),
    ("what is six plus two", "eight"),
    ("what is five times five", "twenty five"),
]

# Listener backchannels said over the agent (v1.5 user backchannel).
BACKCHANNELS: list[str] = ["mm hmm", "yeah", "okay", "right", "uh huh", "I see"]

# Someone nearby talking to someone else (v1.5 talking to others).
SIDE_TALK: list[str] = [
    "hey can you close the door please",
    "I will be there in a minute",
    "did you feed the cat this morning",
    "just put it on the table, thanks",
    "no, the blue one is mine",
]

# Distant speech in the room (v1.5 background speech).
BACKGROUND: list[str] = [
    "and then we drove all the way to the coast and stayed for the weekend",
    "the meeting got moved to thursday afternoon because of the holiday",
    "I told him the train leaves at half past seven but he did not listen",
    "they are painting the kitchen yellow this year, can you believe it",
]

# (voice, words per minute, pitch) for the user; other talkers pick a different voice.
VOICES: list[tuple[str, int, int]] = [
    ("en-us", 165, 50),
    ("en-gb", 155, 42),
    ("en-us+f3", 175, 62),
    ("en-us+m3", 150, 38),
    ("en-gb+f2", 180, 58),
    ("en-us+klatt", 160, 48),
]
