"""Score one item's `output.wav` against its input, then aggregate per task.

Two views of every timing, side by side:
- *official*: what FD-bench's formulas give from detected timings (pocketsphinx words, Silero
  segments) and the official json timestamps; this is what a user with the real data gets;
- *truth-anchored*: the user's boundaries as constructed (`truth.json`), and the agent's onsets
  from the engine's own events when the run recorded them (`events.jsonl`), else from the VAD.
`detector_error` is official minus truth-anchored: it says how much of a latency is the detector.

Judge metrics (v1 relevance, v1.5 behaviour classes) have *proxies* here, named as such:
`keyword_proxy` (the reply contains the asked-for answer) and `behaviour_proxy` (timing-only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from microturn.runtime.eval import metrics as m
from microturn.runtime.eval.layout import Item
from microturn.runtime.eval.prompts import KIND_TASKS, score_prompt, user_speaking_until

SR = 16_000


def load_audio(path: Path) -> np.ndarray:
    """A WAV as 16 kHz mono float32 (resampled when needed)."""
    from microturn.runtime.speech.resample import resample
    from microturn.runtime.speech.wav import read_wav

    audio, sr = read_wav(path)
    return resample(audio, sr, SR) if sr != SR else audio


def load_events(folder: Path) -> list[dict] | None:
    path = folder / "events.jsonl"
    if not path.is_file():
        return None
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def agent_onsets_from_events(events: list[dict]) -> list[float]:
    """When the agent started a turn: its speech and delivered interjections. Not its own
    backchannels: an "mm-hm" in the user's pause is not taking the turn (FD-bench's take-over rule
    also passes output under 1 s and 3 words), nor is it the answer a latency is timed to."""
    names = ("agent.speech.started", "interjection.delivered")
    return sorted(e["media_ms"] / 1000.0 for e in events if e.get("type") in names)


def agent_text_from_events(events: list[dict], after_s: float) -> str:
    """What the agent started saying at or after `after_s` (engine's own text, not ASR)."""
    parts = [e.get("text", "") for e in events
             if e.get("type") in ("agent.speech.started", "interjection.delivered") and e["media_ms"] / 1000 >= after_s]
    return " ".join(parts)


def _first_after(onsets: list[float], t: float) -> float | None:
    later = [o for o in onsets if o >= t - 1e-9]
    return later[0] if later else None


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 4)


def score_item(item: Item, output: np.ndarray, detector, input_audio: np.ndarray | None = None,
               events: list[dict] | None = None) -> dict[str, Any]:
    """All metrics for one item. `output` is 16 kHz mono aligned with the input."""
    duration = len(output) / SR
    segments = detector.segments(output)
    words = detector.words(output)
    truth = item.truth or {}
    res: dict[str, Any] = {"item": item.name, "task": item.task, "path": str(item.path), "duration_s": round(duration, 3),
                           "output_segments": segments, "output_words": [list(w) for w in words],
                           "output_text": " ".join(w[0] for w in words)}
    onsets_src = "events" if events is not None else "vad"
    onsets = agent_onsets_from_events(events) if events is not None else [s[0] for s in segments]
    res["agent_onsets_source"] = onsets_src
    truth_event = truth.get("event")
    keyword = truth.get("keyword")

    if item.task == "v1/pause_handling":
        res["take_over"] = m.take_over(words)
        # truth-anchored: did the agent start speaking before the user's turn really ended?
        user_end = max((seg["end"] for seg in truth.get("segments", []) if seg["who"] == "user"), default=duration)
        res["take_over_truth"] = int(any(o < user_end for o in onsets))
        res["pause_s"] = truth.get("pause_s")
    elif item.task == "v1/smooth_turn_taking":
        t0 = item.event[0]
        res["take_over"] = m.take_over(words)
        res["latency"] = m.onset_latency(words, t0)
        t_truth = truth_event[0] if truth_event else t0
        onset = _first_after(onsets, t_truth) if onsets_src == "events" else (segments[0][0] if segments else None)
        res["latency_truth"] = None if onset is None else round(max(0.0, onset - t_truth), 4)
        res["detector_error"] = _sub(res["latency"], res["latency_truth"])
        if keyword:
            text = agent_text_from_events(events, 0.0) if events is not None else res["output_text"]
            res["keyword_proxy"] = int(m.contains_keyword(text, keyword))
    elif item.task == "v1/user_interruption":
        i0, i1 = item.event
        after = m.words_after(words, i1)
        res["take_over"] = m.take_over(after)
        res["latency"] = m.onset_latency(after, i1)
        t0, t1 = truth_event if truth_event else (i0, i1)
        res.update(_overlap_views(segments, (t0, t1), onsets, events))
        # the official latency's counterpart: audio still playing at the end of the interruption
        # counts as 0, else the next onset (engine events / VAD)
        still = any(s0 <= t1 < s1 for s0, s1 in segments)
        onset = t1 if still else _first_after(onsets, t1)
        res["latency_truth"] = None if onset is None else round(max(0.0, onset - t1), 4)
        res["detector_error"] = _sub(res["latency"], res["latency_truth"])
        if keyword:
            text = agent_text_from_events(events, t0) if events is not None else " ".join(w[0] for w in after)
            res["keyword_proxy"] = int(m.contains_keyword(text, keyword))
    elif item.task == "v1/backchannel":
        bc = m.backchannel_score(segments, words, duration)
        res.update(take_over=bc.take_over, backchannels=bc.backchannels, backchannel_freq=round(bc.frequency, 4))
    elif item.task in KIND_TASKS.values():
        turn_ends = None if events is None else [e["media_ms"] / 1000 for e in events
                                                 if e.get("type") == "user.turn.ended"]
        res.update(score_prompt(item.event[0], segments, onsets, onsets_src,
                                user_until=user_speaking_until(item.truth, item.event[0]), turn_ends=turn_ends))
    elif item.task == "live/session":
        res.update(_live_session(detector, segments, input_audio if input_audio is not None else load_audio(item.input_wav)))
    else:  # v1.5
        if input_audio is None:
            input_audio = load_audio(item.input_wav)
        user = m.merge_segments(detector.segments(input_audio), m.USER_MERGE_GAP_S)
        model = m.merge_segments(segments, m.MODEL_MERGE_GAP_S)
        event = tuple(item.event) if item.event else (truth_event or (0.0, 0.0))
        user_seg = m.pick_user_segment(user, event)
        res["user_segment_vad"] = user_seg
        res["vad_missed_event"] = user_seg is None
        if user_seg is not None:
            t = m.overlap_timing(model, user_seg)
            res.update(talking_at_onset=t.talking_at_onset, stop_latency=_r(t.stop_latency),
                       response_latency=_r(t.response_latency),
                       behaviour_proxy=m.behaviour_proxy(t, model, user_seg))
        if truth_event:
            res.update(_overlap_views(segments, tuple(truth_event), onsets, events))
            if user_seg is not None:
                res["vad_onset_error"] = round(user_seg[0] - truth_event[0], 4)
                res["vad_offset_error"] = round(user_seg[1] - truth_event[1], 4)
            res["detector_error"] = _sub(res.get("stop_latency"), res.get("stop_latency_truth"))
        if keyword:
            text = agent_text_from_events(events, event[0]) if events is not None else \
                " ".join(w[0] for w in m.words_after(words, event[0]))
            res["keyword_proxy"] = int(m.contains_keyword(text, keyword))
    return res


