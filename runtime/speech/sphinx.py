"""Offline speech recognition with pocketsphinx 5 (acoustic model, LM and dictionary in the wheel).

Two kinds of search: the general English trigram LM (poor on synthetic speech, ~50% WER, but it
accepts anything), or a JSGF grammar supplied by the app (`Agent.asr_grammar`), which is close
to exact for narrow domains such as "what is seven times eight".

Quirks handled here, all measured on these machines:
- Exact digital silence breaks the front end (log of zero energy), so every decode adds a tiny
  Gaussian noise floor (`SphinxOptions.noise_floor_db`) and pads the utterance with a little of
  it on both sides (the silence model wants some non-speech around the words).
- A fresh decoder can return nothing for its first utterance, so every decoder is warmed with
  one throwaway decode when it is made.
- Cepstral mean normalisation (CMN) has two modes. Batch CMN (the model's setting) takes the
  mean of the utterance itself, so the words depend only on the audio; it needs the whole
  utterance at once (`process_raw(..., full_utt=True)`). Live CMN normalises each block with a
  running mean carried over from earlier utterances. pocketsphinx 5 switches a decoder from
  batch to live CMN *for good* the first time it is fed a partial block (`feat_cmn` overwrites
  the configured type), after which even `full_utt` decodes use the running mean; started from
  the model's `cmninit` (tuned to other recordings) that turned "what is seven times eight"
  into "fourteen divided by eleven" on every later decode. So every batch decode first
  rebuilds the front end (`reinit_feat`, ~0.3 ms): batch CMN again, fresh noise estimate.
- Streams give *partials* from a live pass. Live CMN needs a starting mean, and the model's
  `cmninit` is far off for this audio (0 of 12 synthesized questions right), so a live pass
  starts from the mean of the last utterance in which the recogniser heard words, on any of its
  decoders (11 of 12 right); before the first one, from the warm-up's (8 of 12). With a
  grammar, `finish()` then decodes the buffered utterance again in one batch pass, so the final
  words depend only on the audio (`SphinxOptions.final_pass`). `transcribe` and `words` always
  decode that way.
- Decoder objects are NOT thread-safe. A `PocketsphinxASR` keeps a pool of decoders: each
  stream (and each `transcribe`) checks one out for its whole life and returns it when done, so
  any number of threads may use one `PocketsphinxASR` concurrently. A single `SphinxStream` is
  guarded by its own lock. Finalising can block for 20-400 ms: never call it on the event loop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from microturn.runtime.speech.base import Transcript

SAMPLE_RATE = 16000
FRAME_RATE = 100  # pocketsphinx frames per second (10 ms hop): segment frames -> seconds


@dataclass(frozen=True)
class SphinxOptions:
    """noise_floor_db: RMS of the Gaussian noise added before decoding, in dBFS. -50 (about
        100 int16 steps, a quiet room) measured best: on 48 synthesized arithmetic questions the
        grammar got 42-44 right at -55..-45 dBFS, 33 at -70 and 29 at -90.
    pad_s: noise-floor padding added before and after every utterance.
    final_pass: re-decode the whole utterance in batch mode on `finish()` (see module doc).
        None (default) = only with a grammar: there it costs ~20-80 ms, while with the general
        LM it would add 0.3-1 s to every turn end on this machine, so the live result is used.
    seed: seed of the noise floor, so decoding the same audio gives the same words.
    """

    noise_floor_db: float = -50.0
    pad_s: float = 0.25
    final_pass: bool | None = None
    seed: int = 0


def _is_filler(word: str) -> bool:
    # <s>, </s>, <sil>, [NOISE], (NULL): silence and noise models, not words
    return word[:1] in "<[("


def _clean(word: str) -> str:
    # alternate pronunciations come back as "the(2)"
    return word.split("(", 1)[0]


def _check_audio(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio)
    if a.ndim != 1:
        raise ValueError(f"ASR expects 1-D mono 16 kHz audio, got shape {a.shape}")
    a = a.astype(np.float32, copy=False)
    if not np.all(np.isfinite(a)):
        raise ValueError("ASR audio contains NaN or infinity")
    return a


class _Decoder:
    """One pocketsphinx decoder with its search selected and warmed. One user at a time."""

    def __init__(self, jsgf: str | None, options: SphinxOptions, phone_loop: bool = False) -> None:
        from pocketsphinx import Decoder, get_model_path

        self.options = options
        self._rng = np.random.default_rng(options.seed)
        self.final_pass = options.final_pass if options.final_pass is not None else jsgf is not None
        self.score = 0.0  # the last hypothesis's path score (log domain), see `result`
        if phone_loop:
            # pocketsphinx's allphone search: the best phone sequence under a phone bigram LM,
            # a free loop that fits any speech (grammar_fit.py compares grammars against it)
            self.ps = Decoder(samprate=SAMPLE_RATE, lm=None, loglevel="FATAL",
                              allphone=f"{get_model_path()}/en-us/en-us-phone.lm.bin")
        elif jsgf is None:
            # fwdflat (a second, flat-lexicon pass) made the general LM slower *and* worse on
            # synthetic speech here: 57% vs 47% WER on 51 words of everyday sentences.
            self.ps = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", fwdflat=False)
        else:
            self.ps = Decoder(samprate=SAMPLE_RATE, lm=None, loglevel="FATAL")
            try:
                self.ps.add_jsgf_string("app", jsgf)
                self.ps.activate_search("app")
            except (RuntimeError, ValueError) as exc:
                raise ValueError(f"invalid JSGF grammar (or a word not in the dictionary): {exc}") from exc
        # Starting means for live CMN (see module doc): the mean of the last utterance with words
        # in it (set by `decode` / `end_live`, shared through the pool), else the warm-up's.
        self.speech_cmn: str | None = None
        self.decode(np.zeros(SAMPLE_RATE // 2, np.float32))  # warm-up; result ignored
        self._warm_cmn = self.ps.get_cmn(False)

    def pcm(self, audio: np.ndarray) -> bytes:
        """float32 -> int16 bytes, with the noise floor added (see module doc)."""
        sigma = 10 ** (self.options.noise_floor_db / 20)
        noisy = audio + self._rng.normal(0.0, sigma, len(audio)).astype(np.float32)
        return (np.clip(noisy, -1.0, 1.0) * 32767).astype("<i2").tobytes()

    def padding(self) -> np.ndarray:
        return np.zeros(int(self.options.pad_s * SAMPLE_RATE), np.float32)

    def decode(self, audio: np.ndarray) -> Transcript:
        """Batch-decode one whole utterance; word times relative to the start of `audio`."""
        # Same audio -> same noise floor, and a rebuilt front end (batch CMN, fresh noise
        # estimate) even after a live pass -> same words, whatever the decoder heard before.
        self._rng = np.random.default_rng(self.options.seed)
        self.ps.reinit_feat()
        pad = self.padding()
        self.ps.start_utt()
        self.ps.process_raw(self.pcm(np.concatenate([pad, audio, pad])), full_utt=True)
        self.ps.end_utt()
        result = self.result(offset_s=len(pad) / SAMPLE_RATE, duration_s=len(audio) / SAMPLE_RATE)
        if result.words:  # batch CMN left this utterance's mean: a speech-like live starting point
            self.speech_cmn = self.ps.get_cmn(False)
        return result

    def start_live(self) -> None:
        """Begin a live (streamed) utterance, padded in front like a batch decode."""
        # fresh noise floor and noise estimate: a live pass depends only on its audio and the
        # starting mean, not on what the previous pass heard
        self._rng = np.random.default_rng(self.options.seed)
        self.ps.reinit_feat()
        self.ps.set_cmn(self.speech_cmn or self._warm_cmn)
        self.ps.start_utt()
        self.ps.process_raw(self.pcm(self.padding()))

    def end_live(self, duration_s: float) -> Transcript:
        """End the live utterance (padded behind as in front) and return its hypothesis."""
        self.ps.process_raw(self.pcm(self.padding()))
        self.ps.end_utt()
        result = self.result(offset_s=self.options.pad_s, duration_s=duration_s)
        if result.words:  # end_utt folded this utterance into the running mean
            self.speech_cmn = self.ps.get_cmn(False)
        return result

    def result(self, offset_s: float, duration_s: float) -> Transcript:
        """The decoder's hypothesis; word times shifted by `offset_s` (the padding) and clamped
        to the utterance, since the last word often absorbs some of the trailing padding."""
        hyp = self.ps.hyp()
        # the Python binding hands the score through logmath's exp; its log is the path score
        self.score = float(np.log(hyp.score)) if hyp is not None and hyp.score > 0 else float("-inf")
        words = [
            (_clean(s.word), s.start_frame / FRAME_RATE - offset_s, (s.end_frame + 1) / FRAME_RATE - offset_s)
            for s in (self.ps.seg() or [])
            if not _is_filler(s.word)
        ]
        words = [(w, round(min(max(0.0, a), duration_s), 3), round(min(max(0.0, b), duration_s), 3))
                 for w, a, b in words]
        text = " ".join(hyp.hypstr.split()) if hyp is not None else ""
        return Transcript(text=text, words=words)


class _Pool:
    """Free decoders, handed out one per user; makes a new (warmed) one when none is free.
    It also passes on the latest speech mean (`_Decoder.speech_cmn`) from decoder to decoder,
    so a decoder made for a new caller starts its live passes from real speech too."""

    def __init__(self, make) -> None:
        self._make = make
        self._free: list[_Decoder] = []
        self._speech_cmn: str | None = None
        self._lock = threading.Lock()

    def take(self) -> _Decoder:
        with self._lock:
            decoder = self._free.pop() if self._free else None
            speech_cmn = self._speech_cmn
        if decoder is None:
            decoder = self._make()  # outside the lock: building a decoder takes ~0.2-0.4 s
        if speech_cmn is not None:
            decoder.speech_cmn = speech_cmn
        return decoder

    def give(self, decoder: _Decoder) -> None:
        with self._lock:
            if decoder.speech_cmn is not None:
                self._speech_cmn = decoder.speech_cmn
            self._free.append(decoder)


class SphinxStream:
    """One utterance recognised incrementally (implements `ASRStream`).

    `feed` returns the live partial hypothesis; `finish` returns the final `Transcript` with
    word times relative to the first sample fed. After `finish` (or `cancel`) the stream is
    closed and its decoder back in the pool; feeding it again raises RuntimeError.
    """

    def __init__(self, pool: _Pool) -> None:
        self._pool = pool
        self._decoder: _Decoder | None = pool.take()
        self._chunks: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._partial = ""
        self._decoder.start_live()

    def _live(self) -> _Decoder:
        if self._decoder is None:
            raise RuntimeError("this ASR stream is finished; start a new one with asr.stream()")
        return self._decoder

    def feed(self, audio: np.ndarray) -> str:
        a = _check_audio(audio)
        with self._lock:
            dec = self._live()
            if len(a):
                self._chunks.append(a.copy())
                dec.ps.process_raw(dec.pcm(a))
                hyp = dec.ps.hyp()
                self._partial = " ".join(hyp.hypstr.split()) if hyp is not None else ""
            return self._partial

    def finish(self) -> Transcript:
        with self._lock:
            dec = self._live()
            audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
            try:
                live = dec.end_live(duration_s=len(audio) / SAMPLE_RATE)
                return dec.decode(audio) if dec.final_pass else live
            finally:
                self._decoder = None
                self._pool.give(dec)

    def cancel(self) -> None:
        """Abandon the utterance (e.g. a barge-in that turned out to be a cough)."""
        with self._lock:
            if self._decoder is not None:
                dec, self._decoder = self._decoder, None
                dec.ps.end_utt()
                self._pool.give(dec)


class PocketsphinxASR:
    """Pocketsphinx recogniser (implements `ASR`): general LM when `jsgf` is None, else the
    given JSGF grammar text (ValueError at construction if it does not parse or uses a word the
    dictionary lacks). Thread-safe through a pool of decoders (see the module doc)."""

    sample_rate: int = SAMPLE_RATE

    def __init__(self, jsgf: str | None = None, options: SphinxOptions = SphinxOptions()) -> None:
        self.jsgf = jsgf
        self.options = options
        self._pool = _Pool(lambda: _Decoder(jsgf, options))
        self._pool.give(_Decoder(jsgf, options))  # build and warm one now: errors surface here

    def stream(self) -> SphinxStream:
        return SphinxStream(self._pool)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Decode one utterance in a single batch pass; word times relative to its start."""
        a = _check_audio(audio)
        dec = self._pool.take()
        try:
            return dec.decode(a)
        finally:
            self._pool.give(dec)

    def words(
        self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE
    ) -> list[tuple[str, float, float]]:
        """Words with (start_s, end_s) over a long clip, e.g. an agent's whole output for
        FD-bench metrics. The clip is cut at pauses by Silero VAD and each piece decoded alone
        (pocketsphinx degrades on long utterances). Use a general-LM instance (`jsgf=None`)
        unless the clip is known to stay inside the grammar."""
        from microturn.runtime.speech.silero import SegmentOptions, speech_segments

        a = _check_audio(audio)
        if sample_rate != SAMPLE_RATE:
            from microturn.runtime.speech.resample import resample

            a = resample(a, sample_rate, SAMPLE_RATE)
        cuts = speech_segments(a, SAMPLE_RATE, SegmentOptions(min_silence_s=0.3, pad_s=0.1))
        out: list[tuple[str, float, float]] = []
        for start, end in cuts:
            piece = a[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            for w, s, e in self.transcribe(piece).words:
                out.append((w, round(start + s, 3), round(start + e, 3)))
        return out
