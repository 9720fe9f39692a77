"""Bootstrap intervals over a suite's items (`eval run` with several policies)."""

import pytest

from microturn.runtime.eval import bootstrap

BC = "v1.5/user_backchannel"
KEY = f"{BC} continue_rate_proxy"


def _items(kinds, task=BC, prefix="bc"):
    return [{"item": f"{prefix}{i}", "task": task, "behaviour_proxy": k} for i, k in enumerate(kinds)]


def test_an_item_set_that_always_agrees_has_no_spread_and_a_mixed_one_has():
    every = _items(["continue"] * 12)
    half = _items(["continue", "stop"] * 6)
    report = bootstrap.bootstrap({"every": every, "half": half}, bootstrap.BootstrapOptions(draws=300, seed=1))
    pols = report["policies"]
    assert pols["every"]["targets"][KEY] == [1.0, 1.0]
    lo, hi = pols["half"]["targets"][KEY]
    assert lo < 0.5 < hi and hi - lo > 0.2  # 12 coin-flips: a wide interval around one half
    # everything else is unmeasured for both (a miss of 1 each), so the sums differ by the
    # backchannel target alone: "every" meets it, "half" misses it in every draw
    assert pols["half"]["sum"][0] > pols["every"]["sum"][1]
    assert pols["every"]["beats_first"] is None


def test_draws_are_paired_across_policies():
    # B rides through exactly the items A does, plus one more: paired, B is never worse, and
    # strictly better in every draw that picks that one item at least once
    a = _items(["continue"] * 6 + ["stop"] * 6)
    b = _items(["continue"] * 7 + ["stop"] * 5)
    pols = bootstrap.bootstrap({"a": a, "b": b}, bootstrap.BootstrapOptions(draws=400, seed=2))["policies"]
    share = pols["b"]["beats_first"]
    # P(item 6 picked at least once in 12 draws of 12) = 1 - (11/12)^12 = 0.65
    assert 0.55 < share < 0.75
    same = bootstrap.bootstrap({"a": a, "a2": [dict(r) for r in a]}, bootstrap.BootstrapOptions(draws=100))
    assert same["policies"]["a2"]["beats_first"] == 0.0  # never strictly below an identical twin


def test_failed_items_drop_out_and_the_seed_makes_it_reproducible():
    a = _items(["continue"] * 10 + ["stop"] * 2)
    b = [dict(r) for r in a]
    for r in b[10:]:
        r["error"] = "engine crashed"  # b failed exactly on the two items a did not ride through
    opts = bootstrap.BootstrapOptions(draws=200, seed=3)
    first = bootstrap.bootstrap({"a": a, "b": b}, opts)
    assert first["policies"]["b"]["targets"][KEY] == [1.0, 1.0]
    assert first == bootstrap.bootstrap({"a": a, "b": b}, opts)
    table = bootstrap.table(first)
    assert "sum below a's" in table and "backchannels ridden through" in table


@pytest.mark.parametrize("draws, level", [(0, 0.9), (100, 1.0), (100, 0.0)])
def test_bad_options_are_refused(draws, level):
    with pytest.raises(ValueError, match="bootstrap"):
        bootstrap.bootstrap({"a": _items(["stop"])}, bootstrap.BootstrapOptions(draws=draws, level=level))
