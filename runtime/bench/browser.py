"""The real page in headless Chromium, with a WAV as its microphone, against a real dev server.

Used by the browser end-to-end tests and by `microturn bench latency`:

    stim = build_stimulus(tmp / "q.wav", [(2.0, "what is seven times eight")])
    with DevServer() as server:
        call = asyncio.run(run_call(server.url, stim, listen_s=4.0))
    call.agent_onset_after(stim.segments[0].end_s)   # seconds, on the WAV's own timeline

How time is measured. The page records what it sent (the fake microphone) and what it heard
(the agent's track) in one two-channel Web Audio recording, so both share one clock. The WAV is
found inside the microphone channel by cross-correlation, which maps the WAV's own timeline
(where every utterance starts and ends by construction) onto the recording. Agent audio is then
located on that same timeline: no wall clocks, no speech detector for the user's side.
"""

from __future__ import annotations

import base64
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

CHROMIUM = "/usr/bin/chromium"
RECORD_RATE = 16_000
WAV_RATE = 48_000
AGENT_LEVEL = 0.01     # RMS over 10 ms above this (about -40 dBFS) counts as agent audio
WINDOW_S = 0.01


def chromium_available(path: str = CHROMIUM) -> bool:
    return os.path.exists(path) and os.access(path, os.X_OK)


def chromium_args(wav_path: str | Path) -> list[str]:
    """The flags that make headless Chromium join a loopback WebRTC call with a WAV as its mic."""
    return [
        "--headless=new", "--no-sandbox", "--disable-gpu",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav_path}%noloop",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run",
    ]


# ---- stimuli ---------------------------------------------------------------------------------
@dataclass
class Stimulus:
    path: Path
    audio: np.ndarray          # float32 mono at WAV_RATE
    segments: list             # speech/stimuli.SpokenSegment: text, start_s, end_s

    @property
    def duration_s(self) -> float:
        return self.audio.size / WAV_RATE


def build_stimulus(path: str | Path, segments: list[tuple[float, str]], tail_s: float = 0.5) -> Stimulus:
    """Speak `(start_s, text)` pairs into a WAV with known boundaries (eSpeak NG, in-process)."""
    from microturn.runtime.speech.stimuli import render_speech, write_wav

    audio, rate, bounds = render_speech(segments, sample_rate=WAV_RATE, tail_s=tail_s, noise_db=-60.0)
    write_wav(path, audio, rate)
    return Stimulus(Path(path), audio, bounds)


