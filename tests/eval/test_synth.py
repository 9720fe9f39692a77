"""`eval synth`: official layout, exact truth, same bytes for the same seed."""

from __future__ import annotations

import json

import numpy as np

from microturn.runtime.eval.layout import discover
from microturn.runtime.eval.synth import synth_suite
from microturn.runtime.speech.wav import read_wav

TWO = ["v1/pause_handling", "v1.5/talking_to_other"]


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_audio(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    synth_suite(a, items_per_task=1, seed=7, tasks=TWO)
    synth_suite(b, items_per_task=1, seed=7, tasks=TWO)
    synth_suite(c, items_per_task=1, seed=8, tasks=TWO)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert fa == fb
    assert fa.keys() == fc.keys()
    wavs = [k for k in fa if k.name == "input.wav"]
    assert len(wavs) == 2 and any(fa[k] != fc[k] for k in wavs)


def test_items_read_back_with_truth_matching_the_audio(tmp_path):
    synth_suite(tmp_path, items_per_task=1, seed=3, tasks=TWO)
    items, problems = discover(tmp_path)
    assert problems == [] and [it.task for it in items] == ["v1/pause_handling", "v1.5/talking_to_other"]
    pause, other = items
    # the official pause span is the constructed gap between the two halves of the turn
    segs = pause.truth["segments"]
    assert pause.event == (segs[0]["end"], segs[1]["start"])
    assert abs(pause.event[1] - pause.event[0] - pause.truth["pause_s"]) < 1e-3 and pause.truth["pause_s"] == 0.5  # item 0
    audio, sr = read_wav(pause.input_wav)
    assert sr == 16000 and len(audio) == round(pause.truth["duration_s"] * sr)
    gap = audio[int((segs[0]["end"] + 0.05) * sr): int((segs[1]["start"] - 0.05) * sr)]
    talk = audio[int(segs[0]["start"] * sr): int(segs[0]["end"] * sr)]
    assert np.sqrt(np.mean(gap ** 2)) < 1e-3 < np.sqrt(np.mean(talk ** 2))
    # v1.5 "others": a degraded second voice; clean_input has the overlap removed
    meta = json.loads((other.path / "metadata.json").read_text())
    side = [s for s in other.truth["segments"] if s["who"] == "other"][0]
    assert meta["timestamps"] == [side["start"], side["end"]] and side["degradation"]["gain_db"] < -5
    noisy, _ = read_wav(other.input_wav)
    clean, _ = read_wav(other.clean_input_wav)
    span = slice(int(side["start"] * sr), int(side["end"] * sr))
    assert len(noisy) == len(clean)
    assert np.sqrt(np.mean(noisy[span] ** 2)) > 5 * np.sqrt(np.mean(clean[span] ** 2))


def test_heldout_voices_are_never_training_voices(tmp_path):
    from microturn.runtime.eval.synth import held_out_voices
    from microturn.runtime.train.voices import variants

    voices = held_out_voices()
    assert len({v[0] for v in voices}) == len(voices) == 8
    assert all(v[0].split("+")[1] in variants("eval") and v[0].split("+")[1] not in variants("train") for v in voices)
    synth_suite(tmp_path, items_per_task=1, seed=3, tasks=TWO, voices="heldout")
    (pause, other), _ = discover(tmp_path)
    spoken = {s["voice"] for item in (pause, other) for s in item.truth["segments"]}
    assert spoken and spoken <= {v[0] for v in voices} and pause.truth["voices"] == "heldout"


def test_side_talk_and_background_levels_are_relative_to_the_user(tmp_path, monkeypatch):
    """The degradation's gain holds against the user's own level, whatever the voices' loudness:
    eSpeak's +klatt variants speak about 9 dB quieter, and a quiet user once made "-6..-10 dB"
    side talk as loud as themselves. (Items are built in this process, so the patched voice set
    holds; the suite builds each in a fresh one.)"""
    from microturn.runtime.eval import synth

    quiet_and_loud = [("en-us+klatt", 175, 50), ("en-gb", 175, 50)]
    monkeypatch.setitem(synth.VOICE_SETS, "default", lambda: list(quiet_and_loud))
    users = set()
    for task in ("v1.5/talking_to_other", "v1.5/background_speech"):
        for index in range(4):
            folder = tmp_path / task / str(index)
            truth = synth.synth_item(task, index, 1, folder)
            audio, sr = read_wav(folder / "input.wav")
            user, other = truth["segments"][0], truth["segments"][1]
            users.add(user["voice"])

            def level(seg):
                span = audio[int(seg["start"] * sr): int(seg["end"] * sr)].astype(np.float64)
                return 10 * np.log10(np.mean(span ** 2))

            relative = level(other) - level(user)
            assert abs(relative - other["degradation"]["gain_db"]) < 3.0, (task, index, user["voice"], relative)
    assert users == {"en-us+klatt", "en-gb"}, "both a quiet and a loud user were drawn"


def _dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2)))


