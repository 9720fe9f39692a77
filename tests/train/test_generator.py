"""The synthetic conversation generator: determinism, held-out split, labels consistent with
the audio and with where the agent acts, and the `microturn train data` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from microturn.runtime.cli import main
from microturn.runtime.train import templates as tpl
from microturn.runtime.train import voices
from microturn.runtime.train.dataset import (DataOptions, held_out, make_shard, make_shard_isolated,
                                             pattern_of)
from microturn.runtime.train.labels import ACTION_INDEX, label_timeline
from microturn.runtime.train.mix import AcousticRanges
from microturn.runtime.engine.policy import FloorAction
from microturn.runtime.train.timeline import Timeline

SHORT = dict(hours=40 / 3600, shard_minutes=1.0, episode_seconds=(12.0, 20.0))


@pytest.fixture(scope="module")
def shard():
    return make_shard_isolated(DataOptions(seed=7, **SHORT), 0)


def test_same_seed_gives_identical_arrays(shard):
    again = make_shard_isolated(DataOptions(seed=7, **SHORT), 0)
    for key, arr in shard["arrays"].items():
        assert np.array_equal(arr, again["arrays"][key]), key
    assert shard["episode_meta"] == again["episode_meta"]
    other = make_shard_isolated(DataOptions(seed=8, **SHORT), 0)
    assert not np.array_equal(other["arrays"]["audio"][:32000], shard["arrays"]["audio"][:32000])


def test_arrays_are_consistent(shard):
    a = shard["arrays"]
    n = int(a["episode_turns"][-1])
    assert a["audio"].dtype == np.int16 and len(a["audio"]) == n * 3200
    for key in ("labels", "agent_state", "video_changed", "timer_due", "agent_text"):
        assert len(a[key]) == n
    # the agent's backchannel word is stored exactly at its BACKCHANNEL decisions
    bc = a["labels"] == ACTION_INDEX[FloorAction.BACKCHANNEL]
    assert bc.any()
    assert np.array_equal(a["agent_text"].any(axis=1), bc)
    assert shard["seconds"] >= 40 - 1e-6


def _episodes(shard):
    a = shard["arrays"]
    off = a["episode_turns"]
    for e, meta in enumerate(shard["episode_meta"]):
        lo, hi = int(off[e]), int(off[e + 1])
        yield Timeline.from_dict(meta["timeline"]), a["labels"][lo:hi], a["audio"][lo * 3200: hi * 3200]


def test_stored_labels_are_the_timelines_labels(shard):
    for tl, labels, _ in _episodes(shard):
        assert np.array_equal(label_timeline(tl).actions, labels)


def test_agent_acts_exactly_where_the_labels_say(shard):
    """Agent turns start right after a SPEAK decision (on a micro-turn boundary), agent
    backchannels right after a BACKCHANNEL decision."""
    speak, bc = ACTION_INDEX[FloorAction.SPEAK], ACTION_INDEX[FloorAction.BACKCHANNEL]
    seen_bc = 0
    for tl, labels, _ in _episodes(shard):
        for a in tl.agent:
            assert a.start % 200 == 0
            k = a.start // 200 - 1
            assert labels[k] == (speak if a.kind == "turn" else bc), (a, labels[k])
            seen_bc += a.kind == "backchannel"
        assert (labels == bc).sum() == sum(a.kind == "backchannel" for a in tl.agent)


def test_speech_is_where_the_timeline_says(shard):
    """Micro-turns inside the user's speech are much louder than those where nobody talks."""
    for tl, _, audio in _episodes(shard):
        x = audio.astype(np.float64).reshape(-1, 3200)
        energy = (x ** 2).mean(axis=1)
        speech, quiet = [], []
        for k in range(len(energy)):
            lo, hi = k * 200, k * 200 + 200
            busy = [s for u in tl.user_turns for s in u.spans]
            busy += [(s.start, s.end) for s in tl.agent + tl.others + tl.user_backchannels]
            if any(s <= lo and hi <= e for u in tl.user_turns for s, e in u.spans):
                speech.append(energy[k])
            elif not any(s < hi + 300 and lo - 300 < e for s, e in busy):  # 300 ms for reverb tails
                quiet.append(energy[k])
        if speech and quiet:
            assert np.median(speech) > 4 * np.median(quiet)


