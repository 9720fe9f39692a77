"""Prometheus metrics for the runtime, in one registry that `GET /metrics` serves.

The engine and the WebRTC layer update these directly (`metrics.TICK_LATENESS.observe(0.003)`);
no other module defines metrics of its own, so the full list lives here:

| name                                   | kind      | who updates it                     |
|----------------------------------------|-----------|------------------------------------|
| microturn_live_sessions                | gauge     | rtc/ (peer joined / released)       |
| microturn_sessions_total               | counter   | rtc/ (every accepted join)          |
| microturn_join_failures_total{reason}  | counter   | server (bad token, bad SDP, ...)    |
| microturn_step_seconds                 | histogram | engine: one batched policy step     |
| microturn_step_batch_size              | histogram | engine: sessions in that step       |
| microturn_tick_lateness_seconds        | histogram | engine: tick start minus its due time |
| microturn_audio_underruns_total        | counter   | rtc/: 20 ms frame sent late (>1 frame behind the wall clock) |
| microturn_datachannel_errors_total{code} | counter | rtc/: inbound message refused      |
| microturn_video_frames_total           | counter   | rtc/: inbound video frames handed to sessions |
| microturn_turn_words_seconds           | histogram | engine/listener: one turn-end word check |
| microturn_turn_words_total{verdict}    | counter   | engine/listener: its verdicts (whole, not_whole, failed) |

The engine's own running figures (`Engine.stats`) are also copied into gauges at every scrape
by `sync_engine_stats` (microturn_engine_ticks, microturn_engine_last_step_seconds,
microturn_engine_last_tick_lateness_seconds, microturn_engine_policy_errors), so /metrics shows
them even where the engine does not observe the histograms above itself.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

_STEP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0)

LIVE_SESSIONS = Gauge("microturn_live_sessions", "Sessions with a live peer", registry=REGISTRY)
SESSIONS_TOTAL = Counter("microturn_sessions", "Sessions accepted since start", registry=REGISTRY)
JOIN_FAILURES = Counter(
    "microturn_join_failures", "Join requests refused, by reason", ["reason"], registry=REGISTRY
)
STEP_SECONDS = Histogram(
    "microturn_step_seconds", "Time of one batched micro-turn policy step", buckets=_STEP_BUCKETS,
    registry=REGISTRY,
)
STEP_BATCH_SIZE = Histogram(
    "microturn_step_batch_size", "Live sessions in one batched step", buckets=(1, 2, 4, 8, 16, 32, 64),
    registry=REGISTRY,
)
TICK_LATENESS = Histogram(
    "microturn_tick_lateness_seconds", "How late a micro-turn tick started after its due time",
    buckets=_STEP_BUCKETS, registry=REGISTRY,
)
AUDIO_UNDERRUNS = Counter(
    "microturn_audio_underruns", "Outgoing 20 ms audio frames produced later than their due time",
    registry=REGISTRY,
)
DATACHANNEL_ERRORS = Counter(
    "microturn_datachannel_errors", "Inbound data-channel messages refused, by code", ["code"],
    registry=REGISTRY,
)

VIDEO_FRAMES = Counter(
    "microturn_video_frames", "Inbound video frames handed to sessions (at most one per micro-turn)",
    registry=REGISTRY,
)

# The turn-end word check (speech/grammar_fit.py) runs when a user pauses and the answer can wait
# on it: its time is latency the live path pays and the virtual-clock evaluation does not see.
TURN_WORDS_SECONDS = Histogram(
    "microturn_turn_words_seconds", "Time of one turn-end word check (a pause's words, decoded twice)",
    buckets=_STEP_BUCKETS, registry=REGISTRY,
)
TURN_WORDS = Counter(
    "microturn_turn_words", "Turn-end word check verdicts", ["verdict"], registry=REGISTRY,
)

ENGINE_TICKS = Gauge("microturn_engine_ticks", "Micro-turn ticks run by the engine", registry=REGISTRY)
ENGINE_LAST_STEP = Gauge("microturn_engine_last_step_seconds", "Wall time of the last batched step",
                         registry=REGISTRY)
ENGINE_LAST_LATENESS = Gauge("microturn_engine_last_tick_lateness_seconds", "Lateness of the last tick",
                             registry=REGISTRY)
ENGINE_POLICY_ERRORS = Gauge("microturn_engine_policy_errors", "Policy steps that raised", registry=REGISTRY)


def sync_engine_stats(stats) -> None:
    """Copy an engine's running figures (an `EngineStats`-like object) into the gauges."""
    ENGINE_TICKS.set(getattr(stats, "ticks", 0))
    ENGINE_LAST_STEP.set(getattr(stats, "last_step_ms", 0.0) / 1000)
    ENGINE_LAST_LATENESS.set(getattr(stats, "last_tick_lateness_ms", 0.0) / 1000)
    ENGINE_POLICY_ERRORS.set(getattr(stats, "policy_errors", 0))


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def render() -> bytes:
    """The exposition text for `GET /metrics`."""
    return generate_latest(REGISTRY)