def test_a_room_keeps_words_and_timings_and_adds_noise_at_the_asked_level(tmp_path):
    """`eval synth --snr-db/--rt60`: the same seed gives the same scene, heard in a worse room."""
    from microturn.runtime.eval.room import Room

    dry, wet = tmp_path / "dry", tmp_path / "wet"
    synth_suite(dry, items_per_task=1, seed=3, tasks=TWO)
    synth_suite(wet, items_per_task=1, seed=3, tasks=TWO, room=Room(snr_db=15.0, noise="white", rt60_s=0.6))
    (dry_pause, dry_other), _ = discover(dry)
    (pause, other), problems = discover(wet)
    assert problems == []
    assert pause.truth["segments"] == dry_pause.truth["segments"] and other.truth["segments"] == dry_other.truth["segments"]
    assert json.loads((wet / "suite.json").read_text())["room"] == {"snr_db": 15.0, "noise": "white", "rt60_s": 0.6}
    assert "room" not in json.loads((dry / "suite.json").read_text()) and "room" not in dry_pause.truth
    # the noise sits 15 dB under the user's speech (the lead-in holds noise only)
    audio, sr = read_wav(pause.input_wav)
    level = pause.truth["room"]["user_level_dbfs"]
    talk = pause.truth["segments"][0]
    assert abs(level - _dbfs(read_wav(dry_pause.input_wav)[0][int(talk["start"] * sr): int(talk["end"] * sr)])) < 1.0
    assert abs(_dbfs(audio[: int(0.4 * sr)]) - (level - 15.0)) < 1.0
    # v1.5: input and clean_input hear the same room and noise, identical until the overlap starts
    noisy, _ = read_wav(other.input_wav)
    clean, _ = read_wav(other.clean_input_wav)
    side = next(s for s in other.truth["segments"] if s["who"] == "other")
    before = int(side["start"] * sr)
    # (the same up to a rounding step of the FFT convolution, then the 16-bit file)
    assert np.max(np.abs(noisy[:before] - clean[:before])) < 1e-3 < np.max(np.abs(noisy[before:] - clean[before:]))


def test_reverberation_rings_past_the_speech_and_keeps_its_onset(tmp_path):
    from microturn.runtime.eval.room import Room

    dry, wet = tmp_path / "dry", tmp_path / "wet"
    synth_suite(dry, items_per_task=1, seed=3, tasks=TWO[:1])
    synth_suite(wet, items_per_task=1, seed=3, tasks=TWO[:1], room=Room(rt60_s=0.8))
    (d,), _ = discover(dry)
    (w,), _ = discover(wet)
    a, sr = read_wav(d.input_wav)
    b, _ = read_wav(w.input_wav)
    first = d.truth["segments"][0]
    start, end = int(first["start"] * sr), int(first["end"] * sr)
    ring = slice(end + int(0.05 * sr), end + int(0.25 * sr))
    assert _dbfs(b[ring]) > _dbfs(a[ring]) + 15          # the room's tail fills the pause
    lead = slice(0, start - int(0.01 * sr))                # nothing arrives before the direct sound:
    assert np.sqrt(np.mean(b[lead].astype(np.float64) ** 2)) < 1e-3   # the lead-in is still the dither floor


def test_bad_room_values_are_refused(tmp_path, capsys):
    import pytest

    from microturn.runtime.cli import main
    from microturn.runtime.eval.room import Room

    for bad in ({"noise": "purple"}, {"rt60_s": 5.0}, {"snr_db": 200.0}):
        with pytest.raises(ValueError):
            Room(**bad)
    assert main(["eval", "synth", "--out", str(tmp_path / "s"), "--snr-db", "10", "--noise", "purple"]) == 2
    assert "unknown noise 'purple'" in capsys.readouterr().err and not (tmp_path / "s").exists()
