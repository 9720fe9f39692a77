"""An arithmetic agent: ask "what is seven times eight" and it answers "seven times eight is
fifty six". The answer comes from a `@tool` (so the same tools can be called from the page
with a ``tool.call`` event), and numbers are spelled as words so the spoken round trip through
TTS and ASR stays exact. A JSGF grammar narrows the recogniser to exactly these questions.
It also speaks up unprompted: when the whiteboard (or camera) picture changes, and when a timer
the app set falls due (`microturn eval` times both: the `mt/board_change` and `mt/timer_due` tasks).

Run it with ``microturn dev examples/arithmetic.py`` (it is the default app).
"""

from __future__ import annotations

from microturn import Agent, Interjection, tool

NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
           "nineteen", "twenty"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
# spoken operator -> tool name
OPERATORS = {"plus": "add", "minus": "subtract", "times": "multiply", "multiplied by": "multiply",
             "divided by": "divide"}

BOARD_PROMPT = "I see something new. if you wrote a sum, read it to me and I will work it out."
# The picture is a whiteboard or a camera (the session does not say which), and a person moving
# in front of a camera changes it all the time: one remark per 30 s at most.
BOARD_QUIET_MS = 30_000

GRAMMAR = f"""#JSGF V1.0;
grammar arithmetic;
public <question> = [what is] <number> <operator> <number>;
<operator> = {' | '.join(OPERATORS)};
<number> = {' | '.join(NUMBERS)};
"""


def number_words(value: float) -> str:
    """Spell a number as words ("fifty six", "minus three", "three point five")."""
    if value < 0:
        return "minus " + number_words(-value)
    whole = int(value)
    frac = round(value - whole, 2)
    if frac >= 1:  # 2.999 rounds up
        whole, frac = whole + 1, 0.0
    words = _int_words(whole)
    if frac:
        digits = f"{frac:.2f}"[2:].rstrip("0")
        words += " point " + " ".join(NUMBERS[int(d)] for d in digits)
    return words


def _int_words(n: int) -> str:
    if n <= 20:
        return NUMBERS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {NUMBERS[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{NUMBERS[hundreds]} hundred" + (f" and {_int_words(rest)}" if rest else "")
    return str(n)


def parse_question(text: str) -> tuple[int, str, int] | None:
    """Find "<number> <operator> <number>" in a transcript; None when it isn't there."""
    words = text.lower().replace("what's", "what is").split()
    for i, word in enumerate(words):
        if word not in NUMBERS:
            continue
        for spoken in OPERATORS:
            op = spoken.split()
            j = i + 1 + len(op)
            if words[i + 1:j] == op and j < len(words) and words[j] in NUMBERS:
                return NUMBERS.index(word), spoken, NUMBERS.index(words[j])
    return None


class ArithmeticAgent(Agent):
    """Answers spoken arithmetic questions about the numbers zero to twenty."""

    asr_grammar = GRAMMAR

    @tool
    def add(self, a: float, b: float) -> float:
        """Add two numbers.

        Args:
            a: the first number
            b: the number to add to it
        """
        return a + b

    @tool
    def subtract(self, a: float, b: float) -> float:
        """Subtract b from a.

        Args:
            a: the number to subtract from
            b: the number to subtract
        """
        return a - b

    @tool
    def multiply(self, a: float, b: float) -> float:
        """Multiply two numbers.

        Args:
            a: the first factor
            b: the second factor
        """
        return a * b

    @tool
    def divide(self, a: float, b: float) -> float:
        """Divide a by b.

        Args:
            a: the dividend
            b: the divisor (not zero)
        """
        if b == 0:
            raise ValueError("cannot divide by zero")
        return a / b

    async def answer(self, text: str) -> str:
        """The spoken answer to one transcript."""
        parsed = parse_question(text)
        if parsed is None:
            return "sorry, I only do arithmetic. ask me something like what is seven times eight."
        a, spoken, b = parsed
        result = await self.tools.call(OPERATORS[spoken], {"a": a, "b": b})
        question = f"{NUMBERS[a]} {spoken} {NUMBERS[b]}"
        if not result.ok:
            return f"{question} has no answer: you cannot divide by zero."
        return f"{question} is {number_words(result.result)}"

    async def on_visual_change(self, session, media_ms):
        # Offered at the next pause rather than said at once: a learner who is still talking
        # while they write is not talked over (the delivery rules hold it while they speak).
        # It expires after 4 s: a remark about the picture is stale once the talk has moved on.
        said = self.__dict__.setdefault("_board_said_ms", {})   # session id -> last remark
        if media_ms - said.get(session.session_id, -BOARD_QUIET_MS) < BOARD_QUIET_MS:
            return
        said[session.session_id] = media_ms
        session.offer_interjection(Interjection(BOARD_PROMPT, priority="next_pause", anchor_ms=media_ms,
                                                expires_ms=media_ms + 4000))

    async def on_timer(self, session, name, media_ms):
        # due now: voiced at once in silence, and the moment the user pauses if they are talking
        text = f"it is time for the {name}." if name else "a reminder is due now."
        session.offer_interjection(Interjection(text, priority="next_pause", anchor_ms=media_ms))

    async def on_user_turn(self, session, turn):
        if not turn.text.strip():
            session.say("sorry, I did not catch that.")
            return
        session.say(await self.answer(turn.text))
