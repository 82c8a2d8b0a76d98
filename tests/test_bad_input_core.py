"""Bad input to core (seeds, caches, memory budget, paths): the kit's convention is a clear error naming the argument, shape or file."""

from __future__ import annotations

import numpy as np
import pytest

import grounding_kit as gk
from conftest import CountingClip, _rgb
from grounding_kit.core.validation import BudgetError, check_seed, seed_int


# ---------------------------------------------------------------- seeds: one validator, shared by every randomised function


BAD_SEEDS = [("abc", TypeError), (1.5, TypeError), (1.7, TypeError), (-1, ValueError), (True, TypeError),
             (None, TypeError), (2**64, ValueError), (np.float64(2.0), TypeError), ([1], TypeError)]


@pytest.mark.parametrize("seed, error", BAD_SEEDS)
def test_check_seed_refuses(seed, error):
    with pytest.raises(error, match="seed must be an integer"):
        check_seed(seed)


def test_check_seed_accepts_ints_and_generators():
    assert check_seed(np.int64(7)) == 7 and type(check_seed(np.int64(7))) is int
    rng = np.random.default_rng(0)
    assert check_seed(rng) is rng
    assert check_seed(None, allow_none=True) is None
    assert seed_int(np.random.default_rng(1)) == seed_int(np.random.default_rng(1))


def _small_vqa():
    return gk.make_task("vqa", n=6, seed=0, cache=False)


def _feats(n=6, d=4):
    import torch

    g = torch.Generator().manual_seed(0)
    return gk.Features(text=torch.randn(n, d, generator=g), image=torch.randn(n, d, generator=g))


def _bilinear_model(feats):
    import torch

    def model(t, v):
        return torch.stack([(t * v).sum(1), -(t * v).sum(1)], dim=1)
    return model


SEED_CALLS = {
    "make_task": lambda seed: gk.make_task("match", n=4, seed=seed, cache=False),
    "rebalance": lambda seed: gk.rebalance(_small_vqa(), seed=seed, cache=False),
    "sample_scenes": lambda seed: gk.world.sample_scenes(2, seed=seed),
    "reshuffle": lambda seed: gk.reshuffle(_bilinear_model(None), _feats(), 0.5, seed=seed),
    "shuffle_permutation": lambda seed: gk.analysis.shuffle_permutation(6, 0.5, seed=seed),
    "reshuffle_average": lambda seed: next(iter(gk.reshuffle_average(_bilinear_model(None), _feats(), 1, seed=seed))),
    "emap_model": lambda seed: gk.emap_model(_bilinear_model(None), _feats(), partners=2, seed=seed),
    "emap_report": lambda seed: gk.emap_report([0, 1, 0, 1, 0, 1], np.zeros((6, 6, 2)), n_boot=5, seed=seed),
    "question_only_accuracy": lambda seed: gk.world.question_only_accuracy(_small_vqa(), seed=seed),
    "rebalance_report": lambda seed: gk.world.rebalance_report(_small_vqa(), _small_vqa(), seed=seed),
}


@pytest.mark.parametrize("name", sorted(SEED_CALLS))
@pytest.mark.parametrize("seed, error", [("abc", TypeError), (1.5, TypeError), (1.7, TypeError),
                                         (-1, ValueError), (True, TypeError)])
def test_public_functions_share_the_seed_validator(name, seed, error):
    with pytest.raises(error, match="seed must be an integer"):
        SEED_CALLS[name](seed)


@pytest.mark.parametrize("name", ["make_task", "rebalance", "shuffle_permutation", "emap_report"])
def test_a_generator_is_a_valid_seed(name):
    SEED_CALLS[name](np.random.default_rng(3))


def test_rebalance_no_longer_truncates_a_float_seed():
    ds = _small_vqa()
    with pytest.raises(TypeError):
        gk.rebalance(ds, seed=1.7, cache=False)
    assert gk.rebalance(ds, seed=1, cache=False)["text"] == gk.rebalance(ds, seed=np.int64(1), cache=False)["text"]


@pytest.mark.parametrize("seed, error", [("abc", TypeError), (1.5, TypeError), (-1, ValueError), (True, TypeError)])
def test_fit_head_shares_the_seed_validator(seed, error):
    feats = _feats(8)
    with pytest.raises(error, match="seed must be an integer"):
        gk.fit_head("additive", feats, [0, 1] * 4, seed=seed, progress=False)


@pytest.mark.parametrize("seed, error", [("abc", TypeError), (1.5, TypeError), (-1, ValueError)])
def test_experiment_split_and_widgets_share_the_seed_validator(seed, error):
    from grounding_kit.experiments.protocol import split
    from grounding_kit.widgets.similarity import SimilarityWidget

    with pytest.raises(error, match="seed must be an integer"):
        split(10, 0.5, seed=seed)
    with pytest.raises(error, match="seed must be an integer"):
        SimilarityWidget(CountingClip(), [_rgb()] * 2, ["a", "b"], seed=seed)

# ---------------------------------------------------------------- caches: kills, files, read-only


KILLED_WRITER = """
import sys, time
from pathlib import Path
from grounding_kit.core.cache import atomic_write

def write(tmp):
    tmp.mkdir()
    (tmp / "half").write_text("x")
    print("writing", flush=True)
    time.sleep(60)

atomic_write(Path(sys.argv[1]) / "entry", write)
"""


