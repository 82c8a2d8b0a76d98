"""``embed``: features of a dataset, cached on disk by model and dataset; corrupt caches rebuilt."""

from __future__ import annotations

import os

import pytest
import torch

from grounding_kit.models import embed, load_clip
from grounding_kit.models.features import features_path
from grounding_kit.world import make_task


@pytest.fixture(scope="module")
def clip():
    return load_clip("tiny-shapes")


@pytest.fixture(scope="module")
def ds():
    return make_task("match", n=24, seed=5)


def test_embed_matches_the_encoders_and_caches(clip, ds):
    path = features_path(clip, ds)
    if path.exists():
        path.unlink()
    feats = embed(clip, ds, batch_size=10, progress=False)  # miss: computed and written
    assert feats.text.shape == feats.image.shape == (24, 64) and len(feats) == 24
    assert torch.allclose(feats.text, clip.encode_texts(ds["text"]), atol=1e-5)
    assert torch.allclose(feats.image, clip.encode_images(ds["image"]), atol=1e-5)
    assert path.exists()
    stamp = path.stat().st_mtime_ns
    again = embed(clip, ds, progress=False)  # hit: read back, not rewritten
    assert path.stat().st_mtime_ns == stamp
    assert torch.equal(again.text, feats.text) and torch.equal(again.image, feats.image)


def test_the_key_follows_dataset_and_model(clip, ds):
    other = make_task("match", n=24, seed=6)
    assert features_path(clip, other) != features_path(clip, ds)
    assert features_path(clip, ds, text_column="scene") != features_path(clip, ds)


@pytest.mark.parametrize("damage", ["garbage", "wrong shape"])
def test_a_corrupt_cache_is_detected_and_recomputed(clip, ds, damage):
    from safetensors.torch import save_file

    reference = embed(clip, ds, progress=False)
    path = features_path(clip, ds)
    if damage == "garbage":
        path.write_bytes(os.urandom(100))
    else:
        save_file({"text": torch.zeros(3, 64), "image": torch.zeros(3, 64)}, str(path))
    with pytest.warns(RuntimeWarning, match="unreadable"):
        feats = embed(clip, ds, progress=False)
    assert torch.allclose(feats.text, reference.text) and torch.allclose(feats.image, reference.image)
    assert torch.equal(embed(clip, ds, progress=False).text, feats.text)  # the rewritten file is valid


def test_bad_inputs(clip, ds):
    with pytest.raises(ValueError, match=r"columns \['caption', 'image'\]"):
        embed(clip, ds, text_column="caption")
    with pytest.raises(ValueError, match="ds must be a datasets.Dataset"):
        embed(clip, [{"text": "a", "image": None}])
    with pytest.raises(TypeError, match="clip must be a ClipModel"):
        embed("tiny-shapes", ds)
