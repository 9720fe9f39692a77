"""The judge-free Full-Duplex-Bench metrics, as pure functions of word timings and segments.

Inputs are plain data so every rule can be checked against hand-computed cases:
- `Word` = (text, start_s, end_s): one recognised output word (FD-bench takes these from its
  own ASR; we take them from pocketsphinx, so absolute scores move with the recogniser).
- `Segment` = (start_s, end_s): one stretch of speech (Silero VAD).

The formulas follow the public FD-bench code as described in `shared/notes/fdbench.md`:
- take-over (TO) of an item: 0 with no words, or when the words span < 1 s and number <= 3
  (a short "okay yeah" is not taking the turn); otherwise 1. TOR = mean TO.
- latency: first word start minus the reference point, clamped at 0 (speaking early is not
  rewarded below zero); a task's latency is averaged over take-over items only.
- v1 backchannel: output VAD segments longer than 3 s or holding more than 3 words take the
  turn; frequency = short segments per second of clip.
- v1.5 timing: user segments merged across gaps <= 0.6 s, model segments across <= 0.5 s;
  stop latency = how long the model keeps talking after the user starts; response latency =
  next model onset after the user's segment ends.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

Word = tuple[str, float, float]
Segment = tuple[float, float]

TAKE_OVER_MAX_WORDS = 3        # this many words or fewer ...
TAKE_OVER_MIN_SPAN_S = 1.0     # ... spanning less than this is not a take-over
BACKCHANNEL_MAX_SEG_S = 3.0    # a longer output segment takes the turn
BACKCHANNEL_MAX_WORDS = 3      # so does a segment with more words
USER_MERGE_GAP_S = 0.6         # v1.5: user segments closer than this are one
MODEL_MERGE_GAP_S = 0.5        # v1.5: model segments closer than this are one


# ---------------------------------------------------------------- v1: take-over and latency

def take_over(words: Sequence[Word]) -> int:
    """FD-bench's take-over rule for one item's output words (sorted by start)."""
    if not words:
        return 0
    span = words[-1][2] - words[0][1]
    if span < TAKE_OVER_MIN_SPAN_S and len(words) <= TAKE_OVER_MAX_WORDS:
        return 0
    return 1


def onset_latency(words: Sequence[Word], reference_s: float) -> float | None:
    """First word start minus the reference point, clamped at 0; None without words."""
    if not words:
        return None
    return max(0.0, words[0][1] - reference_s)


def words_after(words: Sequence[Word], t_s: float) -> list[Word]:
    """The words still going on at or after `t_s` (end > t_s): what the listener hears from then."""
    return [w for w in words if w[2] > t_s]


def take_over_rate(tos: Sequence[int]) -> float | None:
    return sum(tos) / len(tos) if tos else None


def mean_latency_over_take_overs(tos: Sequence[int], latencies: Sequence[float | None]) -> float | None:
    """FD-bench averages latency over the items that took over only (TO = 1)."""
    vals = [lat for to, lat in zip(tos, latencies) if to == 1 and lat is not None]
    return sum(vals) / len(vals) if vals else None


# ---------------------------------------------------------------- segments

def median_of(values: Sequence[float | None], digits: int) -> float | None:
    """Median of the values that are not None, rounded to `digits`; None when there are none
    (the issue-6 targets are medians; FD-bench's own latencies are means)."""
    present = [float(v) for v in values if v is not None]
    return round(statistics.median(present), digits) if present else None


def merge_segments(segments: Sequence[Segment], max_gap_s: float) -> list[Segment]:
    """Join segments whose gap is <= max_gap_s (input in any order)."""
    merged: list[list[float]] = []
    for start, end in sorted(segments):
        if merged and start - merged[-1][1] <= max_gap_s + 1e-9:  # inclusive, float-safe
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def words_in_segment(words: Sequence[Word], seg: Segment) -> list[Word]:
    """Words whose midpoint lies inside the segment."""
    return [w for w in words if seg[0] <= (w[1] + w[2]) / 2 <= seg[1]]


def speech_seconds(segments: Sequence[Segment]) -> float:
    return sum(e - s for s, e in segments)


# ---------------------------------------------------------------- v1: backchannel

@dataclass
class BackchannelScore:
    take_over: int          # 1 when any output segment is long or wordy
    backchannels: int       # short segments
    frequency: float        # short segments per second of clip


def backchannel_score(segments: Sequence[Segment], words: Sequence[Word], clip_s: float) -> BackchannelScore:
    short = 0
    took = 0
    for seg in segments:
        n_words = len(words_in_segment(words, seg))
        if seg[1] - seg[0] > BACKCHANNEL_MAX_SEG_S or n_words > BACKCHANNEL_MAX_WORDS:
            took = 1
        else:
            short += 1
    return BackchannelScore(took, short, short / clip_s if clip_s > 0 else 0.0)


# ---------------------------------------------------------------- v1.5: overlap timing

def pick_user_segment(user_segments: Sequence[Segment], event: Segment) -> Segment | None:
    """The (merged) user segment that overlaps the marked event most; None when the detector
    found nothing there (e.g. quiet background speech below the VAD's threshold)."""

    def overlap(seg: Segment) -> float:
        return max(0.0, min(seg[1], event[1]) - max(seg[0], event[0]))

    best = max(user_segments, key=overlap, default=None)
    return best if best is not None and overlap(best) > 0 else None


@dataclass
class OverlapTiming:
    talking_at_onset: bool        # the model was speaking when the user started
    stop_latency: float | None    # seconds it kept talking after the user started (None if not talking)
    stopped_during_user: bool     # it fell silent before the user's segment ended
    response_latency: float | None  # next model onset after the user's segment ends (None: no onset)


def overlap_timing(model_segments: Sequence[Segment], user_seg: Segment) -> OverlapTiming:
    """v1.5 stop / response latency for one user segment against merged model segments."""
    u0, u1 = user_seg
    active = [m for m in model_segments if m[0] <= u0 < m[1]]
    talking = bool(active)
    stop = (active[0][1] - u0) if talking else None
    stopped = talking and active[0][1] < u1
    onsets = [m[0] for m in model_segments if m[0] >= u1]
    response = (min(onsets) - u1) if onsets else None
    return OverlapTiming(talking, stop, stopped, response)


def behaviour_proxy(timing: OverlapTiming, model_segments: Sequence[Segment], user_seg: Segment) -> str:
    """A judge-free PROXY for FD-bench v1.5's behaviour classes (the real ones need an LLM judge).

    - "continue": the model talked through the user's whole segment (kept the floor);
    - "resume"/"respond": it stopped during the user's speech and spoke again afterwards (we cannot
      tell resuming from responding without understanding the words, so both read "stop+speak");
    - "stop": it stopped and stayed silent;
    - "silent": it was not talking when the user started and said nothing after.
    """
    u0, u1 = user_seg
    if timing.talking_at_onset and not timing.stopped_during_user:
        return "continue"
    spoke_after = timing.response_latency is not None or any(m[0] < u1 < m[1] for m in model_segments if m[0] > u0)
    if timing.talking_at_onset:
        return "stop+speak" if spoke_after else "stop"
    return "speak" if spoke_after else "silent"


# ---------------------------------------------------------------- proxies for judge metrics

def normalise(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def contains_keyword(text: str, keyword: str) -> bool:
    """PROXY for FD-bench's GPT-4o relevance score: the reply must contain the asked-for keyword."""
    return f" {normalise(keyword)} " in f" {normalise(text)} "
