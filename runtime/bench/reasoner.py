"""`microturn bench reasoner`: the interjection round trip through a real reasoner process.

Round trip = from the engine's `link.request(...)` to `engine.offer_interjection(...)` for the
answer: the link, gRPC over loopback, the service, the backend, and back. The reasoner runs as
its own process, as in `dev`. Two loads: back to back (each of N sessions keeps one question
in flight, so N requests are always running at once: the service at saturation) and paced (each
session asks at most once per `--interval-ms`, by default once per micro-turn, which is far more
than a tutor asks).
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time

from microturn.runtime.bench.common import percentiles


def question(i: int, rng: random.Random) -> str:
    """A mix of what a tutor asks about: claims, steps, values; fresh numbers every time."""
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    return [f"{a} times {b} is {a * b + rng.choice([0, 1])}", f"{a}x+{b}={a * 3 + b} so x={rng.choice([3, 4])}",
            f"what is {a}/{b} + 1/{b}", f"x^2 = {a * a}"][i % 4]


def add_arguments(p) -> None:
    p.add_argument("--sessions", default="1,32", help="comma-separated session counts (default 1,32)")
    p.add_argument("--requests", type=int, default=60, help="requests per session per run (default 60)")
    p.add_argument("--warmup", type=int, default=5, help="requests per session before timing (default 5)")
    p.add_argument("--backend", default="local", help="reasoner backend (default local)")
    p.add_argument("--delivery-trials", type=int, default=12,
                   help="conversations for the delivery-delay part (default 12; 0: skip)")
    p.add_argument("--interval-ms", type=int, default=200,
                   help="also run the multi-session case with each session asking at most once per "
                        "interval (default 200: one question per micro-turn; 0: skip)")


class _Timer:
    """Stands where the engine stands; records when each answer arrives."""

    def __init__(self):
        self.waiting: dict[str, tuple[float, asyncio.Future]] = {}

    def offer_interjection(self, ij) -> None:
        started, fut = self.waiting.pop(ij.request_id, (None, None))
        if fut is not None and not fut.done():
            fut.set_result((time.perf_counter() - started) * 1000)

    def reasoner_failed(self, session_id, request_id, error) -> None:
        _, fut = self.waiting.pop(request_id, (None, None))
        if fut is not None and not fut.done():
            fut.set_exception(RuntimeError(error))


async def _session(link, timer: _Timer, sid: str, n: int, out: list[float], interval_s: float = 0.0) -> None:
    """Ask n questions one after another; with an interval, at most one per interval."""
    loop = asyncio.get_running_loop()
    rng = random.Random(sid)
    if interval_s:
        await asyncio.sleep(rng.uniform(0, interval_s))  # sessions do not ask in lockstep
    for i in range(n):
        rid = f"{sid}-{i}"
        fut = loop.create_future()
        started = time.perf_counter()
        timer.waiting[rid] = (started, fut)
        await link.request(sid, question(i, rng), {"request_id": rid}, i * 200)
        out.append(await fut)
        if interval_s:
            await asyncio.sleep(max(0.0, interval_s - (time.perf_counter() - started)))


async def _measure(args) -> dict:
    from microturn.runtime.reasoner.launch import ReasonerProcess
    from microturn.runtime.reasoner.link import GrpcReasonerLink

    proc = ReasonerProcess(backend=args.backend, log=subprocess.DEVNULL)
    proc.start()
    timer = _Timer()
    link = GrpcReasonerLink(proc.address, timer)
    results = {}
    try:
        await proc.wait_healthy()
        await link.start()
        await link.wait_connected()
        for n in [int(x) for x in args.sessions.split(",")]:
            sids = [f"bench{n}-{k}" for k in range(n)]
            await asyncio.gather(*(_session(link, timer, s, args.warmup, []) for s in sids))
            times: list[float] = []
            t0 = time.perf_counter()
            await asyncio.gather(*(_session(link, timer, s + "t", args.requests, times) for s in sids))
            wall = time.perf_counter() - t0
            results[f"sessions_{n}_back_to_back"] = {"round_trip_ms": percentiles(times),
                                                     "throughput_per_s": round(len(times) / wall, 1)}
            if args.interval_ms and n > 1:
                times = []
                await asyncio.gather(*(_session(link, timer, s + "p", args.requests, times, args.interval_ms / 1000)
                                       for s in sids))
                results[f"sessions_{n}_every_{args.interval_ms}ms"] = {"round_trip_ms": percentiles(times)}
    finally:
        await link.stop()
        proc.stop()
    return results


# ---- delivery: how soon a held interjection plays once the user pauses ------------------------

SENTENCES = ["two x plus three equals seven so x equals three",
             "I think that x is three because seven minus three is four",
             "so the answer must be three",
             "twelve times seven is eighty five I am quite sure of it",
             "let me think about this one for a moment longer",
             "x equals three"]


async def _delivery(args) -> dict:
    """The real engine (virtual clock, real VAD/ASR/TTS, heuristic policy) and a real reasoner.

    A user says a sentence; while they speak, the engine asks the reasoner to check it and the
    answer arrives (so it is held: never voiced over the user). Measured in media time from the
    true end of the user's speech (known by construction) to the interjection's first audible
    20 ms frame; the pause it waits for is one micro-turn of silence, so "after the pause" is
    that figure minus the engine's `user_pause_ms`. `vad_pause_to_audible_ms` counts from the
    end of speech as the engine's VAD heard it (`user.speech.stopped`) instead of the truth.
    """
    from microturn.runtime.engine.clock import VirtualClock
    from microturn.runtime.engine.engine import Engine
    from microturn.runtime.engine.options import EngineOptions
    from microturn.runtime.engine.services import default_speech_services
    from microturn.runtime.reasoner.launch import ReasonerProcess
    from microturn.runtime.reasoner.link import GrpcReasonerLink
    from microturn.runtime.speech.stimuli import render_speech

    speech = await asyncio.to_thread(default_speech_services)
    options = EngineOptions()
    proc = ReasonerProcess(backend=args.backend, log=subprocess.DEVNULL)
    proc.start()
    link = GrpcReasonerLink(proc.address)
    engine = Engine(options, "heuristic", speech, None, VirtualClock(), link)
    link.attach(engine)
    offered = asyncio.Event()
    offer = engine.offer_interjection

    def offer_and_flag(inj):
        offered.set()
        return offer(inj)

    engine.offer_interjection = offer_and_flag  # noticed here only to wait for it in wall time
    after_end, after_pause, after_heard_pause, held = [], [], [], 0
    try:
        await proc.wait_healthy()
        await link.start()
        await link.wait_connected()
        await engine.start()
        for trial in range(args.delivery_trials):
            text = SENTENCES[trial % len(SENTENCES)]
            start_s = 0.4 + 0.04 * trial  # shift speech against the 200 ms grid
            audio, _, (seg,) = render_speech([(start_s, text)], tail_s=4.0, seed=trial)
            events: list[dict] = []
            port = await engine.open_session("bench", f"user{trial}", events.append)
            sid = port.session_id
            asked = False
            heard_at = None
            for k in range(0, len(audio) - 3200 + 1, 3200):
                now = k * 1000 // 16000
                frames = [port.pull_audio() for _ in range(10)]
                inj_started = any(e["type"] == "interjection.delivered" for e in events)
                if inj_started and heard_at is None:
                    loud = [i for i, f in enumerate(frames) if float(abs(f).max()) > 0.01]
                    if loud:
                        heard_at = now + 20 * loud[0]  # the frames pulled now play during [now, now + 200)
                port.push_audio(audio[k:k + 3200])
                await engine.advance(200)
                if not asked and now >= seg.start_s * 1000 + 400:
                    offered.clear()
                    await link.request(sid, "x = 3", {"problem": "2x+3=7", "request_id": f"d{trial}"}, now)
                    await asyncio.wait_for(offered.wait(), 10)
                    asked = True
                    held += now < seg.end_s * 1000
            await engine.close_session(sid)
            if heard_at is not None:
                end_ms = seg.end_s * 1000
                after_end.append(heard_at - end_ms)
                after_pause.append(heard_at - end_ms - options.user_pause_ms)
                # the pause as the engine heard it: its VAD's end of speech (user.speech.stopped)
                stopped = [e["media_ms"] for e in events if e["type"] == "user.speech.stopped"]
                if stopped:
                    after_heard_pause.append(heard_at - stopped[-1] - options.user_pause_ms)
    finally:
        await link.stop()
        await engine.stop()
        proc.stop()
    return {"trials": args.delivery_trials, "asked_while_user_spoke": held, "voiced": len(after_end),
            "user_pause_ms": options.user_pause_ms,
            "speech_end_to_audible_ms": percentiles(after_end),
            "pause_to_audible_ms": percentiles(after_pause),
            "vad_pause_to_audible_ms": percentiles(after_heard_pause)}


def run(args) -> dict:
    report = {"backend": args.backend, "requests_per_session": args.requests,
              "round_trip": asyncio.run(_measure(args))}
    if args.delivery_trials:
        report["delivery"] = asyncio.run(_delivery(args))
    return report
