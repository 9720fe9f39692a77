"""Put eSpeak NG's signal generators back to their just-initialised state before each utterance.

Why this exists: eSpeak keeps the state of its waveform generators in C `static` variables that
live for the whole process and that no API call resets, not even `espeak_Terminate` followed by
`espeak_Initialize` (statics declared inside functions are initialised only when the library is
loaded). So the same sentence came out different depending on what was spoken before it, up to
~1% in length. The carriers, found by comparing the library's writable memory after different
histories and confirmed by resetting them one group at a time:

- wavegen.c (the default harmonic synthesizer): the pitch-flutter table position (`Flutter_ix`,
  changes the pitch contour and so where pitch cycles and the utterance end), the automatic gain
  control (`agc`), the roughness cycle counter (`cycle_count`), the breath-noise resonators
  (`rbreath`, whisper/breathy variants), the echo buffer (`echo_buf`, variants with echo) and the
  per-frame harmonic/peak state;
- klatt.c (the "+klatt*" variants and others built on it): the glottal-source counters, filter
  memories, flutter time and frame parameters (`kt_globals`, `time_count`, `vlast`, ...);
- synthesize.c: `wave_flag`, whether the previous utterance ended inside a mixed-in consonant
  wave, which changes the first spectrum command of the next one;
- libc's `rand()`: the "speechPlayer" generator (variants with `klatt 6`) draws noise from it.

Re-loading the library (dlclose + dlopen + Initialize) before every utterance also gives fresh
state, but costs ~2.5 ms (the voice's dictionary is re-read) and eSpeak leaks ~1-3 KB per
Terminate/Initialize, which adds up over a data-generation run. Instead we take the library's
symbol table (the wheel's `libespeak-ng.so` is not stripped), snapshot exactly those variables
right after `espeak_Initialize` and copy the snapshot back before each utterance: a few dozen
`memmove`s, microseconds. The restored values are the ones a fresh process starts its first
utterance with, so every utterance is bit-identical to speaking it first in a new process.
Configuration that a voice change sets (current voice, echo delay, amplitudes) is not touched.
libc's generator gets a private state (glibc `initstate`/`setstate`) so the rest of the process
does not see its sequence reset.
"""

from __future__ import annotations

import ctypes
import logging
import struct
from dataclasses import dataclass

log = logging.getLogger(__name__)

# (source file, variable) as the symbol table names them; a static inside a function appears as
# "name.NNNN" and matches by "name". Several statics may share a name within one file (e.g. two
# `n_samples`), all are restored. Source file "" = hidden globals listed after the last file.
SIGNAL_STATE: tuple[tuple[str, str], ...] = (
    *(("wavegen.c", name) for name in (
        "Flutter_ix", "agc", "cycle_count", "maxh", "maxh2", "h_switch_sign", "amplitude2",
        "n_samples", "ix", "resume", "echo_complete", "hf_factor", "cbytes", "cycle_samples",
        "phaseinc", "wavephase", "end_wave", "samplecount_start", "samplecount", "amplitude_env",
        "amp_inc", "amp_ix", "wdata", "glottal_reduce", "glottal_flag", "modulation_type",
        "nsamples", "hspect", "hswitch", "harmspect", "harm_inc", "rbreath", "peak_height",
        "peak_harmonic", "peaks")),
    ("", "echo_buf"),
    *(("klatt.c", name) for name in (
        "skew", "vwave", "nlast", "time_count", "glotlast", "vlast", "voice", "noise", "prev_fr",
        "klattp_inc", "klattp1", "klattp", "end_wave", "peaks", "kt_globals", "kt_frame",
        "sample_count", "nsamples")),
    ("synthesize.c", "wave_flag"),
)
_ANCHOR = "espeak_ng_SetRandSeed"  # an exported function: its address gives the load offset

_SHT_SYMTAB, _STT_OBJECT, _STT_FUNC, _STT_FILE, _SHF_WRITE = 2, 1, 2, 4, 0x1


@dataclass(frozen=True)
class _Symbol:
    value: int  # address relative to the library's load base
    size: int
    writable: bool  # lives in a writable section (.data/.bss)


