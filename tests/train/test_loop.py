"""The training loop: a short run lowers the loss, writes a checkpoint the model package loads
(and the `model` policy runs), and resumes where it stopped."""

from __future__ import annotations

import numpy as np
import pytest

from microturn.runtime.cli import main
from microturn.runtime.engine.policy import PendingInterjection, TurnInput, make_policy
from microturn.runtime.model.checkpoint import load_model
from microturn.runtime.model.config import ModelConfig
from microturn.runtime.model.layout import NONE_BYTE
from microturn.runtime.model.policy import turn_flags
from microturn.runtime.train.batches import TrainingSet, turn_flags_array
from microturn.runtime.train.dataset import DataOptions, generate
from microturn.runtime.train.loop import TrainOptions, train

SMALL = ModelConfig(name="test-small", d_model=32, n_layers=2, n_heads=2, n_kv_heads=1, head_dim=16,
                    n_experts=2, top_k=1, d_expert=64, window_turns=8)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    # seed 16: these two minutes hold monologue backchannels and a visual event
    generate(out, DataOptions(hours=2 / 60, seed=16, shard_minutes=1.0, episode_seconds=(20.0, 40.0)),
             workers=2, progress=False)
    return out


def test_flags_follow_the_policys_order():
    for state, video, timer in [(1, 0, 0), (2, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 0)]:
        ti = TurnInput("s", 200, np.zeros(3200, np.float32), agent_speaking=state != 0,
                       video_changed=bool(video), timer_due=bool(timer))
        ours = turn_flags_array(np.array([state]), np.array([video]), np.array([timer]))[0]
        assert ours.tolist() == turn_flags(ti)
    # the two interjection flags are the ones the data never sets
    ti = TurnInput("s", 200, np.zeros(3200, np.float32),
                   interjections=[PendingInterjection("i", "urgent", 10_000)])
    assert turn_flags(ti)[:3] == [0, 0, 0] and turn_flags(ti)[3:] == [1, 1]


def test_batches_feed_the_backchannel_word_back(data_dir):
    data = TrainingSet(data_dir, SMALL)
    bc = np.flatnonzero(data.labels == 1)  # BACKCHANNEL decisions
    assert len(bc) > 0
    k = int(bc[0])
    lo = next(a for a, b in data.train_episodes + data.val_episodes if a <= k - 2 and k + 2 < b)
    batch = data.crops([(k - 2, lo)])
    word = bytes(data.text[k][data.text[k] != 0]).decode()
    assert word in ("mhm", "mm", "okay", "yeah", "sure", "ok", "aha")
    assert batch.labels[0, 2] == 1
    target = [b for b in batch.text_target[0, 2].tolist() if b != NONE_BYTE]
    assert bytes(target).decode() == word[: SMALL.text_out]
    fed_back = [b for b in batch.inputs.agent_bytes[0, 3].tolist() if b != NONE_BYTE]
    assert fed_back == target
    assert (batch.inputs.agent_bytes[0, :3] == NONE_BYTE).all()


def test_short_run_lowers_loss_writes_loadable_checkpoint_and_resumes(data_dir, tmp_path):
    out = tmp_path / "ckpt"
    options = TrainOptions(minutes=10, batch_size=8, lr=5e-3, max_steps=60, validation_batches=4, threads=1,
                           progress=False)
    result = train(data_dir, out, options, model_config=SMALL)
    assert result["steps"] == 60
    assert result["val_floor_loss"] < 0.9 * result["initial_val_floor_loss"]
    assert result["last_loss"] < result["first_loss"]

    model = load_model(out)
    assert model.config == SMALL
    policy = make_policy("model", checkpoint=str(out))
    policy.open("a")
    decisions = policy.step([TurnInput("a", 200, np.zeros(3200, np.float32))])
    assert len(decisions) == 1 and decisions[0].action is not None

    again = train(data_dir, out, TrainOptions(**{**options.__dict__, "max_steps": 63, "eval_data": str(data_dir)}),
                  model_config=SMALL)
    assert again["steps"] == 63 and again["steps_this_run"] == 3
    assert again["heldout_floor_loss"] > 0 and set(again["heldout_recall"]) == set(again["val_recall"])
    assert again["initial_val_floor_loss"] == result["initial_val_floor_loss"]


