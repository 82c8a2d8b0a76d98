"""The cached logit grids of a task experiment (grounding_kit.experiments.grid_cache) and the numpy reshuffles
that read them (grounding_kit.analysis.permutations): the same numbers as the torch path, a cache
that is never reused across model versions, recomputed when corrupt, and read without torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import grounding_kit as gk
from grounding_kit.experiments import grid_cache
from grounding_kit.analysis import GridModel, reshuffle, reshuffle_average
from grounding_kit.analysis.permutations import (permuted_pairs, reshuffle_grid, reshuffle_grid_average,
                                                 shuffle_permutation)
from grounding_kit.models.registry import TINY_CLIP, embedded_path
from grounding_kit.experiments.protocol import task_experiment

N, N_TRAIN = 24, 60
REQUEST = dict(n_train=N_TRAIN, seed=0, interaction=0.5)


@pytest.fixture(scope="module")
def cached():
    """The grids of the mixed task for the embedded CLIP, computed into the test cache."""
    path = grid_cache.task_grids_path(TINY_CLIP, "mixed", N, **REQUEST)
    if path.exists():
        path.unlink()
    return grid_cache.task_grids(TINY_CLIP, "mixed", N, progress=False, **REQUEST)


# ------------------------------------------------------------ numpy reshuffles = the torch ones


@pytest.mark.parametrize("shuffle", ["image", "text"])
def test_reshuffle_grid_equals_reshuffle_of_the_grid_model(shuffle):
    grid = np.random.default_rng(0).normal(size=(9, 9, 3))
    model = GridModel(torch.from_numpy(grid))
    for fraction, seed in [(0.0, 1), (0.5, 2), (1.0, 3)]:
        expected = reshuffle(model, model.features(), fraction, seed=seed, shuffle=shuffle).numpy()
        np.testing.assert_array_equal(reshuffle_grid(grid, fraction, seed=seed, shuffle=shuffle), expected)
        perm = shuffle_permutation(9, fraction, seed)
        np.testing.assert_array_equal(permuted_pairs(grid, perm, shuffle), expected)
    averages = zip(reshuffle_grid_average(grid, 5, seed=7, shuffle=shuffle),
                   reshuffle_average(model, model.features(), 5, seed=7, shuffle=shuffle))
    for ours, theirs in averages:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)


def test_reshuffle_grid_refuses_bad_input():
    with pytest.raises(ValueError, match="shuffle"):
        reshuffle_grid(np.zeros((4, 4, 2)), 0.5, shuffle="both")
    with pytest.raises(ValueError, match="square"):
        reshuffle_grid(np.zeros((4, 3, 2)), 0.5)
    with pytest.raises(TypeError, match="grid"):
        next(reshuffle_grid_average([[0.0, 1.0], [1.0, 0.0]], 3))
    with pytest.raises(ValueError, match=r"checked \(N, N, C\)"):
        permuted_pairs(np.zeros((4, 4)), np.arange(4))
    with pytest.raises(ValueError, match=r"perm must be an integer permutation of shape \(4,\)"):
        permuted_pairs(np.zeros((4, 4, 2)), np.arange(3))


# ------------------------------------------------------------ the cache


def test_task_grids_are_the_experiments_grids(cached):
    exp = task_experiment(gk.load_clip(), "mixed", N, **REQUEST)
    for kind in grid_cache.KINDS:
        np.testing.assert_array_equal(cached.grid(kind), exp.grid(kind).grid.numpy())
    np.testing.assert_array_equal(cached.labels, exp.labels_eval)
    assert cached.texts == list(exp.eval_ds["text"])
    from PIL import Image
    import io

    for png, image in zip(cached.images[:3], exp.eval_ds["image"][:3]):
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")),
                                      np.asarray(image.convert("RGB")))
    with pytest.raises(ValueError, match="kind must be one of"):
        cached.grid("bilinear")


def test_a_second_call_reads_the_file(cached, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("recomputed although the cache is warm")

    monkeypatch.setattr(grid_cache, "_compute", fail)
    again = grid_cache.task_grids(TINY_CLIP, "mixed", N, progress=False, **REQUEST)
    np.testing.assert_array_equal(again.grid("interactive"), cached.grid("interactive"))
    assert again.images == cached.images and again.key == cached.key


def test_a_corrupt_cache_is_recomputed(cached):
    path = grid_cache.task_grids_path(TINY_CLIP, "mixed", N, **REQUEST)
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    with pytest.warns(RuntimeWarning, match="unreadable"):
        again = grid_cache.task_grids(TINY_CLIP, "mixed", N, progress=False, **REQUEST)
    np.testing.assert_array_equal(again.grid("additive"), cached.grid("additive"))
    assert np.load(path)["key"] == cached.key  # rewritten whole


def test_a_file_of_another_key_is_recomputed(cached, tmp_path):
    path = grid_cache.task_grids_path(TINY_CLIP, "mixed", N, **REQUEST)
    other = grid_cache.task_grids_path(TINY_CLIP, "mixed", N, **{**REQUEST, "seed": 5})
    shutil.copy(path, other)  # the seed-0 grids under the seed-5 name
    with pytest.warns(RuntimeWarning, match="expected"):
        grids = grid_cache.task_grids(TINY_CLIP, "mixed", N, progress=False, **{**REQUEST, "seed": 5})
    assert grids.texts != cached.texts


def test_another_model_version_misses_the_cache(cached, tmp_path):
    """A retrained CLIP (other weights in its folder) gets its own grids; its model card does not count."""
    from safetensors.numpy import load_file, save_file

    folder = tmp_path / "tiny-shapes-v9"
    shutil.copytree(embedded_path(TINY_CLIP), folder)
    card_only = tmp_path / "card-only"
    shutil.copytree(embedded_path(TINY_CLIP), card_only)
    (card_only / "README.md").write_text("another model card")
    assert grid_cache.files_hash(card_only) == grid_cache.files_hash(embedded_path(TINY_CLIP))
    weights = load_file(folder / "model.safetensors")
    name = sorted(weights)[0]
    weights[name] = weights[name] * 1.5
    save_file(weights, folder / "model.safetensors")
    assert grid_cache.files_hash(folder) != grid_cache.files_hash(embedded_path(TINY_CLIP))
    assert (grid_cache.task_grids_path(str(folder), "mixed", N, **REQUEST)
            != grid_cache.task_grids_path(TINY_CLIP, "mixed", N, **REQUEST))
    retrained = grid_cache.task_grids(str(folder), "mixed", N, progress=False, **REQUEST)
    assert not np.array_equal(retrained.grid("interactive"), cached.grid("interactive"))
    # a loaded model is keyed on its weights, so it never shares grids with another version either
    assert grid_cache.clip_identity(gk.load_clip(str(folder)))[1] != grid_cache.clip_identity(gk.load_clip())[1]


def test_the_key_covers_every_argument():
    base = dict(n_train=N_TRAIN, seed=0, size=64, interaction=0.5)
    path = grid_cache.task_grids_path(TINY_CLIP, "mixed", N, **base)
    changed = [dict(base, n_train=N_TRAIN + 1), dict(base, seed=1), dict(base, size=48), dict(base, interaction=0.25)]
    others = {grid_cache.task_grids_path(TINY_CLIP, "mixed", N, **args) for args in changed}
    others.add(grid_cache.task_grids_path(TINY_CLIP, "mixed", N + 1, **base))
    others.add(grid_cache.task_grids_path(TINY_CLIP, "mixed", N, kinds=("interactive",), **base))
    assert path not in others and len(others) == 6


def test_task_grids_refuses_bad_arguments():
    with pytest.raises(ValueError, match="task"):
        grid_cache.task_grids(TINY_CLIP, "nope", N)
    with pytest.raises(TypeError, match="kinds"):
        grid_cache.task_grids(TINY_CLIP, "mixed", N, kinds="interactive")
    with pytest.raises(TypeError, match="clip"):
        grid_cache.task_grids(42, "mixed", N)
    with pytest.raises(ValueError, match="n must"):
        grid_cache.task_grids(TINY_CLIP, "mixed", 1)


def test_a_warm_cache_builds_the_reshuffle_lab_without_torch(cached):
    """In a fresh process: read the grids, build the lab, drag, reshuffle; torch and open_clip stay unloaded."""
    code = f"""