def read_symbols(path: str) -> dict[tuple[str, str], list[_Symbol]]:
    """Objects and functions of a 64-bit little-endian ELF's `.symtab`, keyed by (source file,
    name without the ".NNNN" suffix); globals are keyed with file "". Empty if stripped."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return {}
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    # (type, flags, offset, size, link, entsize) of every section
    sections = [struct.unpack_from("<4xIQ8xQQI4x8xQ", data, shoff + i * shentsize)
                for i in range(shnum)]
    out: dict[tuple[str, str], list[_Symbol]] = {}
    for typ, _flags, offset, size, link, entsize in sections:
        if typ != _SHT_SYMTAB or not entsize:
            continue
        strings = sections[link][2]
        source = ""
        for k in range(size // entsize):
            name_at, info, _other, shndx, value, sym_size = struct.unpack_from(
                "<IBBHQQ", data, offset + k * entsize)
            name = data[strings + name_at:data.index(b"\0", strings + name_at)].decode()
            kind, is_global = info & 0xF, info >> 4 != 0
            if kind == _STT_FILE:
                source = name
            elif kind in (_STT_OBJECT, _STT_FUNC):
                writable = shndx < shnum and bool(sections[shndx][1] & _SHF_WRITE)
                key = ("" if is_global else source, name.split(".")[0])
                out.setdefault(key, []).append(_Symbol(value, sym_size, writable))
    return out


class SignalStateReset:
    """Snapshot of eSpeak's signal-generator statics; `restore()` copies it back.

    Build it right after `espeak_Initialize`, before anything is spoken. `available` is False
    (and `restore` only isolates libc's generator) when the library has no symbol table or lacks
    one of the variables, i.e. a build this was not written for."""

    def __init__(self, lib: ctypes.CDLL, path: str) -> None:
        self._regions: list[tuple[int, bytes]] = []
        self.missing = self._locate(lib, path)
        self.available = not self.missing
        if not self.available:
            log.warning("eSpeak NG at %s: cannot reset synthesis state (%s missing); the same "
                        "text may sound slightly different after other texts", path,
                        ", ".join(self.missing[:5]))
        self._libc = _LibcRandom()

    def _locate(self, lib: ctypes.CDLL, path: str) -> list[str]:
        symbols = read_symbols(path)
        anchor = symbols.get(("", _ANCHOR))
        if not anchor:
            return [_ANCHOR]
        base = ctypes.cast(getattr(lib, _ANCHOR), ctypes.c_void_p).value - anchor[0].value
        missing, regions = [], []
        for key in SIGNAL_STATE:
            found = [s for s in symbols.get(key, []) if s.writable and s.size > 0]
            if not found:
                missing.append("/".join(key))
            regions += [(base + s.value, ctypes.string_at(base + s.value, s.size)) for s in found]
        if not missing:
            self._regions = regions
        return missing

    def restore(self) -> None:
        """Call under the engine lock, just before `espeak_Synth`."""
        for address, saved in self._regions:
            ctypes.memmove(address, saved, len(saved))
        self._libc.restart()

    def finished(self) -> None:
        """Call after the utterance: hand libc's generator back to the rest of the process."""
        self._libc.give_back()


class _LibcRandom:
    """A private glibc `random()` state (what `rand()` draws from) for the time eSpeak speaks,
    restarted at seed 1 (a fresh process's state) each utterance. No-op where libc lacks
    `initstate`/`setstate`. Another thread calling rand() during an utterance would draw from
    (and advance) this state; microturn's own code never calls rand()."""

    _STATE_BYTES = 128  # glibc's default generator (TYPE_3)

    def __init__(self) -> None:
        libc = ctypes.CDLL(None)
        self._ok = hasattr(libc, "initstate") and hasattr(libc, "setstate")
        if self._ok:
            libc.initstate.argtypes = [ctypes.c_uint, ctypes.c_void_p, ctypes.c_size_t]
            libc.initstate.restype = ctypes.c_void_p
            libc.setstate.argtypes = [ctypes.c_void_p]
            libc.setstate.restype = ctypes.c_void_p
        self._libc = libc
        self._state = ctypes.create_string_buffer(self._STATE_BYTES)
        self._previous: int | None = None

    def restart(self) -> None:
        if self._ok:
            previous = self._libc.initstate(1, self._state, self._STATE_BYTES)
            if self._previous is None:
                self._previous = previous

    def give_back(self) -> None:
        if self._ok and self._previous is not None:
            self._libc.setstate(self._previous)
            self._previous = None