# ---- the dev server as a real process ---------------------------------------------------------
class DevServer:
    """`microturn dev --port 0` in a subprocess; `url` is what it printed. Stopped on exit."""

    def __init__(self, app: str | None = None, policy: str | None = None, startup_timeout_s: float = 90.0,
                 log_path: str | Path | None = None):
        self.app, self.policy, self.startup_timeout_s = app, policy, startup_timeout_s
        self.log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="microturn-dev-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None

    def __enter__(self) -> "DevServer":
        cmd = [sys.executable, "-m", "microturn.runtime.cli", "dev", "--port", "0"]
        if self.app:
            cmd.insert(4, self.app)
        if self.policy:
            cmd += ["--policy", self.policy]
        self._log = open(self.log_path, "w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env,
                                     start_new_session=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.proc.stdout] and None, daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            match = re.search(r"(http://[^/\s]+)/\?autojoin=1", line)
            if match:
                self.url = match.group(1)
                return self
        self.__exit__(None, None, None)
        raise RuntimeError(f"microturn dev did not start; its log:\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()


# ---- one call --------------------------------------------------------------------------------
@dataclass
class Call:
    """What the page sent, heard and showed during one call."""

    mic: np.ndarray             # float32 at RECORD_RATE: what the page sent
    agent: np.ndarray           # float32 at RECORD_RATE: what the page heard
    wav_offset_s: float         # recording time at which the WAV's t=0 played
    alignment: float            # normalised correlation peak of that alignment (1.0 = exact)
    events: list[dict]
    transcript: list[dict]
    timing_ms: dict             # page marks: joinStart, connected, channelOpen, ...
    error: str | None = None
    recording_started_ms: float | None = None  # page clock (performance.now) of recording sample 0
    mic_kbps: float | None = None  # the microphone's average send rate on the wire, RTP payload + headers

    def page_ms(self, wav_t_s: float) -> float | None:
        """The page clock (ms, like `received_perf_ms` on events) at WAV time `wav_t_s`."""
        if self.recording_started_ms is None:
            return None
        return self.recording_started_ms + (wav_t_s + self.wav_offset_s) * 1000

    def wav_time_to_index(self, t_s: float) -> int:
        return int(round((t_s + self.wav_offset_s) * RECORD_RATE))

    def agent_envelope(self) -> np.ndarray:
        w = int(WINDOW_S * RECORD_RATE)
        n = self.agent.size // w
        return np.sqrt(np.mean(self.agent[: n * w].reshape(n, w) ** 2, axis=1))

    def agent_onset_after(self, t_s: float) -> float | None:
        """First agent audio at or after WAV time `t_s`, in seconds after `t_s` (None: none heard)."""
        env = self.agent_envelope()
        start = max(0, int(round((t_s + self.wav_offset_s) / WINDOW_S)))
        loud = np.nonzero(env[start:] > AGENT_LEVEL)[0]
        return None if loud.size == 0 else float(loud[0] * WINDOW_S)

    def agent_stop_after(self, t_s: float, quiet_s: float = 0.3) -> float | None:
        """When agent audio stops (then stays quiet for `quiet_s`) after WAV time `t_s`, in seconds
        after `t_s`; 0.0 if it was already quiet then; None if it never stops in the recording."""
        env = self.agent_envelope()
        start = max(0, int(round((t_s + self.wav_offset_s) / WINDOW_S)))
        need = int(round(quiet_s / WINDOW_S))
        quiet = env[start:] <= AGENT_LEVEL
        run = 0
        for i, q in enumerate(quiet):
            run = run + 1 if q else 0
            if run >= need:
                return float((i - need + 1) * WINDOW_S)
        return None

    def agent_audio_between(self, t0_s: float, t1_s: float) -> np.ndarray:
        return self.agent[max(0, self.wav_time_to_index(t0_s)): max(0, self.wav_time_to_index(t1_s))]

    def events_of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e.get("type") == kind]

    @property
    def setup_ms(self) -> float | None:
        t = self.timing_ms
        return (t["channelOpen"] - t["joinStart"]) if "channelOpen" in t and "joinStart" in t else None