import json, sys
from grounding_kit.experiments.grid_cache import task_grids
from grounding_kit.widgets import reshuffle_lab
grids = task_grids({TINY_CLIP!r}, "mixed", {N}, progress=False, **{REQUEST!r})
lab = reshuffle_lab(grids.grid("interactive"), None, grids.labels, additive=grids.grid("additive"),
                    images=grids.images, texts=grids.texts, seed=0)
lab.set_fraction(0.5)
lab.reshuffle(3)
print(json.dumps({{"loaded": [m for m in ("torch", "open_clip", "transformers", "datasets") if m in sys.modules],
                   "k": lab.experiment.k, "accuracy": list(lab.fig_acc.data[0].y)}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["loaded"] == [] and out["k"] == 3 and None not in out["accuracy"]


def test_reshuffle_lab_from_grids_equals_the_lab_from_the_heads(cached):
    exp = task_experiment(gk.load_clip(), "mixed", N, **REQUEST)
    from grounding_kit import widgets as gkw

    from_heads = gkw.reshuffle_lab(exp.head("interactive"), exp.feats_eval, exp.labels_eval,
                                   additive=exp.head("additive"), seed=3)
    from_grids = gkw.reshuffle_lab(cached.grid("interactive"), None, cached.labels,
                                   additive=cached.grid("additive"), seed=3)
    for lab in (from_heads, from_grids):
        lab.set_fraction(0.5)
        lab.reshuffle(4)
    ours, theirs = from_grids.experiment.predictions(), from_heads.experiment.predictions()
    assert list(ours) == list(theirs)
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12)
    assert list(from_grids.fig_acc.data[0].y) == list(from_heads.fig_acc.data[0].y)
    with pytest.raises(ValueError, match="feats were given too"):
        gkw.reshuffle_lab(cached.grid("interactive"), exp.feats_eval, cached.labels)
    with pytest.raises(TypeError, match="feats is required"):
        gkw.reshuffle_lab(exp.head("interactive"), None, cached.labels)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gkw.reshuffle_lab(cached.grid("interactive"), None, cached.labels[:10])