def test_init_fine_tunes_from_a_checkpoints_weights(data_dir, tmp_path):
    base = tmp_path / "base"
    options = TrainOptions(minutes=10, batch_size=8, lr=5e-3, max_steps=40, validation_batches=4, threads=1,
                           progress=False)
    first = train(data_dir, base, options, model_config=SMALL)
    tuned = train(data_dir, tmp_path / "tuned", TrainOptions(**{**options.__dict__, "max_steps": 2, "lr": 1e-9,
                                                                 "init": str(base)}), model_config=SMALL)
    # it starts where the base run ended (same weights, same validation crops), not from a random draw
    assert tuned["init"] == str(base) and tuned["steps"] == 2
    assert tuned["initial_val_floor_loss"] == pytest.approx(first["val_floor_loss"], rel=1e-3)
    assert tuned["initial_val_floor_loss"] < 0.9 * first["initial_val_floor_loss"]
    other = ModelConfig(**{**SMALL.__dict__, "name": "test-other", "d_model": 48, "head_dim": 24})
    with pytest.raises(ValueError, match="shapes differ"):
        train(data_dir, tmp_path / "mismatch", TrainOptions(**{**options.__dict__, "init": str(base)}),
              model_config=other)


def test_train_command_reports_bad_input(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "ck")]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert main(["train", "--config", "tiny"]) == 2
    assert "--data DIR and --out PATH are required" in capsys.readouterr().err


def test_train_command_refuses_a_device_it_cannot_use(data_dir, tmp_path, capsys):
    import torch

    assert main(["train", "--data", str(data_dir), "--out", str(tmp_path / "ck"), "--device", "tpu9"]) == 2
    assert "unknown training device 'tpu9'" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["train", "--data", str(data_dir), "--out", str(tmp_path / "ck"), "--device", "cuda"]) == 2
        assert "torch sees no CUDA device here" in capsys.readouterr().err
    assert not (tmp_path / "ck").exists()  # refused before anything was written


def test_training_attention_matches_the_reference():
    import torch

    from microturn.runtime.model.backends import attention_torch
    from microturn.runtime.train.ops import TrainingOps

    g = torch.Generator().manual_seed(0)
    q = torch.randn(3, 40, 4, 16, generator=g)
    k = torch.randn(3, 40, 2, 16, generator=g)
    v = torch.randn(3, 40, 2, 16, generator=g)
    full = torch.full((3,), 40)
    assert torch.allclose(TrainingOps().attention(q, k, v, full), attention_torch(q, k, v, full), atol=1e-5)
    # a padded cache (the streaming case) is left to the model's own torch ops, unchanged
    from microturn.runtime.model.backends import TorchOps

    short = torch.tensor([40, 30, 12])
    assert torch.equal(TrainingOps().attention(q[:, -8:], k, v, short), TorchOps().attention(q[:, -8:], k, v, short))


def test_training_forward_matches_the_streaming_step():
    """The logits training optimises are the ones the live policy computes turn by turn."""
    import torch

    from microturn.runtime.model.features import random_turns
    from microturn.runtime.model.streaming import StreamingSessions
    from microturn.runtime.model.transformer import InteractionModel
    from microturn.runtime.train.ops import TrainingOps, forward_training

    torch.manual_seed(0)
    model = InteractionModel(SMALL, ops=TrainingOps()).eval()
    tt = random_turns(SMALL, 1, 6, torch.Generator().manual_seed(1))
    with torch.no_grad():
        floor, _ = forward_training(model, tt)
    sessions = StreamingSessions(model)
    sessions.open("a")
    steps = [sessions.step(["a"], tt.index((slice(None), slice(i, i + 1))))[0] for i in range(6)]
    assert torch.allclose(floor[0], torch.cat(steps), atol=1e-4)