def test_a_kill_during_a_cache_write_leaves_a_temporary_that_the_next_write_cleans(tmp_path):
    import subprocess
    import sys

    from grounding_kit.core.cache import atomic_write, is_stale_temporary

    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
    finally:
        writer.kill()
        writer.wait(timeout=30)
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".entry")]
    assert len(left) == 1 and is_stale_temporary(left[0])
    atomic_write(tmp_path / "other", lambda tmp: tmp.write_text("ok"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


def test_a_live_writers_temporary_is_kept(tmp_path):
    from grounding_kit.core.cache import atomic_write

    def write(tmp):
        atomic_write(tmp_path / "second", lambda t: t.write_text("b"))  # cleans while the first is open
        tmp.write_text("a")

    atomic_write(tmp_path / "first", write)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "second"]


def test_temporaries_of_earlier_versions_are_cleaned_once_old(tmp_path):
    import os
    import time

    from grounding_kit.core.cache import STALE_SECONDS, atomic_write

    old = tmp_path / ".entry.ab12cd34"
    old.mkdir()
    (old / "entry").write_text("half")
    recent = tmp_path / ".other.zz99yy88"
    recent.mkdir()
    hidden = tmp_path / ".keep.me"      # not a kit temporary: never touched
    hidden.mkdir()
    (hidden / "notes").write_text("x")
    past = time.time() - STALE_SECONDS - 60
    for entry in (old, hidden):
        os.utime(entry, (past, past))
    atomic_write(tmp_path / "new", lambda tmp: tmp.write_text("ok"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keep.me", ".other.zz99yy88", "new"]


def test_cache_folder_given_as_a_file(tmp_path, monkeypatch):
    from grounding_kit.core.paths import CacheDirError, cache_dir

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    for value in (blocker, blocker / "sub"):
        monkeypatch.setenv("GROUNDING_KIT_CACHE", str(value))
        with pytest.raises(CacheDirError, match=r"GROUNDING_KIT_CACHE=.*points somewhere unusable.*is a file"):
            cache_dir("datasets")
        with pytest.warns(RuntimeWarning, match="GROUNDING_KIT_CACHE=.*unusable.*not cached"):
            ds = gk.make_task("match", n=4, seed=0)
        assert len(ds) == 4


def test_cache_folder_under_a_read_only_folder(tmp_path, monkeypatch):
    from pathlib import Path as _Path

    from grounding_kit.core.paths import CacheDirError, cache_dir

    real_mkdir = _Path.mkdir

    def read_only_mkdir(self, *args, **kwargs):
        if str(self).startswith(str(tmp_path / "ro")):
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(_Path, "mkdir", read_only_mkdir)
    monkeypatch.setenv("GROUNDING_KIT_CACHE", str(tmp_path / "ro" / "cache"))
    with pytest.raises(CacheDirError, match=r"GROUNDING_KIT_CACHE=.*points somewhere unusable.*Permission denied"):
        cache_dir("features")
    with pytest.warns(RuntimeWarning, match="not cached"):
        feats = gk.embed(CountingClip(), gk.make_task("match", n=3, seed=0, cache=False))
    assert feats.text.shape == (3, 3)


def test_a_read_only_cache_returns_the_result_with_a_warning(tmp_path, monkeypatch):
    from grounding_kit.core.cache import cached

    def save(value, path):
        raise PermissionError(13, "Permission denied", str(path))

    with pytest.warns(RuntimeWarning, match="could not write the cache.*returned but not cached"):
        assert cached(tmp_path / "entry", lambda: 42, save, lambda p: None) == 42
    assert list(tmp_path.iterdir()) == []

# ---------------------------------------------------------------- the memory budget and output folders


def test_the_memory_budget_is_one_documented_setting(monkeypatch):
    from grounding_kit.core.validation import check_memory, memory_budget

    vqa = gk.make_task("vqa", n=600, seed=0, cache=False)
    monkeypatch.setenv("GROUNDING_KIT_MAX_MEMORY", "1MiB")
    assert memory_budget() == 2**20
    with pytest.raises(BudgetError, match="rebalance of 600 rows"):
        gk.rebalance(vqa, cache=False)
    with pytest.raises(BudgetError, match="make_task"):
        gk.make_task("match", n=1000, cache=False)
    with pytest.raises(BudgetError, match="embed of 100,000 rows"):
        gk.embed(CountingClip(), gk.make_task("match", n=2, cache=False).select([0] * 100_000), cache=False)
    monkeypatch.setenv("GROUNDING_KIT_MAX_MEMORY", "a lot")
    with pytest.raises(ValueError, match="GROUNDING_KIT_MAX_MEMORY='a lot' is not a size"):
        check_memory("x", 1)


def test_check_output_dir_accepts_new_empty_and_previous_output_folders(tmp_path):
    from grounding_kit.core.paths import check_output_dir

    shipped = tmp_path / "shipped"
    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / "training.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new" / "deeper", tmp_path / "empty", previous):
        assert check_output_dir(out, shipped) == out
    assert check_output_dir(None, shipped, overwrite_shipped=True) == shipped
    with pytest.raises(TypeError, match="output_dir must be a folder path"):
        check_output_dir(3, shipped)
    with pytest.raises(ValueError, match="empty string"):
        check_output_dir("", shipped)
