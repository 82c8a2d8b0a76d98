"""The one experiment protocol: split, embed, fit on train, analyse held-out pairs, memoised."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.experiments.protocol import experiment, split, task_experiment


@pytest.mark.parametrize("n, test_size, n_train", [(600, 0.5, 300), (601, 0.5, 300), (10, 3, 7), (5, 0.2, 4)])
def test_split_sizes_and_disjoint_sorted_cover(n, test_size, n_train):
    for shuffle in (True, False):
        train, test = split(n, test_size, shuffle=shuffle, seed=0)
        assert len(train) == n_train and len(test) == n - n_train
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    train, test = split(n, test_size, shuffle=False)
    assert np.array_equal(train, np.arange(n_train))


def test_split_with_shuffle_is_the_seeded_permutation():
    order = np.random.default_rng(0).permutation(600)
    train, test = split(600, 0.5, seed=0)
    assert np.array_equal(train, np.sort(order[:300])) and np.array_equal(test, np.sort(order[300:]))
    assert not np.array_equal(split(600, 0.5, seed=1)[0], train)


@pytest.mark.parametrize("args, error, message", [
    ((1,), ValueError, "n must be >= 2"),
    ((10, 10), ValueError, "test_size=10 leaves no train pairs"),
    ((10, 0.0), ValueError, "leaves 10 train and 0 test"),
    ((10, 1.5), ValueError, r"test_size must be in \[0.0, 1.0\]"),
    ((10, "half"), TypeError, "test_size must be a number"),
])
def test_split_refuses_impossible_sizes(args, error, message):
    with pytest.raises(error, match=message):
        split(*args)


@pytest.fixture(scope="module")
def clip():
    return gk.load_clip("tiny-shapes", device="cpu")


def test_experiment_splits_embeds_fits_and_memoises_on_identity_not_id(clip):
    ds = gk.make_task("match", n=60, seed=0)
    exp = experiment(clip, ds, test_size=0.5, seed=0)
    train, test = split(60, 0.5, seed=0)
    assert len(exp.feats_train) == len(train) and len(exp.feats_eval) == len(test)
    assert np.array_equal(exp.labels_eval, np.asarray(ds["label"])[test])
    assert exp.eval_ds["text"] == ds.select(test)["text"]
    head = exp.head("additive", epochs=2)
    assert exp.head("additive", epochs=2) is head and head.n_classes_ == 2
    grid = exp.grid("additive", epochs=2)
    assert grid.grid.shape == (len(test), len(test), 2)
    # the same CLIP weights loaded again (another object) get the same experiment
    again = gk.load_clip("tiny-shapes", device="cpu")
    assert again is not clip and experiment(again, ds, test_size=0.5, seed=0) is exp
    assert experiment(clip, ds, test_size=0.5, seed=1) is not exp
    del again
    gc.collect()
    assert experiment(clip, gk.make_task("match", n=60, seed=1), test_size=0.5, seed=0) is not exp


def test_task_experiment_uses_two_independent_samples(clip):
    exp = task_experiment(clip, "match", 40, n_train=60, seed=3)
    assert len(exp.feats_train) == 60 and len(exp.feats_eval) == 40
    assert exp.eval_ds._fingerprint == gk.make_task("match", n=40, seed=4)._fingerprint
    assert task_experiment(clip, "match", 40, n_train=60, seed=3) is exp


def test_experiment_names_bad_inputs(clip):
    ds = gk.make_task("match", n=20, seed=0)
    with pytest.raises(TypeError, match="clip must be a ClipModel"):
        experiment("tiny-shapes", ds)
    with pytest.raises(TypeError, match="data must be a datasets.Dataset"):
        experiment(clip, [1, 2, 3])
    with pytest.raises(ValueError, match="no 'answer' column"):
        experiment(clip, ds, label_column="answer")
    with pytest.raises(TypeError, match=r"experiment takes \(clip, data\)"):
        experiment(ds, clip)


def test_the_experiment_memo_keeps_the_last_few_and_can_be_cleared(clip, monkeypatch):
    from grounding_kit.experiments import protocol

    monkeypatch.setattr(protocol, "_EXPERIMENTS", protocol._Memo(2))
    first = task_experiment(clip, "match", 20, n_train=30, seed=0)
    second = task_experiment(clip, "match", 20, n_train=30, seed=1)
    assert task_experiment(clip, "match", 20, n_train=30, seed=0) is first   # used last now
    task_experiment(clip, "match", 20, n_train=30, seed=2)                   # evicts seed 1, the oldest
    assert len(protocol._EXPERIMENTS) == 2
    assert task_experiment(clip, "match", 20, n_train=30, seed=0) is first
    assert task_experiment(clip, "match", 20, n_train=30, seed=1) is not second
    gk.clear_experiments()
    assert len(protocol._EXPERIMENTS) == 0


def test_embed_refuses_the_old_argument_order(clip):
    with pytest.raises(TypeError, match=r"embed takes \(clip, ds\)"):
        gk.embed(gk.make_task("match", n=4, seed=0), clip)
