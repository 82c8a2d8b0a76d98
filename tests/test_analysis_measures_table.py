"""gk.interaction_table, the perceptual score's interval and the PID tasks, on small inputs (no CLIP)."""

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.analysis.measures_table import MEASURES
from grounding_kit.models.features import Features
from grounding_kit.world.pid_tasks import make_pid_task


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
    assert value["InterSHAP score"] > 0.7  # 1 exactly for balanced bits (test_analysis_shapley); a sample is not
    assert (table["ci_low"] <= table["value"] + 1e-9).all() and (table["value"] <= table["ci_high"] + 0.2).all()
    assert set(table.loc[table["measure"].str.startswith("PID"), "describes"]) == {"data"}
    assert set(table.loc[~table["measure"].str.startswith("PID"), "describes"]) == {"model"}


def test_perceptual_interval_brackets_the_exact_score():
    a, b, y = xor_data(80)
    grid = np.zeros((len(y), len(y), 2))
    grid[..., 1] = np.where(a[:, None] == b[None, :], 3.0, -3.0)
    exact = gk.perceptual_score(y, grid)
    for side in ("image", "text"):
        est = gk.perceptual_score_interval(y, grid, shuffle=side, rounds=40)
        assert est.ci_low < getattr(exact, side) < est.ci_high
        assert est.scores.shape == (40,) and est.ci_low < est.ci_high


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
    with pytest.raises(TypeError, match="unknown dials"):
        make_pid_task("synergy", n=4, synergy=0.5)
    with pytest.raises(ValueError, match="synergy"):
        make_pid_task("pid_mix", n=4, synergy=2.0)