def _decode_pcm(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<i2").astype(np.float32) / 32767.0


def locate(haystack: np.ndarray, needle: np.ndarray) -> tuple[float, float]:
    """Where `needle` starts inside `haystack` (samples; may be negative if it started before the
    recording did), and the normalised correlation at that lag."""
    from scipy.signal import correlate

    corr = correlate(haystack, needle, mode="full", method="fft")
    best = int(np.argmax(corr))
    lag = best - (needle.size - 1)
    lo, hi = max(0, lag), min(haystack.size, lag + needle.size)
    a, b = haystack[lo:hi], needle[lo - lag: hi - lag]
    denom = float(np.linalg.norm(a) * np.linalg.norm(b)) or 1.0
    return float(lag), float(np.dot(a, b) / denom)


async def run_call(base_url: str, stimulus: Stimulus, *, listen_s: float = 3.0, query: str = "",
                   leave: bool = True, connect_timeout_s: float = 20.0, chromium: str = CHROMIUM,
                   actions: Sequence[tuple[float, str]] = ()) -> Call:
    """Open `/?autojoin=1&raw=1&record=1` with the WAV as the microphone; record until the WAV
    has played out plus `listen_s`; return the aligned recording and the page's events.
    `leave=False` closes the browser without hanging up first, as a closed tab does.
    `actions`: (seconds into the recording, JavaScript) pairs, each run in the page once the
    recorder holds that much audio (e.g. a whiteboard stroke sent with `microturn.sendRaw`)."""
    from playwright.async_api import async_playwright

    from microturn.runtime.speech.resample import resample

    url = f"{base_url}/?autojoin=1&raw=1&record=1{('&' + query) if query else ''}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True,
                                           args=chromium_args(stimulus.path))
        try:
            page = await browser.new_page()
            await page.goto(url)
            await page.wait_for_function(
                "window.microturn && (window.microturn.recorder || window.microturn.state === 'failed')",
                timeout=connect_timeout_s * 1000)
            error = await page.evaluate("window.microturn.error")
            if error:
                return Call(np.zeros(0, np.float32), np.zeros(0, np.float32), 0.0, 0.0, [], [], {}, error=error)
            for at_s, script in sorted(actions):
                await page.wait_for_function(f"window.microturn.recorder.length >= {int(at_s * RECORD_RATE)}",
                                             timeout=(at_s + 30) * 1000, polling=20)
                await page.evaluate(script)
            # The fake microphone started with getUserMedia, a little before the recorder: wait
            # for the rest of the WAV, then listen on.
            need = int((stimulus.duration_s + listen_s) * RECORD_RATE)
            await page.wait_for_function(f"window.microturn.recorder.length >= {need}",
                                         timeout=(stimulus.duration_s + listen_s + 30) * 1000, polling=100)
            rec = await page.evaluate("window.microturn.recorder.take()")
            events = await page.evaluate("window.microturn.events")
            transcript = await page.evaluate("window.microturn.transcript")
            timing = await page.evaluate("window.microturn.timing")
            sent = await page.evaluate("window.microturn.audioSendStats()")
            if leave:
                await page.evaluate("window.microturn.leave()")
            else:
                await page.close()  # the tab goes away without hanging up
        finally:
            await browser.close()
    if rec["sampleRate"] != RECORD_RATE:
        raise RuntimeError(f"the page recorded at {rec['sampleRate']} Hz, expected {RECORD_RATE}")
    mic, agent = _decode_pcm(rec["mic"]), _decode_pcm(rec["agent"])
    lag, score = locate(mic, resample(stimulus.audio, WAV_RATE, RECORD_RATE))
    return Call(mic, agent, wav_offset_s=lag / RECORD_RATE, alignment=score, events=events,
                transcript=transcript, timing_ms=timing, recording_started_ms=rec["startedPerfMs"],
                mic_kbps=_kbps(sent, timing))


def _kbps(sent: dict | None, timing: dict) -> float | None:
    """Average send rate from the data channel opening (media flows) to the stats' timestamp."""
    start = timing.get("connected") or timing.get("channelOpen")
    if not sent or start is None or sent["perfMs"] <= start:
        return None
    return round(sent["bytesSent"] * 8 / (sent["perfMs"] - start), 1)  # bits per ms = kbit/s


def which_chromium() -> str | None:
    return CHROMIUM if chromium_available() else shutil.which("chromium")


# ---- hearing the answer -------------------------------------------------------------------------
# How an arithmetic answer can sound: "[the answer is] [seven times eight] [is] fifty six". A
# narrow grammar makes pocketsphinx exact on eSpeak speech and fast; it knows the shape of an
# answer, not which number to expect.
ARITHMETIC_GRAMMAR = """#JSGF V1.0;
grammar arithmetic;
public <utterance> = [<lead>] [<expression>] [<verb>] <number>;
<lead> = ok | okay | so | well | the answer is | that is | that's | it's;
<expression> = <number> <operator> <number>;
<operator> = plus | minus | times | divided by | multiplied by;
<verb> = is | equals | makes | gives;
<number> = <digit> | <teen> | <tens> [<digit>] | <digit> hundred [[and] <small>] | zero;
<small> = <digit> | <teen> | <tens> [<digit>];
<digit> = one | two | three | four | five | six | seven | eight | nine;
<teen> = ten | eleven | twelve | thirteen | fourteen | fifteen | sixteen | seventeen | eighteen | nineteen;
<tens> = twenty | thirty | forty | fifty | sixty | seventy | eighty | ninety;
"""


def recognise_answer(audio: np.ndarray) -> str:
    """What pocketsphinx hears in one spoken answer (16 kHz), with the arithmetic grammar."""
    from microturn.runtime.speech.sphinx import PocketsphinxASR

    return PocketsphinxASR(jsgf=ARITHMETIC_GRAMMAR).transcribe(np.asarray(audio, np.float32)).text
