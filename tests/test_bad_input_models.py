"""Bad input to models (embed, the train functions): the kit's convention is a clear error naming the argument, shape or file."""

from __future__ import annotations

import numpy as np
import pytest

import grounding_kit as gk
from conftest import CountingClip, _folder, _rgb


# ---------------------------------------------------------------- embed: cache key, batch_size, None rows


def test_an_image_edited_in_place_changes_the_embed_cache(tmp_path):
    import os

    folder = _folder(tmp_path, {"a.png": _rgb((255, 0, 0)), "b.png": _rgb((0, 0, 255))})
    clip = CountingClip()
    before = gk.embed(clip, gk.load_image_text_folder(folder))
    stat = os.stat(folder / "a.png")
    _rgb((0, 255, 0)).save(folder / "a.png")                  # same name, same size, new pixels
    os.utime(folder / "a.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = gk.embed(clip, gk.load_image_text_folder(folder))
    assert not np.allclose(before.image[0].numpy(), after.image[0].numpy())
    assert np.allclose(before.image[1].numpy(), after.image[1].numpy())
    calls = clip.image_calls
    again = gk.embed(clip, gk.load_image_text_folder(folder))   # unchanged: from the cache
    assert clip.image_calls == calls and np.allclose(again.image.numpy(), after.image.numpy())


def test_embed_computes_a_fresh_task_once():
    clip = CountingClip()
    first = gk.embed(clip, gk.make_task("match", n=5, seed=4242))
    second = gk.embed(clip, gk.make_task("match", n=5, seed=4242))
    assert clip.image_calls == 1 and np.allclose(first.image.numpy(), second.image.numpy())


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError),
                                               (True, TypeError), ("8", TypeError), (None, TypeError)])
def test_embed_refuses_a_bad_batch_size(batch_size, error):
    with pytest.raises(error, match="batch_size must be"):
        gk.embed(CountingClip(), gk.make_task("match", n=3, seed=0, cache=False), batch_size=batch_size)


def test_embed_names_the_row_without_an_image_or_text():
    from datasets import Dataset, Features, Image, Value

    features = Features({"image": Image(), "text": Value("string")})
    images = [_rgb(), None, _rgb()]
    with pytest.raises(ValueError, match=r"no image in row 1"):
        gk.embed(CountingClip(), Dataset.from_dict({"image": images, "text": ["a", "b", "c"]}, features=features),
                 batch_size=2, cache=False)
    with pytest.raises(ValueError, match=r"row 2 is None"):
        gk.embed(CountingClip(),
                 Dataset.from_dict({"image": [_rgb()] * 3, "text": ["a", "b", None]}, features=features), cache=False)


def test_embed_names_the_column_and_row_of_an_image_path_string():
    from datasets import Dataset

    paths = Dataset.from_dict({"picture": ["shapes/a.png", "shapes/b.png"], "text": ["a", "b"]})
    for cache in (True, False):
        with pytest.raises(TypeError, match=r"ds\['picture'\] must hold a PIL image in every row, but row 0 holds str "
                                            r"\('shapes/a.png'\); a column of file paths becomes images with "
                                            r"ds.cast_column\('picture', datasets.Image\(\)\)"):
            gk.embed(CountingClip(), paths, image_column="picture", cache=cache)

# ---------------------------------------------------------------- training


def test_train_functions_refuse_the_shipped_folder_by_default():
    from grounding_kit.models.training import train_tiny_clip, train_tiny_vqa

    for train in (train_tiny_clip, train_tiny_vqa):
        with pytest.raises(ValueError, match="overwrite_shipped=True"):
            train(steps=1, progress=False)
        with pytest.raises(ValueError, match="steps must be >= 1"):
            train(steps=0, progress=False)
