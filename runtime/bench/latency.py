"""`microturn bench latency`: how fast the real page hears the agent, on loopback.

Each question is one call: a fresh headless Chromium whose microphone is a WAV built with
eSpeak NG, against one real `microturn dev` server process. The WAV holds the question and,
`--barge-in-after` seconds after it ends, a short interruption spoken over the agent's answer.
Per question it reports:

- answer_ms: end of the question (known from how the WAV was built) to the first agent audio
  the page heard;
- barge_in_stop_ms: start of the interruption to the agent's audio stopping in the page (the
  minimum barge-in duration the policy waits for is included); None when the agent was not
  speaking at that moment, which is reported rather than hidden;
- setup_ms: page join start (getUserMedia) to the data channel open; connected_ms: to ICE+DTLS
  connected;
- understood: whether the agent's answer (its text) holds the right number, i.e. the server
  recognised the question over Opus; heard: what pocketsphinx recognised in the answer audio the
  page received, and (correct) whether the right number was in it;
- mic_kbps: what the page's microphone cost on the wire (the answer SDP asks for 64 kbit/s);
- board_prompt_ms: a third call per question, silent, in which the page sends a whiteboard
  stroke on its data channel 1.5 s into the recording: from then to the app's remark heard in the
  page (`--no-board` skips it). The issue asks for prompts voiced within two micro-turns; this
  adds the data channel, the review of the app's interjection, TTS and WebRTC playout.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from microturn.runtime.bench.common import percentiles

QUESTIONS = [
    ("what is seven times eight", "fifty six"),
    ("what is six plus nine", "fifteen"),
    ("what is twelve minus five", "seven"),
    ("what is four times nine", "thirty six"),
    ("what is eight plus seven", "fifteen"),
    ("what is nine times three", "twenty seven"),
    ("what is twenty minus six", "fourteen"),
    ("what is five times five", "twenty five"),
]
# Barge-in calls ask for a product with a long spoken answer ("... is three hundred and
# twenty three"), so the agent is still talking when the interruption comes.
BARGE_IN_QUESTIONS = [
    "what is nineteen times seventeen",
    "what is eighteen times thirteen",
    "what is seventeen times sixteen",
    "what is fifteen times nineteen",
    "what is thirteen times fourteen",
]
QUESTION_AT_S = 2.0
INTERRUPTION = "no wait, stop"


def add_arguments(p) -> None:
    p.add_argument("--questions", type=int, default=5, help="number of questions (calls), default 5")
    p.add_argument("--app", default=None, help="agent app for the dev server (default: the bundled example)")
    p.add_argument("--policy", default=None, help="floor policy (default: the runtime's, model)")
    p.add_argument("--barge-in-after", type=float, default=1.5,
                   help="seconds after the question ends at which the interruption starts (default 1.5)")
    p.add_argument("--no-barge-in", action="store_true", help="questions only, no interruption")
    p.add_argument("--no-board", action="store_true", help="no whiteboard-prompt call per question")
    p.add_argument("--listen", type=float, default=3.0, help="seconds to keep listening after the WAV ends")
    p.add_argument("--warmup", type=int, default=1,
                   help="calls made first and left out of the figures (reported as cold_start), default 1")


def run(args) -> dict:
    from microturn.runtime.bench.browser import DevServer, chromium_available

    if not chromium_available():
        return {"error": "Debian chromium not found at /usr/bin/chromium; nothing measured"}
    with tempfile.TemporaryDirectory(prefix="microturn-bench-") as tmp:
        with DevServer(app=args.app, policy=args.policy, log_path=Path(tmp) / "dev.log") as server:
            cold = asyncio.run(_measure(server.url, Path(tmp), args, count=args.warmup, tag="warm"))
            rows = asyncio.run(_measure(server.url, Path(tmp), args, count=args.questions))
    return {
        **summarize(rows),
        "per_question": rows,
        "cold_start": cold,
        "how": "answer_ms: WAV end of question -> first agent audio recorded in the page; "
               "barge_in_stop_ms: WAV start of interruption -> agent audio quiet (300 ms) in the page; "
               "board_prompt_ms: whiteboard stroke sent by the page -> first agent audio recorded in it; "
               "setup_ms: page join start -> data channel open",
    }


def summarize(rows: list[dict]) -> dict:
    """Counts and percentiles over the per-question rows of `_measure`."""
    summary = {}
    for key in ("answer_ms", "barge_in_stop_ms", "board_prompt_ms", "setup_ms", "connected_ms", "mic_kbps"):
        values = [r[key] for r in rows if r.get(key) is not None]
        summary[key] = percentiles(values, qs=(50, 90))
    measured = [r for r in rows if r.get("barge_in_stop_ms") is not None]
    return {
        "questions": len(rows),
        "answers_understood": sum(1 for r in rows if r.get("understood")),
        "answers_correct": sum(1 for r in rows if r.get("correct")),
        "barge_in_measured": len(measured),
        # of those, how many the agent stopped for (the rest it talked through to its end)
        "barge_in_yielded": sum(1 for r in measured if r.get("interrupted_event")),
        "summary": summary,
    }


async def _measure(url: str, tmp: Path, args, count: int, tag: str = "q") -> list[dict]:
    """Per question: one call with the question alone (answer latency, what was heard), then
    one with the interruption spoken over the answer (barge-in stop)."""
    from microturn.runtime.bench.browser import build_stimulus, recognise_answer, run_call

    rows = []
    for i in range(count):
        question, expected = QUESTIONS[i % len(QUESTIONS)]
        stim = build_stimulus(tmp / f"{tag}{i}.wav", [(QUESTION_AT_S, question)])
        q_end = stim.segments[0].end_s
        call = await run_call(url, stim, listen_s=args.listen)
        row: dict = {"question": question, "error": call.error, "alignment": round(call.alignment, 3)}
        rows.append(row)
        if call.error:
            continue
        onset = call.agent_onset_after(q_end)
        row["answer_ms"] = None if onset is None else round(onset * 1000, 1)
        row["setup_ms"] = None if call.setup_ms is None else round(call.setup_ms, 1)
        row["mic_kbps"] = call.mic_kbps
        t = call.timing_ms
        row["connected_ms"] = round(t["connected"] - t["joinStart"], 1) if "connected" in t else None
        row["agent_said"] = " | ".join(e["text"] for e in call.events_of("agent.speech.started"))
        row["understood"] = expected in row["agent_said"]  # the server's ASR got the question right
        if onset is not None:
            stop = call.agent_stop_after(q_end + onset + 0.05)
            end = q_end + onset + 0.05 + (stop if stop is not None else args.listen) + 0.1
            row["heard"] = recognise_answer(call.agent_audio_between(q_end + onset - 0.1, end))
            row["correct"] = expected in row["heard"]
        if not args.no_board:
            row.update(await _board_prompt(url, tmp / f"{tag}{i}-board.wav", args))
        if args.no_barge_in:
            continue

        question = BARGE_IN_QUESTIONS[i % len(BARGE_IN_QUESTIONS)]
        stim = build_stimulus(tmp / f"{tag}{i}-probe.wav", [(QUESTION_AT_S, question)])
        q_end = stim.segments[0].end_s
        barge_at = q_end + args.barge_in_after
        stim = build_stimulus(tmp / f"{tag}{i}-barge.wav", [(QUESTION_AT_S, question), (barge_at, INTERRUPTION)])
        row["barge_in_question"] = question
        call = await run_call(url, stim, listen_s=args.listen)
        if call.error:
            row["barge_in_error"] = call.error
            continue
        onset = call.agent_onset_after(q_end)
        speaking = onset is not None and q_end + onset < barge_at - 0.05
        stop = call.agent_stop_after(barge_at) if speaking else None
        row["barge_in_stop_ms"] = None if stop is None else round(stop * 1000, 1)
        cut = call.events_of("agent.speech.interrupted")
        row["interrupted_event"] = bool(cut)
        if cut:
            row["played_text"] = cut[0]["played_text"]
        if not speaking:
            row["barge_in_note"] = "the agent was not speaking when the interruption started"
    return rows


BOARD_AT_S = 1.5   # into the recording: the call is up, nobody speaks
STROKE_JS = "window.microturn.sendRaw(JSON.stringify({type: 'whiteboard.stroke', points: [[0, 0], [40, 30]]}))"


async def _board_prompt(url: str, wav: Path, args) -> dict:
    """One silent call in which the page sends a whiteboard stroke: how soon the page hears the
    app's remark about it (None when nothing was heard: an app without `on_visual_change`)."""
    from microturn.runtime.bench.browser import build_stimulus, run_call

    call = await run_call(url, build_stimulus(wav, [], tail_s=5.0), listen_s=args.listen,
                          actions=[(BOARD_AT_S, STROKE_JS)])
    if call.error:
        return {"board_error": call.error}
    onset = call.agent_onset_after(BOARD_AT_S - call.wav_offset_s)   # the stroke, on the WAV's timeline
    said = call.events_of("agent.speech.started")
    return {"board_prompt_ms": None if onset is None else round(onset * 1000, 1),
            "board_said": said[0]["text"] if said else None}
