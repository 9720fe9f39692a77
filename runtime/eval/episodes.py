"""Open-loop event metrics on held-out generator episodes (`microturn eval episodes`).

The FD-bench-style items of `eval run` cannot see four of issue 6's targets: agent turns
without a false yield, false starts per minute, backchannels per minute in monologues, and
visual/timer prompts voiced within two micro-turns. The generator's episodes can: every
episode of a `microturn train data --split eval` set (voices and templates training never
used) comes with its timeline. Each episode is streamed through the model micro-turn by
micro-turn exactly as a live session steps it (`StreamingSessions`, bounded KV window), the
floor probabilities become actions with the checkpoint's `DecisionOptions`, and the actions are
scored against the timeline.

Open loop: the input is the recorded episode, in which the agent acts where the labels say it
does (the agent's speech and its echo are in the microphone signal, the agent-speaking flag
set), whatever the model decides. So each metric looks only at the model's *first* move at
each opportunity (a yield while the agent talks, a start while the user holds the floor, a
backchannel in a monologue pause, speaking up after a prompt); what would have followed that
move live is not simulated. The hard fallbacks and the engine's between-tick watch are not
applied: this measures the model's own decisions at micro-turn resolution. The near-field gate
on yields (`DecisionOptions.yield_near_field_db`) is: the fallback heuristic's VAD and user
level run over the episode's microphone signal as live, and a YIELD it calls far-field counts
as CONTINUE; so is the noisy-room yield threshold (`DecisionOptions.noisy_yield_threshold`),
from the same heuristic's estimate of the user's level over the noise floor.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from microturn.runtime.eval.metrics import median_of
from microturn.runtime.train.timeline import MICRO_TURN_MS, Timeline

LISTEN, BACKCHANNEL, SPEAK, CONTINUE, YIELD, INTERJECT = range(6)  # FLOOR_ACTIONS order
# A start this close (in micro-turns) before the labels' own SPEAK is answering a turn a little
# early, not a false start: the labels start SPEAK 200 ms after the end of the turn.
EARLY_GRACE_TURNS = 2
PROMPT_WITHIN_MS = 2 * MICRO_TURN_MS  # "voiced within two micro-turns"
CAUSE_WINDOW_MS = 1000  # what the microphone held in the second before a false yield is its likely cause


@dataclass
class EpisodeMetrics:
    episodes: int
    minutes: float
    agent_turns: int                 # agent turns that nobody interrupted
    false_yield_turns: int           # ... in which the model yielded anyway
    no_false_yield_rate: float | None
    false_starts: int                # runs of SPEAK while the user holds the floor or nobody should talk
    false_starts_per_min: float
    false_starts_in_pauses: int      # ... of them inside a user's mid-turn pause
    monologues: int
    monologue_minutes: float
    monologue_backchannels: int      # runs of BACKCHANNEL decisions inside monologues
    monologue_bc_per_min: float | None
    monologue_turn_takes: int        # runs of SPEAK inside monologues (before their end)
    prompts: int
    prompts_within_two_turns: int
    prompt_within_two_turns_rate: float | None
    prompt_latency_ms_median: float | None
    turn_ends: int                   # user turns the agent answers
    turn_ends_taken_on_time: int     # SPEAK decided before the recorded agent starts
    turn_end_latency_ms_median: float | None  # end of turn -> first SPEAK decision, taken ones
    interruptions: int = 0           # user turns that start while the agent talks
    interruptions_yielded_on_time: int = 0  # YIELD decided before the recorded agent stops
    interruption_yield_latency_ms_median: float | None = None  # onset -> first YIELD, yielded ones
    # the false yields by what was heard just before them (`false_yield_cause`)
    false_yield_causes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stream_probabilities(model, data, episodes: list[int], seed: int = 0) -> list[np.ndarray]:
    """Floor probabilities [n_turns, 6] for each episode of `data` (a TrainingSet), stepping
    all of them together through one `StreamingSessions`, one micro-turn at a time."""
    from microturn.runtime.model.streaming import StreamingSessions

    torch.manual_seed(seed)  # the whiteboard pictures carry a little noise, as in training
    streams = StreamingSessions(model, initial_slots=max(1, len(episodes)))
    bounds = [data.bounds[e] for e in episodes]
    ids = [f"episode-{e}" for e in episodes]
    for sid in ids:
        streams.open(sid)
    out = [np.zeros((hi - lo, 6), np.float32) for lo, hi in bounds]
    longest = max(hi - lo for lo, hi in bounds)
    for k in range(longest):
        live = [i for i, (lo, hi) in enumerate(bounds) if lo + k < hi]
        idx = np.array([[bounds[i][0] + k] for i in live])
        batch = data.turns(idx, np.array([bounds[i][0] for i in live]))
        floor, _ = streams.step([ids[i] for i in live], batch.inputs)
        probs = torch.softmax(floor.float(), dim=-1).numpy()
        for row, i in enumerate(live):
            out[i][k] = probs[row]
        for i, (lo, hi) in enumerate(bounds):
            if lo + k + 1 == hi:
                streams.close(ids[i])
    return out


@dataclass
class GateTrace:
    """What the live policy's fallback heuristic says at each micro-turn of one episode."""

    near: np.ndarray         # near-field speech (True, False or None = cannot tell), for the yield gate
    going_on_ms: np.ndarray  # how long near-field speech has gone on at the tick (0: not going on), for holds
    silence_ms: np.ndarray | None = None  # how long the microphone has been silent, for `hold_words`
    audio: np.ndarray | None = None      # the microphone (int16), for the word check of `hold_words`
    near_ms: np.ndarray | None = None    # of `going_on_ms`, the user's share (`near_speech_ms`), for commits
    snr_db: np.ndarray | None = None     # the user's level over the noise floor (NaN: unknown), for the yield threshold
    _words: dict = field(default_factory=dict, repr=False)

    def command_check(self, k: int, check) -> Callable[[float], bool] | None:
        """`hold_through`'s word check at micro-turn k: `check` (a CommandCheck) over the
        microphone's last `window_ms` up to the tick (remembered: `score` runs it per setting)."""
        from microturn.runtime.engine.policy import SAMPLES_PER_TURN
        from microturn.runtime.model.hold import window_samples

        if self.audio is None or check is None:
            return None

        def is_command(window_ms: float) -> bool:
            key = (k, int(window_ms))
            if key not in self._words:
                end = (k + 1) * SAMPLES_PER_TURN
                start = max(0, end - window_samples(window_ms))
                self._words[key] = check.is_command(self.audio[start:end].astype(np.float32) / 32768.0)
            return self._words[key]

        return is_command


