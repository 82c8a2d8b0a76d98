"""gk.interaction_table, the perceptual score's interval and the PID tasks, on small inputs (no CLIP)."""

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.analysis.measures_table import INTERSHAP, MEASURES, MM_SHAP_TEXT
from grounding_kit.models.features import Features
from grounding_kit.world.pid_tasks import make_pid_task, pid_joint


def xor_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    return a, b, (a == b).astype(int)


def test_the_table_on_an_xor_grid():
    a, b, y = xor_data()
    grid = np.zeros((len(y), len(y), 2))
    grid[..., 1] = np.where(a[:, None] == b[None, :], 3.0, -3.0)
    feats = Features(text=a[:, None].astype(float), image=b[:, None].astype(float))
    table = gk.interaction_table(y, {"xor": gk.GridModel(grid)}, feats, clusters=2, rounds=10, n_boot=20)
    assert set(table["measure"]) == set(MEASURES)
    value = table.set_index("measure")["value"]
    assert value["PID synergy"] == pytest.approx(1.0, abs=0.05)
    assert value["accuracy"] == 1.0 and value["EMAP accuracy"] < 0.75
    assert value[INTERSHAP] > 0.7  # 1 exactly for balanced bits (test_analysis_shapley); a sample is not
    assert (table["ci_low"] <= table["value"] + 1e-9).all() and (table["value"] <= table["ci_high"] + 0.2).all()
    assert set(table.loc[table["measure"].str.startswith("PID"), "describes"]) == {"data"}
    assert set(table.loc[~table["measure"].str.startswith("PID"), "describes"]) == {"model"}


def test_the_shapley_rows_say_one_player_per_modality():
    assert "one player per modality" in MM_SHAP_TEXT and "one player per modality" in INTERSHAP
    assert {MM_SHAP_TEXT, INTERSHAP} <= set(MEASURES)


def noisy_grid(n=120, seed=0):
    """An additive model g(t) + h(v) that reads the text more than the image, on noisy labels."""
    rng = np.random.default_rng(seed)
    t, v = rng.normal(size=n), rng.normal(scale=0.6, size=n)
    y = (t + v + rng.normal(scale=0.5, size=n) > 0).astype(int)
    grid = np.zeros((n, n, 2))
    grid[..., 1] = t[:, None] + v[None, :]
    return y, grid


def test_the_perceptual_interval_is_an_interval_for_the_reported_mean():
    y, grid = noisy_grid()
    exact = gk.perceptual_score(y, grid)
    for side in ("image", "text"):
        est = gk.perceptual_score_interval(y, grid, shuffle=side, rounds=200)
        # the reported value is the mean over permutations: close to the exact expectation over derangements
        assert est.score == pytest.approx(getattr(exact, side), abs=0.03)
        assert est.ci_low <= est.score <= est.ci_high
        assert est.ci_low < getattr(exact, side) < est.ci_high
        # one run of Gat et al.'s procedure (one permutation, one sample) spreads wider than the mean's interval
        assert est.single_run_low < est.ci_low and est.ci_high < est.single_run_high
        assert est.scores.shape == (200,)
        assert est.single_run_low == pytest.approx(np.percentile(est.scores, 2.5))


def test_the_mean_interval_narrows_with_more_permutations_and_single_runs_do_not():
    y, grid = noisy_grid()
    few, many = (gk.perceptual_score_interval(y, grid, shuffle="text", rounds=r, seed=1) for r in (5, 400))
    assert many.ci_high - many.ci_low < few.ci_high - few.ci_low
    spread = lambda e: e.single_run_high - e.single_run_low  # noqa: E731
    assert spread(many) > 2 * (many.ci_high - many.ci_low)


def test_bad_input():
    a, b, y = xor_data(10)
    feats = Features(text=a[:, None].astype(float), image=b[:, None].astype(float))
    with pytest.raises(ValueError, match="inconsistent"):
        gk.interaction_table(y[:5], gk.GridModel(np.zeros((10, 10, 2))), feats)
    with pytest.raises(TypeError, match="Features"):
        gk.interaction_table(y, gk.GridModel(np.zeros((10, 10, 2))), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="rounds"):
        gk.perceptual_score_interval(y, np.zeros((10, 10, 2)), rounds=1)
    with pytest.raises(ValueError, match="shuffle"):
        gk.perceptual_score_interval(y, np.zeros((10, 10, 2)), shuffle="audio")
    with pytest.raises(ValueError, match="n_boot"):
        gk.perceptual_score_interval(y, np.zeros((10, 10, 2)), n_boot=1)
    with pytest.raises(TypeError, match="two modalities"):
        gk.interaction_table(y, gk.GridModel(np.zeros((10, 10, 2))), [a[:, None] * 1.0, b[:, None] * 1.0, b[:, None] * 1.0])


def test_pid_tasks_follow_their_rules():
    for name in ("redundant", "unique_text", "unique_image", "synergy"):
        ds = make_pid_task(name, n=40, seed=0, size=32, cache=False)
        a, b, y = (np.array(ds[c]) for c in ("text_bit", "image_bit", "label"))
        warm = lambda s: any(c in s for c in ("red", "orange", "yellow"))  # noqa: E731
        assert [int(warm(t)) for t in ds["text"]] == a.tolist()
        assert [int(warm(s)) for s in ds["scene"]] == b.tolist()
        rule = {"redundant": a == y, "unique_text": a == y, "unique_image": b == y, "synergy": (a == b) == y}[name]
        assert rule.all()
    assert gk.make_task("synergy", n=8, seed=0, size=32, cache=False)["task"] == ["synergy"] * 8


def colours(ds):
    from grounding_kit.world.scenes import COLORS

    return ([next(c for c in COLORS if c in s) for s in ds["text"]],
            [next(c for c in COLORS if c in s) for s in ds["scene"]])


def test_the_dial_hides_its_rule_in_the_colours():
    """In pid_mix both rules name a circle drawn independently of the one shown: among rows whose bits
    agree, the caption names the colour shown about as often (1 in 3) under either rule. Were the redundant
    rows to name the very circle shown, the colours would reveal the rule and carry more than the bits."""
    ds = make_pid_task("pid_mix", n=400, seed=0, size=32, cache=False, synergy=0.5)
    text, image = colours(ds)
    same = np.array(text) == np.array(image)
    agree = np.array(ds["text_bit"]) == np.array(ds["image_bit"])
    rule = np.array(ds["rule"])
    for name in ("redundant", "synergy"):
        assert 0.2 < same[agree & (rule == name)].mean() < 0.5


def test_the_colours_carry_the_exact_pid_of_the_bits():
    """The bits are sufficient: the PID of (caption colour, image colour, label) is that of pid_joint."""
    ds = make_pid_task("pid_mix", n=1500, seed=0, size=32, cache=False, synergy=0.5)
    text, image = colours(ds)
    measured, exact = gk.pid(text, image, ds["label"]), gk.pid(pid_joint("pid_mix", synergy=0.5))
    # plug-in bias of a 6 x 6 x 2 table on 1,500 rows: about 71 / (2 * 1500 * ln 2) = 0.03 bits (pid_features)
    for part in ("redundancy", "unique_1", "unique_2", "synergy"):
        assert getattr(measured, part) == pytest.approx(getattr(exact, part), abs=0.06), part
    with pytest.raises(TypeError, match="unknown dials"):
        make_pid_task("synergy", n=4, synergy=0.5)
    with pytest.raises(ValueError, match="synergy"):
        make_pid_task("pid_mix", n=4, synergy=2.0)