def test_whiteboard_frames_change_exactly_at_visual_events(data_dir):
    assert not TrainingSet(data_dir, SMALL, video_share=0.0).has_video.any()
    data = TrainingSet(data_dir, SMALL, video_share=1.0)
    assert data.has_video.all()
    changes = np.flatnonzero(data.flags[:, 1] > 0)
    with_video = [k for k in changes if data.has_video[k] and data.episode[k - 1] == data.episode[k]]
    assert with_video, "no visual event in an episode with video"
    k = int(with_video[0])
    lo = next(a for a, b in data.train_episodes + data.val_episodes if a <= k - 3 < k + 1 < b)
    batch = data.crops([(k - 3, lo)])
    v = batch.inputs.video[0]
    assert batch.inputs.video_present[0].all()
    step = (v[1:] - v[:-1]).abs().mean(dim=(1, 2, 3))  # change between consecutive turns
    # only sensor noise before the event, a new picture at it
    assert step[2] > 5 * step[0] and step[2] > 5 * step[1]


def test_group_weight_scale_moves_the_decision_threshold():
    from microturn.runtime.train.batches import GROUPS
    from microturn.runtime.train.loop import class_weights

    counts = np.array([600, 5, 300, 40, 4, 1, 30])
    plain = class_weights(counts, 0.5)
    scaled = class_weights(counts, 0.5, (("TAKE", 0.4), ("YIELD", 0.6)))
    take, listen, yld = GROUPS.index("TAKE"), GROUPS.index("LISTEN"), GROUPS.index("YIELD")
    # the TAKE:LISTEN ratio (the odds at which a silence is called a turn end) shrinks by 0.4
    assert float(scaled[take] / scaled[listen]) == pytest.approx(0.4 * float(plain[take] / plain[listen]), rel=1e-5)
    assert float(scaled[yld] / scaled[listen]) == pytest.approx(0.6 * float(plain[yld] / plain[listen]), rel=1e-5)
    freq = counts / counts.sum()
    assert float((scaled.numpy() * freq).sum()) == pytest.approx(1.0, rel=1e-5)  # still mean 1
    with pytest.raises(ValueError, match="unknown label group"):
        class_weights(counts, 0.5, (("TAKEOVER", 0.5),))


def test_group_weight_option_replaces_one_default_and_refuses_bad_input():
    from microturn.runtime.commands.train import _group_weights

    assert dict(_group_weights(["TAKE=1.0"])) == {"TAKE": 1.0, "YIELD": 0.6}
    assert dict(_group_weights([])) == {"TAKE": 0.4, "YIELD": 0.6}
    for bad in ("TAKE", "NOPE=1", "TAKE=x", "TAKE=0"):
        with pytest.raises(ValueError, match="--group-weight"):
            _group_weights([bad])


def test_feature_cache_is_written_whole_and_a_cut_one_is_computed_again(data_dir, tmp_path):
    """Two trainings started together on one data set share its dMel cache: each file appears
    whole (renamed into place) or not at all, and a file cut short is recomputed, not a crash."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(data_dir, data, ignore=shutil.ignore_patterns("*.dmel-*"))
    first = TrainingSet(data, SMALL)
    caches = sorted(data.glob("*.dmel-*.npy"))
    assert caches and not list(data.glob("*.tmp*"))
    whole = np.load(caches[0])
    caches[0].write_bytes(caches[0].read_bytes()[: 300])  # what a reader racing a writer saw
    again = TrainingSet(data, SMALL)
    assert np.array_equal(np.load(caches[0]), whole)
    assert np.array_equal(again.batch(np.random.default_rng(0), 2).inputs.audio,
                          first.batch(np.random.default_rng(0), 2).inputs.audio)