def _live_session(detector, segments, input_audio) -> dict[str, Any]:
    """A recorded conversation has no marked event: time every user segment instead."""
    user = m.merge_segments(detector.segments(input_audio), m.USER_MERGE_GAP_S)
    model = m.merge_segments(segments, m.MODEL_MERGE_GAP_S)
    timings = [m.overlap_timing(model, seg) for seg in user]
    return {"user_segments": user, "turns": len(user),
            "response_latencies": [_r(t.response_latency) for t in timings],
            "stop_latencies": [_r(t.stop_latency) for t in timings if t.talking_at_onset]}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


SHORT_PAUSE_S = 1.2  # pauses up to the answer fallback (issue 6: "answer after about 1.2 s")
YIELD_GRACE_S = 0.6   # a cut this soon after the user's segment ends still counts as yielding to it


def _overlap_views(segments, truth_span, onsets, events) -> dict[str, Any]:
    """Stop / response latency against the constructed user span. The model side comes from VAD
    segments; with engine events, the response onset comes from them, and the behaviour proxy
    tells a *yield* (the engine cut the agent) from an utterance that simply ended."""
    model = m.merge_segments(segments, m.MODEL_MERGE_GAP_S)
    t = m.overlap_timing(model, truth_span)
    response = t.response_latency
    behaviour = m.behaviour_proxy(t, model, truth_span)
    if events is not None:
        onset = _first_after(onsets, truth_span[1])
        response = None if onset is None else onset - truth_span[1]
        u0, u1 = truth_span
        yielded = any(e.get("type") == "agent.speech.interrupted" and u0 <= e["media_ms"] / 1000 <= u1 + YIELD_GRACE_S
                      for e in events)
        if t.talking_at_onset:
            behaviour = ("stop+speak" if onset is not None else "stop") if yielded else "continue"
            if behaviour == "continue" and _long_pause(events, u0, u1 + YIELD_GRACE_S):
                behaviour = "pause"  # held silent longer than FD-bench merges over, then resumed
    return {"talking_at_onset_truth": t.talking_at_onset, "stop_latency_truth": _r(t.stop_latency),
            "response_latency_truth": _r(response), "behaviour_proxy_truth": behaviour}


def _long_pause(events, t0: float, t1: float) -> bool:
    """Did a pause of the agent's voice (`agent.speech.paused` .. `resumed`, a held turn) that
    began within [t0, t1] last longer than the gap FD-bench's model segments are merged across?
    A shorter one reads as talking on, as it would to that benchmark's VAD."""
    paused_at = None
    for e in sorted(events, key=lambda e: e["media_ms"]):
        at = e["media_ms"] / 1000
        if e.get("type") == "agent.speech.paused" and t0 <= at <= t1:
            paused_at = at
        elif e.get("type") in ("agent.speech.resumed", "agent.speech.interrupted") and paused_at is not None:
            if at - paused_at > m.MODEL_MERGE_GAP_S + 1e-9:
                return True
            paused_at = None
    return paused_at is not None