def decide(probs: np.ndarray, agent_speaking: np.ndarray, decisions, gate: GateTrace | None = None,
           command_check=None) -> np.ndarray:
    """The action index at each micro-turn, by the live policy's own rule (`decide_floor`, and
    with `gate`, its near-field gate on yields and, with `hold_speech_ms`, its hold rules:
    `model/hold.py`, with `command_check` for `hold_words`); no interjection is ever pending
    in generated data; prompts are answered with SPEAK. A hold is a CONTINUE here: the agent
    keeps the floor."""
    from microturn.runtime.model.config import FLOOR_ACTIONS
    from microturn.runtime.model.hold import HoldState, hold_or_commit, hold_through
    from microturn.runtime.model.policy import decide_floor, far_field_continues

    out = np.empty(len(probs), dtype=np.int64)
    yield_index = FLOOR_ACTIONS.index("YIELD")
    hold = HoldState()
    for k, (p, s) in enumerate(zip(probs, agent_speaking)):
        snr = None if gate is None or gate.snr_db is None or np.isnan(gate.snr_db[k]) else float(gate.snr_db[k])
        d = decide_floor(p.tolist(), bool(s), False, decisions, snr)
        if gate is not None:
            if decisions.yield_near_field_db is not None:
                d = far_field_continues(d, gate.near[k])
            if not s:
                hold = HoldState()
            elif decisions.holds:
                run_ms = float(gate.going_on_ms[k])
                near_ms = float(gate.near_ms[k]) if gate.near_ms is not None else None
                d = hold_or_commit(d, run_ms, decisions, p_yield=float(p[yield_index]), near_ms=near_ms)
                silence_ms = float(gate.silence_ms[k]) if gate.silence_ms is not None else None
                d = hold_through(d, run_ms, decisions, hold, gate.command_check(k, command_check), silence_ms,
                                 p_yield=float(p[yield_index]))
        out[k] = FLOOR_ACTIONS.index(d.action.value)
    return out


