"""`microturn eval` argument handling: bad input gets a clear message and exit code 2."""

from __future__ import annotations

from pathlib import Path

from microturn.runtime.cli import main

OFFICIAL = Path(__file__).parent / "fixtures" / "official"


def test_unknown_policy_is_refused_with_the_known_names(tmp_path, capsys):
    assert main(["eval", "run", "--data", str(OFFICIAL), "--policy", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown policy ['nope']" in err and "floor-holder" in err and "silence-timeout-500" in err


def test_missing_data_folder_and_bad_synth_args(tmp_path, capsys):
    assert main(["eval", "score", "--data", str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["eval", "synth", "--out", str(tmp_path), "--tasks", "v9/nothing"]) == 2
    assert "unknown task" in capsys.readouterr().err


def test_score_without_outputs_lists_what_it_skipped(capsys):
    assert main(["eval", "score", "--data", str(OFFICIAL)]) == 0
    out = capsys.readouterr().out
    assert "0 items" in out and out.count("no output.wav to score") == 8 and "bad_timestamp" in out


def test_bad_app_or_policy_option_fails_once_before_any_item(tmp_path, capsys):
    args = ["eval", "run", "--data", str(OFFICIAL), "--out", str(tmp_path), "--policy", "floor-holder"]
    assert main(args + ["--app", str(tmp_path / "missing.py")]) == 2
    assert "missing.py" in capsys.readouterr().err
    assert main(args + ["--checkpoint", "x.safetensors"]) == 2      # no policy given takes a checkpoint
    assert "checkpoint" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())                              # nothing was run or written


def test_a_checkpoint_goes_only_to_the_policies_that_take_one(tmp_path, monkeypatch, capsys):
    """`--policy model,silence-timeout-800 --checkpoint X`: the model gets X, the baseline is
    built without it (it used to get it too, and fail with a TypeError)."""
    from microturn.runtime.eval import runner
    from microturn.runtime.model.checkpoint import save_checkpoint
    from microturn.runtime.model.config import get_config
    from microturn.runtime.model.transformer import InteractionModel

    ckpt = save_checkpoint(InteractionModel(get_config("tiny")), tmp_path / "ckpt")
    built = {}

    def fake_run_suite(data, out, options, **kwargs):  # build the policy as a worker would; run nothing
        built[options.policy] = runner._make_policy(options)
        return [], []

    monkeypatch.setattr(runner, "run_suite", fake_run_suite)
    code = main(["eval", "run", "--data", str(OFFICIAL), "--out", str(tmp_path / "runs"),
                 "--policy", "model,silence-timeout-800", "--checkpoint", str(ckpt), "--no-plots"])
    assert code == 0, capsys.readouterr().err
    assert sorted(built) == ["model", "silence-timeout-800"]
    assert runner.policy_kwargs("model", str(ckpt)) == {"checkpoint": str(ckpt)}
    assert runner.policy_kwargs("silence-timeout-800", str(ckpt)) == {}
    # the model really loaded X: a missing checkpoint fails the run up front, naming it
    assert main(["eval", "run", "--data", str(OFFICIAL), "--out", str(tmp_path / "runs2"),
                 "--policy", "model,silence-timeout-800", "--checkpoint", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
