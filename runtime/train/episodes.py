"""Lay out one synthetic two-party conversation: a `Timeline` (the truth) plus audio clips.

An episode is a run of *scenes* placed one after another on a cursor (milliseconds):
- `exchange`: a user turn (complete, or with 1-2 mid-turn pauses of 0.2-1.8 s: inside a clause
  cut at a word boundary, after an incomplete lead-in, or after a complete clause, with or
  without continuation punctuation), then the agent's answer;
- `monologue`: a long user turn whose later pauses are backchannel slots (the agent's own
  "mm-hm" is placed there, so its echo is in the input too), then the agent's answer;
- `prompt`: silence, then a visual change or a due timer, then the agent speaks up;
- `idle_side`: other people talk while nobody holds the floor (the agent must stay quiet).
While the agent answers, one overlap may happen: nothing, a user backchannel, a "yeah, but..."
that becomes an interruption, a real interruption, full-band side talk at -6..+3 dB, quieter
far side talk, TV, or background speech.

The agent's behaviour is placed exactly where the labels say it acts: it starts speaking at the
first SPEAK decision, stops at the first YIELD decision, backchannels at the BACKCHANNEL slot.
Sometimes it acts one or two micro-turns late (answers: sometimes up to 12), so the model also
learns what to do when it missed the moment (keep asking for the floor, keep yielding).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from microturn.runtime.train import templates as tpl
from microturn.runtime.train.labels import LabelOptions
from microturn.runtime.train.mix import AcousticRanges, Acoustics, Clip, mix
from microturn.runtime.train.speaker import Speaker
from microturn.runtime.train.timeline import (MICRO_TURN_MS, Span, Timeline, UserTurn,
                                              first_decision_at_or_after)
from microturn.runtime.train.voices import Voice, draw_voice

SCENES = ("exchange", "monologue", "prompt", "idle_side")
SCENE_WEIGHTS = (0.55, 0.15, 0.15, 0.15)
OVERLAPS = ("none", "user_backchannel", "yeah_but", "interrupt", "side_near", "side_far", "tv", "background")
# Interruptions are frequent on purpose: YIELD is a rare label (a few micro-turns each) and the
# one the model must never miss.
OVERLAP_WEIGHTS = (0.24, 0.16, 0.10, 0.20, 0.12, 0.06, 0.06, 0.06)


@dataclass
class Episode:
    timeline: Timeline
    audio: np.ndarray  # float32 16 kHz microphone signal, timeline.duration_ms long
    meta: dict = field(default_factory=dict)


class EpisodeBuilder:
    def __init__(self, rng: np.random.Generator, speaker: Speaker, split: str = "train",
                 labels: LabelOptions = LabelOptions(), acoustics: AcousticRanges = AcousticRanges()) -> None:
        self.rng = rng
        self.acoustics = acoustics
        self.speaker = speaker
        self.split = split
        self.labels = labels
        self.words = tpl.SentenceMaker(rng, split)

    # --- small helpers -------------------------------------------------------------------
    def _u(self, lo: float, hi: float) -> int:
        return int(self.rng.uniform(lo, hi))

    def _late(self, p1: float = 0.15, p2: float = 0.05) -> int:
        """How many micro-turns late the agent acts (usually 0)."""
        r = self.rng.random()
        return (1 if r < p1 else 2 if r < p1 + p2 else 0) * MICRO_TURN_MS

    def _say(self, text: str, voice: Voice) -> np.ndarray:
        self.templates_text.append(text)
        return self.speaker.say(text, voice, seed=int(self.rng.integers(1 << 30)),
                                rate_jitter=float(self.rng.uniform(-0.06, 0.06)))

    def _ms(self, audio: np.ndarray) -> int:
        return len(audio) * 1000 // 16_000

    def _clip(self, start: int, audio: np.ndarray, bus: str, level_db: float = 0.0) -> int:
        self.clips.append(Clip(start, audio, bus, level_db))
        return start + self._ms(audio)

    def _sentence(self, s: tpl.Sentence) -> str:
        self.templates.append(s.template)
        return s.text

    # --- episode -------------------------------------------------------------------------
    def build(self, target_ms: int) -> Episode:
        rng = self.rng
        self.clips: list[Clip] = []
        self.templates: list[str] = []
        self.templates_text: list[str] = []
        self.tl = Timeline(duration_ms=0)
        self.user = draw_voice(rng, self.split)
        self.agent = draw_voice(rng, self.split, exclude=(self.user.variant,))
        self.others = [draw_voice(rng, self.split, exclude=(self.user.variant, self.agent.variant))
                       for _ in range(3)]
        scenes = []
        t = self._u(300, 1500)
        while t < target_ms:
            scene = str(rng.choice(SCENES, p=SCENE_WEIGHTS))
            scenes.append(scene)
            t = getattr(self, f"_scene_{scene}")(t)
        duration = first_decision_at_or_after(t + self._u(400, 1200))
        self.tl.duration_ms = duration
        ac = Acoustics.draw(rng, self.acoustics)
        if ac.babble_db is not None:
            self._babble(duration, ac.babble_db)
        audio = mix(duration, self.clips, ac, rng)
        meta = {
            "voices": {"user": self.user.id, "agent": self.agent.id, "others": [v.id for v in self.others]},
            "rates": {"user": self.user.rate, "agent": self.agent.rate},
            "templates": sorted(set(self.templates)),
            "scenes": scenes,
            "acoustics": ac.to_dict(),
        }
        return Episode(self.tl, audio, meta)

    # --- user speech ---------------------------------------------------------------------
    def _final_punct(self, question: bool) -> str:
        r = self.rng.random()
        if r < 0.15:
            return ""  # no final punctuation: prosody alone must not decide the turn end
        return "?" if question and r < 0.8 else "."

    # Where a mid-turn pause falls. Most real hesitations come *inside* a clause ("what is
    # seven times ... eight"), so most pauses here cut a clause at a word boundary: the words
    # before the pause are incomplete whatever their prosody, and the model has to hear that.
    # A pause after a complete clause usually carries continuation prosody ("," or "..."); a
    # complete clause with a falling end and then more speech is kept rare (about one pause in
    # ten), because nothing in the audio can tell it from a finished turn and a larger share only
    # teaches the model to hedge at every turn end (the tiny-floor-v1 recipe had one in four).
    PAUSE_CUTS = {"cut": 0.45, "lead_in": 0.25, "complete": 0.30}
    # Monologues pause mostly between complete phrases, where a listener's "mm-hm" fits; only
    # those pauses become backchannel slots.
    MONOLOGUE_PAUSE_CUTS = {"cut": 0.25, "lead_in": 0.15, "complete": 0.60}
    CONTINUATION = {",": 0.35, "...": 0.35, ".": 0.15, "": 0.15}

    def _continuation_punct(self) -> str:
        marks = list(self.CONTINUATION)
        return str(self.rng.choice(marks, p=list(self.CONTINUATION.values())))

    def _pause_part(self, cuts: dict[str, float]) -> tuple[str, bool, tuple[str, bool] | None]:
        """The words before a mid-turn pause: (text, incomplete, rest of a cut clause)."""
        kind = str(self.rng.choice(list(cuts), p=list(cuts.values())))
        if kind == "cut":
            clause = self.words.user_clause()
            words = self._sentence(clause).split()
            if len(words) >= 2:
                k = int(self.rng.integers(1, len(words)))
                # Half the cuts end without punctuation, which eSpeak says with a falling,
                # sentence-final contour: lexically incomplete, prosodically "done".
                mark = str(self.rng.choice(["", "", ",", "..."]))
                rest = (" ".join(words[k:]), clause.template.startswith("question"))
                return " ".join(words[:k]) + mark, True, rest
            kind = "lead_in"
        if kind == "lead_in":
            return self._sentence(self.words.lead_in()) + str(self.rng.choice(["", "...", ","])), True, None
        clause = self._sentence(self.words.user_clause(question=False))
        return clause + self._continuation_punct(), False, None

    def _user_turn(self, t: int, n_pauses: int, bc_after_ms: int | None = None) -> int:
        """Place a user turn with `n_pauses` mid-turn pauses; returns its end.
        With `bc_after_ms`, pauses that come at least that long after the turn start (or the
        last backchannel) are backchannel slots and get the agent's "mm-hm"."""
        spans, bc_pauses = [], set()
        cur, last_bc = t, t
        incomplete = False
        rest: tuple[str, bool] | None = None  # the remainder of a clause cut by the last pause
        for i in range(n_pauses + 1):
            last = i == n_pauses
            if rest is not None:  # finish the cut clause first
                words, question = rest
                text = words + (self._final_punct(question) if last else self._continuation_punct())
                incomplete_next, rest = False, None
            elif not last:
                cuts = self.PAUSE_CUTS if bc_after_ms is None else self.MONOLOGUE_PAUSE_CUTS
                text, incomplete_next, rest = self._pause_part(cuts)
            else:
                clause = self.words.user_clause()
                text = self._sentence(clause) + self._final_punct(clause.template.startswith("question"))
                incomplete_next = False
            if i > 0 and not incomplete:
                text = f"{self.words.connector()} {text}"
            incomplete = incomplete_next
            end = self._clip(cur, self._say(text, self.user), "user")
            spans.append((cur, end))
            if not last:
                pause = self._pause_ms()
                phrase_done = not incomplete and rest is None
                if bc_after_ms is not None and phrase_done and end - last_bc >= bc_after_ms:
                    slot = first_decision_at_or_after(end + self.labels.backchannel_delay_ms)
                    if slot + MICRO_TURN_MS <= end + pause:
                        bc_pauses.add(i)
                        last_bc = slot
                        word = self.words.backchannel(agent=True)
                        bc_end = self._clip(slot, self._say(word, self.agent), "agent")
                        self.tl.agent.append(Span(slot, bc_end, "backchannel", word))
                cur = end + pause
        self.tl.user_turns.append(UserTurn(tuple(spans), frozenset(bc_pauses)))
        return spans[-1][1]

    def _pause_ms(self) -> int:
        """A mid-turn silence. One in five is a breath of 200-450 ms (a fast policy answers
        into it; the turn is not over); the rest 400-1800 ms, so that hesitations longer than
        the usual answer delay are in the data as LISTEN too (a model trained only on pauses up
        to 1.2 s took the floor in every 1.3-1.6 s pause)."""
        if self.rng.random() < 0.2:
            return self._u(200, 450)
        return self._u(400, 1800)

    # --- agent speech --------------------------------------------------------------------
    def _agent_turn(self, start: int, family: str = "agent", allow_overlap: bool = True) -> int:
        """The agent speaks from `start`, maybe with one overlap; returns where it stops (for
        an interruption: where the user's interruption ends and the agent answers it)."""
        n_lines = int(self.rng.integers(1, 4)) if family == "agent" else 1
        text = ". ".join(self._sentence(self.words.line(family)) for _ in range(n_lines)) + "."
        audio = self._say(text, self.agent)
        dur = self._ms(audio)
        kind = str(self.rng.choice(OVERLAPS, p=OVERLAP_WEIGHTS)) if allow_overlap and dur >= 1800 else "none"
        if kind in ("yeah_but", "interrupt") and dur < 2600:
            kind = "user_backchannel"  # too short to be interrupted and still yield before its end
        if kind in ("yeah_but", "interrupt"):
            return self._interrupted(start, audio, kind)
        self._clip(start, audio, "agent")
        self.tl.agent.append(Span(start, start + dur, "turn"))
        early = self._starts_early()
        if kind == "user_backchannel":
            bc = self._say(self.words.backchannel(), self.user)
            at = start + (self._u(0, self.EARLY_MS) if early else self._u(300, max(301, dur - self._ms(bc) - 100)))
            self.tl.user_backchannels.append(Span(at, self._clip(at, bc, "user")))
        elif kind != "none":
            self._other_speech(start + (self._u(0, self.EARLY_MS) if early else self._u(200, dur - 600)), kind)
        return start + dur

    # Share of real interruptions that open with "wait," / "sorry," ...; the others barge in
    # with a question of their own (as FD-bench's v1.5 interruptions do). With openers only, a
    # model can learn a handful of words instead of "speech over me that is not a backchannel".
    OPENER_SHARE = 0.5
    # Share of agent turns whose overlap (an interruption, backchannel, side talk, TV or
    # background speech) starts within the agent's first 400 ms: live, that is when a user
    # most often talks over it, and the live bench's barge-in comes 70 ms into the answer.
    # Off (0) by default: four runs of 2026-11-26 with 0.25 (docs/training.md, R5-R8) stopped
    # for every live barge-in but yielded to backchannels and side talk far more often on the
    # held-out suite than the shipped model trained without it. At 0 no random number is drawn
    # for it, so the recipe of `tiny-floor-v2` is unchanged.
    EARLY_SHARE = 0.0
    EARLY_MS = 400

    def _starts_early(self) -> bool:
        """Does this agent turn's overlap start within its first EARLY_MS? (no draw when off)"""
        return self.EARLY_SHARE > 0 and self.rng.random() < self.EARLY_SHARE

    def _interrupted(self, start: int, audio: np.ndarray, kind: str) -> int:
        dur = self._ms(audio)
        room = self.labels.yield_delay_ms + (1500 if kind == "yeah_but" else 500)  # yield before it ends
        early = kind == "interrupt" and self._starts_early()
        t_i = start + (self._u(0, self.EARLY_MS) if early else self._u(400, max(401, dur - room)))
        if kind == "yeah_but":
            bc_word, turn_word = self.words.yeah_but()
            bc = self._say(bc_word + ",", self.user)
            bc_end = self._clip(t_i, bc, "user")
            self.tl.user_backchannels.append(Span(t_i, bc_end))
            t_i = bc_end + self._u(40, 200)
            text = f"{turn_word} {self._sentence(self.words.user_clause())}?"
        elif self.rng.random() < self.OPENER_SHARE:
            text = f"{self.words.interrupt_opener()} {self._sentence(self.words.user_clause())}?"
        else:  # straight in with a new question: the yield must not hinge on "wait" or "sorry"
            text = f"{self._sentence(self.words.user_clause(question=True))}?"
        u_end = self._clip(t_i, self._say(text, self.user), "user")
        self.tl.user_turns.append(UserTurn(((t_i, u_end),)))
        stop = first_decision_at_or_after(t_i + self.labels.yield_delay_ms) + self._late(0.2, 0.1)
        stop = min(stop, start + dur)
        self._clip(start, audio[: (stop - start) * 16], "agent")
        self.tl.agent.append(Span(start, stop, "turn"))
        answer = first_decision_at_or_after(max(u_end, stop) + self.labels.speak_delay_ms) + self._late()
        return self._agent_turn(answer, allow_overlap=False)

    def _other_speech(self, at: int, kind: str) -> int:
        voice = self.others[int(self.rng.integers(len(self.others)))]
        if kind == "tv":
            text, bus, level = self._sentence(self.words.line("tv")), "tv", self.rng.uniform(-15, -3)
        elif kind == "side_near":
            text, bus, level = self._sentence(self.words.line("side")), "side_near", self.rng.uniform(-6, 3)
        elif kind == "side_far":
            text, bus, level = self._sentence(self.words.line("side")), "side_far", self.rng.uniform(-18, -6)
        else:  # a burst of background speech
            text, bus, level = self._sentence(self.words.line("tv")), "background", self.rng.uniform(-24, -10)
        end = self._clip(at, self._say(text + ".", voice), bus, float(level))
        self.tl.others.append(Span(at, end, kind))
        return end

    def _babble(self, duration: int, level_db: float) -> None:
        """A distant babble bed under the whole episode: part of the ambience, not a span."""
        t = self._u(0, 2000)
        while t < duration:
            voice = self.others[int(self.rng.integers(len(self.others)))]
            audio = self._say(self._sentence(self.words.line("tv")) + ".", voice)
            t = self._clip(t, audio, "background", level_db) + self._u(100, 1500)

    # --- scenes --------------------------------------------------------------------------
    def _answer_at(self, user_end: int) -> int:
        """Where the agent starts answering: usually at the first SPEAK decision, sometimes a
        little late, and in `late_answer_share` of turns (default 12%) 3-12 micro-turns late, so
        that a long silence after the user's turn (an answer not yet come) is also labelled
        SPEAK, not LISTEN."""
        start = first_decision_at_or_after(user_end + self.labels.speak_delay_ms)
        if self.rng.random() < self.labels.late_answer_share:
            return start + int(self.rng.integers(3, 13)) * MICRO_TURN_MS
        return start + self._late()

    def _gap(self) -> int:
        return self._u(300, 2200)

    def _scene_exchange(self, t: int) -> int:
        r = self.rng.random()
        n_pauses = 0 if r < 0.5 else 1 if r < 0.85 else 2
        end = self._user_turn(t, n_pauses)
        return self._agent_turn(self._answer_at(end)) + self._gap()

    def _scene_monologue(self, t: int) -> int:
        end = self._user_turn(t, int(self.rng.integers(3, 6)), bc_after_ms=self._u(1500, 3000))
        return self._agent_turn(self._answer_at(end)) + self._gap()

    def _scene_prompt(self, t: int) -> int:
        e = t + self._u(400, 2500)
        (self.tl.visual_events if self.rng.random() < 0.5 else self.tl.timers).append(e)
        start = first_decision_at_or_after(e + 1) + self._late(0.1, 0.0)
        return self._agent_turn(start, family="prompt") + self._gap()

    def _scene_idle_side(self, t: int) -> int:
        kind = str(self.rng.choice(["side_near", "side_far", "tv"], p=[0.5, 0.25, 0.25]))
        return self._other_speech(t, kind) + self._gap()