def near_field_per_turn(audio_int16: np.ndarray, agent_speaking: np.ndarray, decisions) -> GateTrace:
    """The fallback heuristic of `decisions`, fed the episode's microphone signal micro-turn
    by micro-turn, as live: its near-field verdict and how long near-field speech has gone on."""
    from microturn.runtime.engine.policy import SAMPLES_PER_TURN, TurnInput
    from microturn.runtime.model.policy import fallback_policy

    gate = fallback_policy(decisions)
    gate.open("episode")
    near = np.empty(len(agent_speaking), dtype=object)
    going_on = np.zeros(len(agent_speaking), dtype=np.float32)
    silence = np.zeros(len(agent_speaking), dtype=np.float32)
    near_ms = np.zeros(len(agent_speaking), dtype=np.float32)
    snr_db = np.full(len(agent_speaking), np.nan, dtype=np.float32)
    for k, speaking in enumerate(agent_speaking):
        chunk = audio_int16[k * SAMPLES_PER_TURN:(k + 1) * SAMPLES_PER_TURN].astype(np.float32) / 32768.0
        gate.step([TurnInput("episode", (k + 1) * MICRO_TURN_MS, chunk, agent_speaking=bool(speaking))])
        near[k] = gate.speech_near_field("episode", decisions.yield_near_field_db)
        going_on[k] = gate.speech_going_on("episode", decisions.hold_gap_ms, decisions.hold_margin_db)
        silence[k] = gate.silence_ms("episode")
        near_ms[k] = gate.near_speech_ms("episode", decisions.hold_gap_ms, decisions.hold_margin_db)
        snr = gate.speech_to_noise_db("episode")
        snr_db[k] = np.nan if snr is None else snr
    return GateTrace(near, going_on, silence, audio_int16 if decisions.hold_words else None, near_ms=near_ms,
                     snr_db=snr_db)


def _runs(mask: np.ndarray) -> np.ndarray:
    """Indices where a run of True starts."""
    prev = np.concatenate([[False], mask[:-1]])
    return np.flatnonzero(mask & ~prev)


