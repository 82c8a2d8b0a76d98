"""Bad input to world (make_task sizes, your own folder): the kit's convention is a clear error naming the argument, shape or file."""

from __future__ import annotations

import numpy as np
import pytest

import grounding_kit as gk
from conftest import _folder, _rgb
from grounding_kit.core.validation import BudgetError


# ---------------------------------------------------------------- sizes refused up front


@pytest.mark.parametrize("call", [
    lambda: gk.make_task("match", n=10**9),
    lambda: gk.make_task("vqa", n=10**8, size=224),
    lambda: gk.make_task("additive", n=5 * 10**6, size=1024),
])
def test_make_task_refuses_sizes_that_cannot_fit_naming_the_memory(call):
    import time

    start = time.perf_counter()
    with pytest.raises(BudgetError, match=r"make_task\(.*would need about [\d.]+ [TGP]iB of memory.*GROUNDING_KIT_MAX_MEMORY"):
        call()
    assert time.perf_counter() - start < 5

# ---------------------------------------------------------------- your own folder: encodings, BOM, image modes


@pytest.mark.parametrize("bad", [None, 3, "", b"photos", ["photos"]])
def test_load_image_text_folder_refuses_a_non_path(bad):
    with pytest.raises(TypeError, match="path must be the path of a folder"):
        gk.load_image_text_folder(bad)


@pytest.mark.parametrize("name, encode", [
    ("captions.csv", lambda text: text.encode("utf-8-sig")),                  # Excel's "CSV UTF-8"
    ("metadata.csv", lambda text: text.encode("utf-8-sig")),
    ("metadata.jsonl", lambda text: text.encode("utf-8-sig")),
])
def test_a_utf8_bom_metadata_file_is_read(name, encode, tmp_path):
    import json

    if name.endswith(".jsonl"):
        text = json.dumps({"file_name": "a.png", "caption": "un café"}, ensure_ascii=False) + "\n"
    else:
        text = "file_name,caption\r\na.png,un café\r\n"
    ds = gk.load_image_text_folder(_folder(tmp_path, {"a.png": _rgb()}, encode(text), name))
    assert ds["text"] == ["un café"] and ds["file_name"] == ["a.png"]


@pytest.mark.parametrize("name", ["captions.csv", "metadata.jsonl"])
@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16"])
def test_a_metadata_file_in_another_encoding_is_named(name, encoding, tmp_path):
    import json

    from grounding_kit.world.loaders import DataError

    if name.endswith(".jsonl"):
        text = json.dumps({"file_name": "a.png", "caption": "un café"}, ensure_ascii=False) + "\n"
    else:
        text = "file_name,caption\na.png,un café\n"
    folder = _folder(tmp_path, {"a.png": _rgb()}, text.encode(encoding), name)
    with pytest.raises(DataError, match=rf"{name} is not UTF-8 text.*must be UTF-8"):
        gk.load_image_text_folder(folder)


def _pixels(ds, row):
    return np.asarray(ds[row]["image"])


def test_16_bit_and_wide_integer_pngs_are_scaled_not_clipped(tmp_path):
    from PIL import Image

    ramp16 = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)   # 0 .. 65520
    small32 = np.full((8, 8), 200, dtype=np.int32)                          # 8-bit values in mode I
    half_float = np.full((8, 8), 0.5, dtype=np.float32)
    images = {"ramp16.png": Image.fromarray(ramp16), "small.tif": Image.fromarray(small32, mode="I"),
              "float.tif": Image.fromarray(half_float), "rgb.png": _rgb()}
    assert images["ramp16.png"].mode == "I;16"
    ds = gk.load_image_text_folder(_folder(tmp_path, images))
    ramp = _pixels(ds, 0)
    assert ramp.shape == (64, 64, 3) and ramp.min() == 0 and ramp.max() == 255
    assert abs(float(ramp[..., 0].mean()) - ramp16.mean() / 257) < 1.0   # scaled, not all white
    assert (_pixels(ds, 1) == 200).all() and (_pixels(ds, 2) == 128).all()
    assert (_pixels(ds, 3).reshape(-1, 3) == (10, 200, 30)).all()


def test_transparent_images_are_composited_on_white(tmp_path):
    from PIL import Image

    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([0, 0, 0] * 256)
    half = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    half.paste((255, 0, 0, 255), (0, 0, 4, 8))
    images = {"la.png": Image.new("LA", (8, 8), (0, 0)), "half.png": half, "cmyk.jpg": Image.new("CMYK", (8, 8), (0, 255, 255, 0))}
    folder = _folder(tmp_path, images)
    palette.save(folder / "p.png", transparency=0)
    (folder / "captions.csv").write_text("file_name,caption\n" + "".join(f"{f},x\n" for f in [*images, "p.png"]))
    ds = gk.load_image_text_folder(folder)
    assert (_pixels(ds, 0) == 255).all() and (_pixels(ds, 3) == 255).all()        # transparent -> white
    assert (_pixels(ds, 1)[:, :4] == (255, 0, 0)).all() and (_pixels(ds, 1)[:, 4:] == 255).all()
    assert (np.abs(_pixels(ds, 2).astype(int) - (255, 0, 0)) < 8).all()           # CMYK red stays red


@pytest.mark.parametrize("values, mode", [(np.full((8, 8), 70000, dtype=np.int32), "I"),
                                          (np.full((8, 8), -5, dtype=np.int32), "I"),
                                          (np.full((8, 8), 3.5, dtype=np.float32), "F")])
def test_pixels_with_no_known_range_are_refused_naming_the_file(values, mode, tmp_path):
    from PIL import Image

    from grounding_kit.world.loaders import DataError

    folder = _folder(tmp_path, {"odd.tif": Image.fromarray(values, mode=mode), "ok.png": _rgb()})
    with pytest.raises(DataError, match=r"row 1: odd.tif.*save it as an 8-bit RGB image"):
        gk.load_image_text_folder(folder)