def test_held_out_voices_and_templates_never_in_training():
    short = {**SHORT, "hours": 20 / 3600}
    train = make_shard(DataOptions(seed=3, split="train", **short), 0)
    evals = make_shard(DataOptions(seed=3, split="eval", **short), 0)
    h = held_out()
    assert h["voice_variants"] and h["templates"]
    held_v, held_t = set(h["voice_variants"]), set(h["templates"])
    assert not held_v & set(voices.variants("train"))
    train_variants = {v.split("+")[1] for v in train["voices"]}
    eval_variants = {v.split("+")[1] for v in evals["voices"]}
    assert train_variants and not train_variants & held_v
    assert eval_variants <= held_v
    assert train["templates"] and not set(train["templates"]) & held_t
    eval_patterns = {t for t in evals["templates"] if t.split("/")[0] in tpl.HELD_OUT_FAMILIES}
    assert eval_patterns and eval_patterns <= held_t
    for meta in train["episode_meta"]:
        assert not {pattern_of(t) for t in meta["templates"]} & held_t


def test_template_and_voice_pools_are_large():
    assert tpl.template_count() >= 500
    assert len(voices.variants("train")) * len(voices.ACCENTS) >= 300


def test_train_data_command_writes_shards_and_manifest(tmp_path, capsys):
    out = tmp_path / "data"
    args = ["train", "data", "--out", str(out), "--hours", str(30 / 3600), "--seed", "5",
            "--shard-minutes", "0.25", "--workers", "2", "--quiet"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "microturn-train-data/1" and manifest["seed"] == 5
    assert len(manifest["shards"]) == 2 == summary["shards"]
    assert summary["hours"] == manifest["hours"] > 0
    for s in manifest["shards"]:
        with np.load(out / s["file"]) as z:
            assert len(z["labels"]) == int(z["episode_turns"][-1])
            assert sum(s["label_counts"].values()) == len(z["labels"])
    # an existing data set is not overwritten by accident
    assert main(args) == 2
    assert "already holds" in capsys.readouterr().err


def test_acoustic_ranges_set_the_noise_and_the_room(shard):
    noisy = make_shard_isolated(DataOptions(seed=7, acoustics=AcousticRanges(snr_db=(0, 6), user_rt60_s=(0.7, 0.9)),
                                            **SHORT), 0)
    # the shard's first episode keeps its words and timings (the room's impulse response has as
    # many random samples as its length, so the episodes after it are drawn differently)
    first_old, first_new = shard["episode_meta"][0], noisy["episode_meta"][0]
    assert first_old["timeline"] == first_new["timeline"] and first_old["templates"] == first_new["templates"]
    turns = int(shard["arrays"]["episode_turns"][1])
    assert np.array_equal(shard["arrays"]["labels"][:turns], noisy["arrays"]["labels"][:turns])
    assert not np.array_equal(shard["arrays"]["audio"][: turns * 3200], noisy["arrays"]["audio"][: turns * 3200])
    for old in shard["episode_meta"]:
        assert 12 <= old["acoustics"]["snr_db"] <= 60 and 0.1 <= old["acoustics"]["user_rt60"] <= 0.6
    for new in noisy["episode_meta"]:
        assert 0 <= new["acoustics"]["snr_db"] <= 6 and 0.7 <= new["acoustics"]["user_rt60"] <= 0.9


def test_acoustic_ranges_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["train", "data", "--out", str(out), "--hours", str(10 / 3600), "--shard-minutes", "1",
                 "--workers", "1", "--snr-db", "3,9", "--user-rt60", "0.2,0.8", "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["acoustics"] == {"snr_db": [3.0, 9.0], "user_rt60_s": [0.2, 0.8]}
    episodes = json.loads((out / manifest["shards"][0]["file"].replace(".npz", ".json")).read_text())
    assert all(3 <= e["acoustics"]["snr_db"] <= 9 for e in episodes["episodes"])
    bad_out = ["train", "data", "--out", str(tmp_path / "bad"), "--hours", "0.001", "--quiet"]
    for bad, message in ((["--snr-db", "9"], "expected LO,HI"), (["--snr-db", "9,3"], "must not exceed")):
        with pytest.raises(SystemExit) as exited:  # argparse's usage error
            main([*bad_out, *bad])
        assert exited.value.code == 2 and message in capsys.readouterr().err
    assert main([*bad_out, "--user-rt60", "0.1,5"]) == 2
    assert "not a room" in capsys.readouterr().err
    assert not (tmp_path / "bad" / "manifest.json").exists()


def test_bad_options_are_refused(tmp_path, capsys):
    assert main(["train", "data", "--out", str(tmp_path / "x"), "--hours", "0"]) == 2
    assert "hours must be positive" in capsys.readouterr().err
    with pytest.raises(ValueError):
        DataOptions(split="test")
    a_file = tmp_path / "file"
    a_file.write_text("not a directory")
    assert main(["train", "data", "--out", str(a_file), "--hours", "0.001", "--quiet"]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert a_file.read_text() == "not a directory"


class _WordClock:
    """A stand-in speaker for layout tests only: 250 ms of tone per word, no eSpeak."""

    def say(self, text, voice, seed, rate_jitter=0.0):
        return np.full(4000 * max(1, len(text.split())), 0.1, np.float32)


def _builder(seed, monkeypatch, cuts):
    from microturn.runtime.train.episodes import EpisodeBuilder
    from microturn.runtime.train.timeline import Timeline
    from microturn.runtime.train.voices import draw_voice

    monkeypatch.setattr(EpisodeBuilder, "PAUSE_CUTS", cuts)
    monkeypatch.setattr(EpisodeBuilder, "MONOLOGUE_PAUSE_CUTS", cuts)
    b = EpisodeBuilder(np.random.default_rng(seed), _WordClock())
    b.clips, b.templates, b.templates_text, b.tl = [], [], [], Timeline(duration_ms=0)
    b.user = b.agent = draw_voice(b.rng, "train")
    return b


def test_a_pause_cut_inside_a_clause_resumes_it_without_a_connector(monkeypatch):
    for seed in range(20):
        b = _builder(seed, monkeypatch, {"cut": 1.0, "lead_in": 0.0, "complete": 0.0})
        b.words.connector = lambda: "CONNECTOR"
        b._user_turn(0, n_pauses=1)
        first, rest = b.templates_text
        assert len(b.templates) == 1, "both parts come from one clause"
        assert "CONNECTOR" not in rest and first[-1] != "?"
    # after a complete clause the turn goes on with a connector
    b = _builder(0, monkeypatch, {"cut": 0.0, "lead_in": 0.0, "complete": 1.0})
    b.words.connector = lambda: "CONNECTOR"
    b._user_turn(0, n_pauses=1)
    assert b.templates_text[1].startswith("CONNECTOR ") and len(b.templates) == 2


def test_monologue_backchannels_come_only_after_complete_phrases(monkeypatch):
    for seed in range(10):
        b = _builder(seed, monkeypatch, {"cut": 1.0, "lead_in": 0.0, "complete": 0.0})
        b._user_turn(0, n_pauses=5, bc_after_ms=0)
        turn = b.tl.user_turns[0]
        # parts alternate: cut (incomplete) / rest of that clause (complete)
        assert turn.backchannel_pauses and all(i % 2 == 1 for i in turn.backchannel_pauses)


def test_half_the_interruptions_come_without_an_opener(monkeypatch):
    """Interruptions barge in with "wait," / "sorry," ... or straight with a question of their own."""
    from microturn.runtime.train.episodes import EpisodeBuilder

    with_opener = 0
    for seed in range(40):
        b = _builder(seed, monkeypatch, EpisodeBuilder.PAUSE_CUTS)
        b.others = [b.user]
        b._interrupted(0, np.zeros(16 * 6000, np.float32), "interrupt")
        said = b.templates_text[0]
        assert said.endswith("?") and b.tl.user_turns, said
        with_opener += said.split()[0].rstrip(",") in {o.split()[0].rstrip(",") for o in tpl.INTERRUPT_OPENERS}
    assert 10 <= with_opener <= 30


def test_some_interruptions_start_with_the_agents_first_words(monkeypatch):
    """With EARLY_SHARE on (0.25; off by default), a quarter of real interruptions begin within
    400 ms of the agent's onset; the labels still say YIELD from 300 ms after the user starts,
    and the agent is cut there."""
    from microturn.runtime.train.episodes import EpisodeBuilder
    from microturn.runtime.train.labels import LabelOptions

    monkeypatch.setattr(EpisodeBuilder, "EARLY_SHARE", 0.25)
    delays = []
    for seed in range(60):
        b = _builder(seed, monkeypatch, EpisodeBuilder.PAUSE_CUTS)
        b.others = [b.user]
        b._interrupted(1000, np.zeros(16 * 6000, np.float32), "interrupt")
        t_i = b.tl.user_turns[0].spans[0][0]
        delays.append(t_i - 1000)
        turn = b.tl.agent[0]
        assert turn.start == 1000 and turn.end >= t_i + LabelOptions().yield_delay_ms
    early = sum(d < 400 for d in delays)
    assert 5 <= early <= 28 and min(delays) >= 0


@pytest.mark.parametrize("kind", ["user_backchannel", "side_near"])
def test_backchannels_and_side_talk_also_come_early(monkeypatch, kind):
    """Speech in the agent's first 400 ms must not mean "interruption": with EARLY_SHARE on,
    backchannels and other speakers start that early in about that share of agent turns too;
    off (the default), none does."""
    from microturn.runtime.train import episodes

    def first_starts(seeds):
        delays = []
        for seed in seeds:
            b = _builder(seed, monkeypatch, episodes.EpisodeBuilder.PAUSE_CUTS)
            b.others = [b.user]
            b._agent_turn(1000)
            spans = b.tl.user_backchannels if kind == "user_backchannel" else b.tl.others
            assert len(spans) == (b.tl.agent[0].end - 1000 >= 1800)  # shorter turns get no overlap
            delays += [s.start - 1000 for s in spans]
        return delays

    weights = tuple(1.0 if k == kind else 0.0 for k in episodes.OVERLAPS)
    monkeypatch.setattr(episodes, "OVERLAP_WEIGHTS", weights)
    assert min(first_starts(range(40))) >= 200  # default: nothing that early
    monkeypatch.setattr(episodes.EpisodeBuilder, "EARLY_SHARE", 0.25)
    delays = first_starts(range(120))
    early = sum(d < 200 for d in delays)  # before 200 ms only the early share starts
    assert len(delays) >= 40 and 0.04 <= early / len(delays) <= 0.3 and min(delays) >= 0, (len(delays), early)


@pytest.mark.parametrize("share", [0.0, 0.4, 1.0])
def test_late_answer_share_sets_how_many_answers_come_late(share):
    """`late_answer_share` of the answers start 3-12 micro-turns after the first SPEAK
    decision (the silence before them is SPEAK); the rest at it or 1-2 micro-turns after."""
    from microturn.runtime.train.episodes import EpisodeBuilder
    from microturn.runtime.train.labels import LabelOptions
    from microturn.runtime.train.timeline import first_decision_at_or_after

    b = EpisodeBuilder(np.random.default_rng(7), _WordClock(), labels=LabelOptions(late_answer_share=share))
    ends = [1000 + 37 * i for i in range(400)]
    late = [(b._answer_at(e) - first_decision_at_or_after(e + 200)) // 200 for e in ends]
    assert all(0 <= k <= 12 for k in late)
    share_late = sum(k >= 3 for k in late) / len(late)
    assert abs(share_late - share) < 0.07, share_late
    with pytest.raises(ValueError, match="late_answer_share"):
        LabelOptions(late_answer_share=-0.1)