def _ticks_in(lo_ms: int, hi_ms: int, n: int) -> slice:
    """Micro-turns whose decision time (k + 1) * 200 lies in (lo_ms, hi_ms]."""
    return slice(max(0, lo_ms // MICRO_TURN_MS), min(n, hi_ms // MICRO_TURN_MS))


def score_episode(tl: Timeline, actions: np.ndarray, labels: np.ndarray, agent_speaking: np.ndarray) -> dict:
    n = len(actions)
    speak = actions == SPEAK
    r: dict[str, Any] = {"minutes": n * MICRO_TURN_MS / 60000}

    # false yields: agent turns with no user turn starting inside them
    starts = [u.start for u in tl.user_turns]
    clean = [a for a in tl.agent_turns() if not any(a.start <= s < a.end for s in starts)]
    first_yields = []  # the micro-turn of each clean turn's first YIELD over the agent
    for a in clean:
        window = _ticks_in(a.start, a.end, n)
        hits = np.flatnonzero((actions[window] == YIELD) & agent_speaking[window])
        if len(hits):
            first_yields.append(window.start + int(hits[0]))
    r["agent_turns"], r["false_yield_turns"] = len(clean), len(first_yields)
    r["false_yield_causes"] = [false_yield_cause(tl, (k + 1) * MICRO_TURN_MS) for k in first_yields]

    # false starts: SPEAK while the agent is silent and the labels say listen, not just early
    take_label = (labels == SPEAK) & ~agent_speaking
    soon = np.zeros(n, bool)
    for d in range(1, EARLY_GRACE_TURNS + 1):
        soon[:-d] |= take_label[d:]
    wrong = speak & ~agent_speaking & np.isin(labels, (LISTEN, BACKCHANNEL)) & ~soon
    runs = _runs(wrong)
    in_pause = np.zeros(n, bool)
    for u in tl.user_turns:
        for lo, hi in u.pauses():
            in_pause[_ticks_in(lo, hi, n)] = True
    r["false_starts"], r["false_starts_in_pauses"] = len(runs), int(in_pause[runs].sum())

    # monologues: long user turns with backchannel slots
    mono = [u for u in tl.user_turns if len(u.spans) >= 4]
    r["monologues"] = len(mono)
    r["monologue_minutes"] = sum(u.end - u.start for u in mono) / 60000
    bc = mono_take = 0
    for u in mono:
        window = _ticks_in(u.start, u.end, n)
        bc += len(_runs((actions[window] == BACKCHANNEL)))
        mono_take += len(_runs(speak[window] & ~agent_speaking[window]))
    r["monologue_backchannels"], r["monologue_turn_takes"] = bc, mono_take

    # prompts: first SPEAK at or after the first decision after the event
    lat = []
    for e in [*tl.visual_events, *tl.timers]:
        k0 = e // MICRO_TURN_MS  # decision time (k0 + 1) * 200 > e
        hits = np.flatnonzero(speak[k0:])
        lat.append(None if len(hits) == 0 else (k0 + int(hits[0]) + 1) * MICRO_TURN_MS - e)
    r["prompt_latencies_ms"] = lat

    # turn ends the agent answers (not interruptions): decided before the recorded answer?
    ends = []
    for u in tl.user_turns:
        answer = next((a.start for a in tl.agent_turns() if a.start >= u.end), None)
        if answer is None or any(a.start <= u.start < a.end for a in tl.agent_turns()):
            continue
        window = _ticks_in(u.end, answer, n)
        hits = np.flatnonzero(speak[window] & ~agent_speaking[window])
        ends.append(None if len(hits) == 0 else (window.start + int(hits[0]) + 1) * MICRO_TURN_MS - u.end)
    r["turn_end_latencies_ms"] = ends

    # interruptions: a user turn that starts while the agent talks; yielded before the recorded
    # agent stops (open loop: it stops where the labels say, whatever the model decides)?
    yields = []
    for u in tl.user_turns:
        over = next((a for a in tl.agent_turns() if a.start <= u.start < a.end), None)
        if over is None:
            continue
        window = _ticks_in(u.start, over.end, n)
        hits = np.flatnonzero((actions[window] == YIELD) & agent_speaking[window])
        yields.append(None if len(hits) == 0 else (window.start + int(hits[0]) + 1) * MICRO_TURN_MS - u.start)
    r["interruption_yield_latencies_ms"] = yields
    return r


def false_yield_cause(tl: Timeline, decided_ms: int) -> str:
    """What the microphone held in the `CAUSE_WINDOW_MS` before a false yield decided at
    `decided_ms`: the user's own backchannel, the user still talking, another talker (the
    generator's kinds: side_near, side_far, tv, background), else "none" (the agent's echo,
    noise). The first that applies, in that order."""
    lo = decided_ms - CAUSE_WINDOW_MS
    if any(b.overlaps(lo, decided_ms) for b in tl.user_backchannels):
        return "user_backchannel"
    if any(s < decided_ms and lo < e for u in tl.user_turns for s, e in u.spans):
        return "user_speech"
    return next((o.kind for o in tl.others if o.overlaps(lo, decided_ms)), "none")


def aggregate(per_episode: list[dict]) -> EpisodeMetrics:
    total = lambda key: sum(e[key] for e in per_episode)  # noqa: E731
    minutes, mono_minutes = total("minutes"), total("monologue_minutes")
    prompts = [x for e in per_episode for x in e["prompt_latencies_ms"]]
    ends = [x for e in per_episode for x in e["turn_end_latencies_ms"]]
    yields = [x for e in per_episode for x in e.get("interruption_yield_latencies_ms", [])]
    within = sum(1 for x in prompts if x is not None and x <= PROMPT_WITHIN_MS)
    turns = total("agent_turns")
    return EpisodeMetrics(
        episodes=len(per_episode), minutes=round(minutes, 2),
        agent_turns=turns, false_yield_turns=total("false_yield_turns"),
        no_false_yield_rate=round(1 - total("false_yield_turns") / turns, 4) if turns else None,
        false_starts=total("false_starts"),
        false_starts_per_min=round(total("false_starts") / minutes, 3) if minutes else 0.0,
        false_starts_in_pauses=total("false_starts_in_pauses"),
        monologues=total("monologues"), monologue_minutes=round(mono_minutes, 2),
        monologue_backchannels=total("monologue_backchannels"),
        monologue_bc_per_min=round(total("monologue_backchannels") / mono_minutes, 3) if mono_minutes else None,
        monologue_turn_takes=total("monologue_turn_takes"),
        prompts=len(prompts), prompts_within_two_turns=within,
        prompt_within_two_turns_rate=round(within / len(prompts), 4) if prompts else None,
        prompt_latency_ms_median=median_of(prompts, 1),
        turn_ends=len(ends), turn_ends_taken_on_time=sum(1 for x in ends if x is not None),
        turn_end_latency_ms_median=median_of(ends, 1),
        interruptions=len(yields), interruptions_yielded_on_time=sum(1 for x in yields if x is not None),
        interruption_yield_latency_ms_median=median_of(yields, 1),
        false_yield_causes=dict(sorted(Counter(c for e in per_episode for c in e.get("false_yield_causes", [])).items())),
    )


# How results move with the conditions (issue 6, item 5): episodes grouped by one factor at a
# time, from the generator's metadata. (factor, bucket edges or None for categories)
FACTORS: dict[str, tuple[float, ...] | None] = {
    "accent": None,               # the user's eSpeak voice language
    "user_rate_wpm": (160, 185),
    "snr_db": (25, 40),
    "user_rt60_s": (0.3, 0.6),
    "echo_db": (-35, -25),        # the agent's own voice, back in the microphone
    "opus_kbps": (20,),           # the Opus round trip (None: PCM; older data sets have none)
}
BREAKDOWN_METRICS = ("no_false_yield_rate", "false_starts_per_min", "monologue_bc_per_min",
                     "turn_ends", "turn_ends_taken_on_time", "turn_end_latency_ms_median")


def conditions(meta: dict) -> dict[str, Any]:
    """The factors of one episode, from its metadata in the shard's JSON."""
    ac = meta.get("acoustics", {})
    return {"accent": meta["voices"]["user"].split("+")[0], "user_rate_wpm": meta["rates"]["user"],
            "snr_db": ac.get("snr_db"), "user_rt60_s": ac.get("user_rt60"), "echo_db": ac.get("echo_db"),
            "opus_kbps": ac.get("opus_kbps")}


def _bucket(value, edges) -> str:
    if edges is None or value is None:
        return str(value)
    if value < edges[0]:
        return f"< {edges[0]:g}"
    for lo, hi in zip(edges, edges[1:]):
        if value < hi:
            return f"{lo:g}..{hi:g}"
    return f">= {edges[-1]:g}"


def breakdown(rows: list[dict]) -> dict[str, dict[str, dict[str, Any]]]:
    """factor -> bucket -> {episodes, minutes, the BREAKDOWN_METRICS}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for factor, edges in FACTORS.items():
        groups: dict[str, list[dict]] = {}
        for r in rows:
            groups.setdefault(_bucket(r["conditions"][factor], edges), []).append(r)
        out[factor] = {}
        for name in sorted(groups):
            m = aggregate(groups[name]).to_dict()
            out[factor][name] = {"episodes": m["episodes"], "minutes": m["minutes"],
                                 **{k: m[k] for k in BREAKDOWN_METRICS}}
    return out


def episode_audio(data_dir: str | Path, manifest: dict):
    """int16 microphone audio of every episode of a `train data` set, in the data set's order."""
    from microturn.runtime.engine.policy import SAMPLES_PER_TURN

    for shard in manifest["shards"]:
        with np.load(Path(data_dir) / shard["file"]) as z:
            audio, offsets = z["audio"], z["episode_turns"]  # offsets: episode e is [o[e], o[e+1])
        for a, b in zip(offsets[:-1], offsets[1:]):
            yield audio[int(a) * SAMPLES_PER_TURN: int(b) * SAMPLES_PER_TURN]


class StreamedEpisodes:
    """A data set's episodes streamed once through a checkpoint: the floor probabilities do not
    depend on the thresholds, so `score` can try many `DecisionOptions` for the cost of one pass
    (what `eval tune --episodes` does)."""

    def __init__(self, data_dir: str | Path, checkpoint: str, max_episodes: int | None = None,
                 progress: bool = True):
        from microturn.runtime.model.checkpoint import load_model
        from microturn.runtime.train.batches import TrainingSet

        self.data_dir, self.checkpoint = str(data_dir), str(checkpoint)
        model = load_model(checkpoint).eval()
        self.data = TrainingSet(data_dir, model.config, progress=progress)
        timelines, metas = [], []
        for shard in self.data.manifest["shards"]:
            meta = json.loads((Path(data_dir) / shard["file"]).with_suffix(".json").read_text())
            timelines += [Timeline.from_dict(e["timeline"]) for e in meta["episodes"]]
            metas += meta["episodes"]
        if len(timelines) != len(self.data.bounds):
            raise ValueError(f"{data_dir}: {len(timelines)} timelines for {len(self.data.bounds)} episodes")
        self.chosen = list(range(len(timelines)))[: max_episodes or None]
        self.timelines, self.metas = timelines, metas
        self.probs = stream_probabilities(model, self.data, self.chosen)
        self.separability = self._separability()
        self._near: dict[tuple, list[GateTrace]] = {}
        self._check = None

    def _speaking(self, e: int) -> np.ndarray:
        lo, hi = self.data.bounds[e]
        return self.data.flags[lo:hi, 0] > 0

    def _separability(self) -> dict[str, Any]:
        """Threshold-free: how far apart the probabilities are where the labels first act."""
        from microturn.runtime.eval.separability import separability

        # the data set's own label timing (its manifest), else the generator's defaults
        labels = self.data.manifest.get("options", {}).get("labels", {})
        timing = {k: int(labels[k]) for k in ("speak_delay_ms", "yield_delay_ms") if k in labels}
        return separability([self.timelines[e] for e in self.chosen], self.probs,
                            [self._speaking(e) for e in self.chosen], **timing)

    def near_field(self, decisions) -> list[np.ndarray]:
        """The near-field gate's verdict per micro-turn of each chosen episode."""
        return [trace.near for trace in self.gate_traces(decisions)]

    def gate_traces(self, decisions) -> list[GateTrace]:
        """The fallback heuristic's view of each chosen episode (computed once for each gate
        setting: it runs the VAD over the whole data set)."""
        from microturn.runtime.engine.policy import SAMPLES_PER_TURN

        key = (decisions.yield_near_field_db, decisions.fallback_near_field_db, decisions.fallback_yield_gap_ms,
               decisions.voice_semitones, decisions.voice_timbre, decisions.voice_joint, decisions.hold_gap_ms,
               decisions.hold_words)
        if key not in self._near:
            chosen = set(self.chosen)
            gates = []
            for e, audio in enumerate(episode_audio(self.data_dir, self.data.manifest)):
                lo, hi = self.data.bounds[e]
                if len(audio) != (hi - lo) * SAMPLES_PER_TURN:
                    raise ValueError(f"{self.data_dir}: episode {e} has {len(audio)} samples for {hi - lo} micro-turns")
                if e in chosen:
                    gates.append(near_field_per_turn(audio, self._speaking(e), decisions))
            self._near[key] = gates
        return self._near[key]

    def _command_check(self):
        """The live policy's default `CommandCheck`, made once (a decoder takes ~0.3 s)."""
        if self._check is None:
            from microturn.runtime.speech.commands import GrammarCommands

            self._check = GrammarCommands()
        return self._check

    def score(self, decisions) -> dict[str, Any]:
        rows = []
        gated = decisions.yield_near_field_db is not None or decisions.holds or decisions.noisy_yield_threshold is not None
        gates = self.gate_traces(decisions) if gated else [None] * len(self.chosen)
        check = self._command_check() if decisions.hold_words and decisions.holds else None
        for e, p, gate in zip(self.chosen, self.probs, gates):
            lo, hi = self.data.bounds[e]
            speaking = self._speaking(e)
            actions = decide(p, speaking, decisions, gate, check)
            row = score_episode(self.timelines[e], actions, self.data.labels[lo:hi], speaking)
            rows.append({**row, "conditions": conditions(self.metas[e])})
        return {"data": self.data_dir, "checkpoint": self.checkpoint, "decisions": asdict(decisions),
                "summary": {"episodes": aggregate(rows).to_dict()}, "separability": self.separability,
                "breakdown": breakdown(rows),
                "per_episode": rows}


def evaluate_episodes(data_dir: str | Path, checkpoint: str, decisions=None, max_episodes: int | None = None,
                      progress: bool = True) -> dict[str, Any]:
    """Stream every episode of `data_dir` through the checkpoint; metrics and per-episode rows."""
    from microturn.runtime.model.policy import decision_options

    decisions = decisions or decision_options(checkpoint, {})
    return StreamedEpisodes(data_dir, checkpoint, max_episodes, progress).score(decisions)