# ------------------------------------------------------------------ aggregation per task

def _mean(vals) -> float | None:
    vals = [v for v in vals if v is not None]
    return round(float(np.mean(vals)), 4) if vals else None


def _rate(vals) -> float | None:
    vals = [v for v in vals if v is not None]
    return round(sum(bool(v) for v in vals) / len(vals), 4) if vals else None


def summarize(results: list[dict]) -> dict[str, dict[str, Any]]:
    """Per-task metrics, FD-bench style (latency averaged over take-overs only)."""
    by_task: dict[str, list[dict]] = {}
    for r in results:
        if "error" not in r:
            by_task.setdefault(r["task"], []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for task, rs in sorted(by_task.items()):
        s: dict[str, Any] = {"n": len(rs)}
        if task.startswith("v1/"):
            tos = [r["take_over"] for r in rs]
            s["TOR"] = _rate(tos)
        if task in ("v1/smooth_turn_taking", "v1/user_interruption"):
            tos = [r["take_over"] for r in rs]
            s["latency"] = _r(m.mean_latency_over_take_overs(tos, [r.get("latency") for r in rs]))
            lt = m.mean_latency_over_take_overs(tos, [r.get("latency_truth") for r in rs])
            s["latency_truth"] = _r(lt)
            s["latency_truth_median"] = m.median_of([r.get("latency_truth") for r, to in zip(rs, tos) if to], 4)
            s["detector_error"] = _mean([abs(r["detector_error"]) if r.get("detector_error") is not None else None for r in rs])
        if task == "v1/pause_handling":
            s["TOR_truth"] = _rate([r["take_over_truth"] for r in rs])
            # Split at the answer fallback the issue requires (answer after about 1.2 s of
            # silence): a pause longer than that is taken by design, by any conforming policy.
            timed = [r for r in rs if r.get("pause_s") is not None]
            short = [r["take_over_truth"] for r in timed if r["pause_s"] <= SHORT_PAUSE_S]
            s["n_short"] = len(short)
            s["TOR_truth_short"] = _rate(short)
            s["TOR_truth_long"] = _rate([r["take_over_truth"] for r in timed if r["pause_s"] > SHORT_PAUSE_S])
        if task == "v1/backchannel":
            s["freq"] = _mean([r["backchannel_freq"] for r in rs])
        if task == "v1/user_interruption" or task.startswith("v1.5/"):
            s["talking_at_onset"] = _rate([r.get("talking_at_onset_truth") for r in rs])
            s["stop_latency_truth"] = _mean([r.get("stop_latency_truth") for r in rs])
            s["stop_latency_truth_median"] = m.median_of([r.get("stop_latency_truth") for r in rs], 4)
        if task.startswith("v1.5/"):
            s["stop_latency"] = _mean([r.get("stop_latency") for r in rs])
            s["response_latency"] = _mean([r.get("response_latency") for r in rs])
            s["response_latency_truth"] = _mean([r.get("response_latency_truth") for r in rs])
            s["vad_missed_event"] = _rate([r.get("vad_missed_event") for r in rs])
            s["vad_onset_error"] = _mean([abs(r["vad_onset_error"]) if r.get("vad_onset_error") is not None else None for r in rs])
            kinds = [r.get("behaviour_proxy_truth") or r.get("behaviour_proxy") for r in rs]
            s["behaviour_proxy"] = {k: kinds.count(k) for k in sorted(set(k for k in kinds if k))}
            s["continue_rate_proxy"] = _rate([k == "continue" for k in kinds if k])
            s["respond_rate_proxy"] = _rate([k == "stop+speak" for k in kinds if k])
        if task in KIND_TASKS.values():
            # in silence: voiced, and how soon; during the user's speech: not over them
            s["silent_at_event"] = _rate([r["silent_at_event"] for r in rs])
            s["n_during_user"] = sum(bool(r.get("during_user")) for r in rs)
            s["prompt_voiced_rate"] = _rate([r.get("prompt_voiced") for r in rs])
            s["prompt_within_two_turns_rate"] = _rate([r.get("prompt_within_two_turns") for r in rs])
            s["spoke_over_user_rate"] = _rate([r.get("spoke_over_user") for r in rs])
            s["user_turn_ended_rate"] = _rate([r.get("user_turn_ended") for r in rs])
            s["prompt_delay_truth_median"] = m.median_of([r.get("prompt_delay_truth") for r in rs], 4)
            s["prompt_delay_median"] = m.median_of([r.get("prompt_delay") for r in rs], 4)
        if task == "live/session":
            s["turns"] = sum(r["turns"] for r in rs)
            s["response_latency"] = _mean([x for r in rs for x in r["response_latencies"]])
            s["stop_latency"] = _mean([x for r in rs for x in r["stop_latencies"]])
        if any("keyword_proxy" in r for r in rs):
            s["keyword_proxy"] = _rate([r.get("keyword_proxy") for r in rs])
        out[task] = s
    return out
