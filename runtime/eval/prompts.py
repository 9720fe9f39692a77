"""Prompt items: a whiteboard change or a due timer, heard (or not) in closed loop.

FD-bench has no task for an agent that speaks up on its own, so these two are this project's
(folder `microturn/`): the input is the user's side as usual, plus a `prompt.json` that says what
happens besides the audio and when, in FD-bench's list-of-objects style:

    [{"kind": "board", "timestamp": [4.21, 4.21]}]               # the whiteboard changes
    [{"kind": "timer", "name": "reminder", "timestamp": [3.7, 3.7]}]  # a timer falls due

`eval run` shows the pictures (a blank board, then the same board with strokes, from
`board_frames`) and arms the timer as if the app had called `session.set_timer`, so what gets
timed is the whole live path: the session noticing the change at a micro-turn, the app's hook
(`on_visual_change`, `on_timer`) choosing the words, the delivery rules, TTS and the output
track. The issue's target: a prompt that meets silence is voiced within two micro-turns (400 ms);
one that comes while the user speaks waits until they finish (never over them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

KIND_TASKS = {"board": "mt/board_change", "timer": "mt/timer_due"}
WITHIN_S = 0.4          # two micro-turns
TIMER_NAME = "next exercise"


def board_frames(event_s: float, height: int = 48, width: int = 64) -> list[tuple[int, np.ndarray]]:
    """(media_ms, frame) pairs: a blank board from the start, strokes on it from `event_s`."""
    blank = np.full((height, width, 3), 245, np.uint8)
    drawn = blank.copy()
    drawn[height // 4: height // 4 + 3, width // 8: width * 7 // 8] = 20      # a line of "writing"
    drawn[height // 2: height * 3 // 4, width // 3: width // 3 + 3] = 20      # and a stroke down
    drawn[height // 2: height // 2 + 3, width // 3: width * 2 // 3] = 20
    return [(0, blank), (int(round(event_s * 1000)), drawn)]


def offline_inputs(item) -> dict[str, Any]:
    """What `run_offline` needs besides the audio for a prompt item (nothing for other tasks)."""
    if item.task not in KIND_TASKS.values():
        return {}
    first = item.raw[0]
    if first.get("kind") == "board":
        return {"video": board_frames(item.event[0])}
    return {"timers": [(str(first.get("name") or TIMER_NAME), int(round(item.event[0] * 1000)))]}


def score_prompt(event_s: float, segments: list, onsets: list[float], onsets_src: str,
                 user_until: float | None = None, turn_ends: list[float] | None = None) -> dict[str, Any]:
    """One prompt item: was the agent silent when the prompt came, and how soon did it speak?

    `onsets` are the agent's onsets (engine events when the run recorded them, else the output
    VAD's), `segments` the output VAD's. A prompt in silence counts as voiced by the first onset
    at or after the event; the VAD view (`prompt_delay`) is what a system without events is
    judged by. `user_until`: the prompt came while the user was speaking, until then (from
    truth.json); such an item is judged only on not talking over them (`spoke_over_user`: any
    agent onset from the prompt until they finish, the prompt's or an answer started too early),
    since the answer to what they say and the prompt then both follow their turn. `turn_ends`
    (the engine's `user.turn.ended` times, when recorded) tell whether their turn then reached
    the app at all (`user_turn_ended`: a prompt voiced first once left it open for good).
    """
    talking = any(s0 <= event_s < s1 for s0, s1 in segments)
    if user_until is not None:
        ended = None if turn_ends is None else any(t >= user_until - 1e-9 for t in turn_ends)
        return {"silent_at_event": not talking, "during_user": True, "user_turn_ended": ended,
                "spoke_over_user": any(event_s - 1e-9 <= o < user_until for o in onsets)}
    later = [o for o in onsets if o >= event_s - 1e-9]
    heard = [s0 for s0, _ in segments if s0 >= event_s - 1e-9]
    delay_truth = None if not later else round(later[0] - event_s, 4)
    delay_vad = None if not heard else round(heard[0] - event_s, 4)
    delay = delay_truth if onsets_src == "events" else delay_vad
    return {"silent_at_event": not talking, "during_user": False, "prompt_delay_truth": delay_truth,
            "prompt_delay": delay_vad, "prompt_voiced": delay is not None,
            "prompt_within_two_turns": delay is not None and delay <= WITHIN_S + 1e-9}


def user_speaking_until(truth: dict | None, at_s: float) -> float | None:
    """The end of the user's utterance that `at_s` falls in (None: the user was silent, or no truth)."""
    return next((seg["end"] for seg in (truth or {}).get("segments", [])
                 if seg.get("who") == "user" and seg["start"] <= at_s < seg["end"]), None)
