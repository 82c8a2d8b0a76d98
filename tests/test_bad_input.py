"""Bad input at the public boundary (issue 10, part 2): every case gets a clear kit error naming
the argument, file or shape, and nothing is lost or silently wrong.

Groups: seeds, labels outside the model's classes, sizes refused up front, overflow, caches,
folders (encodings, BOM, image modes, in-place edits), embed, the CLI (run as a subprocess
against a copy of data/).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.core.validation import BudgetError, check_seed, seed_int

# ---------------------------------------------------------------- seeds

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


# ---------------------------------------------------------------- labels outside the classes


def _grid(n=8, c=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, n, c))


@pytest.mark.parametrize("bad", [5, -1, 2])
@pytest.mark.parametrize("metric", ["accuracy", "macro_auc", "weighted_f1", "vqa_soft_accuracy"])
def test_metrics_refuse_labels_outside_the_classes(bad, metric):
    from grounding_kit.analysis.metrics import score

    labels = [0, 1, 0, 1, 0, 1, 0, bad]
    with pytest.raises(ValueError, match=r"labels must be class indices in 0\.\.1.*labels\[7\]"):
        score(metric, labels, _grid()[0])


@pytest.mark.parametrize("bad", [5, -1])
def test_emap_report_and_perceptual_score_refuse_labels_outside_the_classes(bad):
    labels = [0, 1, 0, 1, 0, 1, 0, bad]
    with pytest.raises(ValueError, match=r"labels\[7\]"):
        gk.emap_report(labels, _grid(), n_boot=5)
    with pytest.raises(ValueError, match=r"labels\[7\]"):
        gk.perceptual_score(labels, _grid())
    with pytest.raises(ValueError, match="class indices in 0..2"):
        gk.perceptual_score([0, 1, 2, 3, 0, 1, 2, 0], _grid(c=3), metric="vqa_soft_accuracy")


def test_single_logit_column_means_two_classes():
    from grounding_kit.analysis.metrics import accuracy

    assert accuracy([0, 1], np.array([[-1.0], [2.0]])) == 1.0
    with pytest.raises(ValueError, match="0..1"):
        accuracy([0, 2], np.array([[-1.0], [2.0]]))


def test_checks_and_widget_helpers_refuse_labels_outside_the_classes():
    from grounding_kit.exercises import checks
    from grounding_kit.analysis.margins import label_margin, label_margin_grid

    logits = _grid()[0]
    with pytest.raises(ValueError, match="labels"):
        label_margin(np.array([0, 1, 0, 1, 0, 1, 0, -1]), logits)
    with pytest.raises(ValueError, match="labels"):
        label_margin_grid(np.array([0, 1, 0, 1, 0, 1, 0, 5]), _grid())
    with pytest.raises(ValueError, match="labels"):
        checks.check_accuracy(0.5, logits, np.array([0, 1, 0, 1, 0, 1, 0, 5]))


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


def test_a_read_only_cache_returns_the_result_with_a_warning(tmp_path, monkeypatch):
    from grounding_kit.core.cache import cached

    def save(value, path):
        raise PermissionError(13, "Permission denied", str(path))

    with pytest.warns(RuntimeWarning, match="could not write the cache.*returned but not cached"):
        assert cached(tmp_path / "entry", lambda: 42, save, lambda p: None) == 42
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the CLI, against a copy of data/

def _cli(args, tmp_path, **env):
    import os
    import subprocess
    import sys

    environment = {**os.environ, "GROUNDING_KIT_DATA": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "grounding_kit.cli", *args], capture_output=True, text=True,
                          timeout=300, env=environment)


@pytest.fixture
def data_copy(tmp_path):
    """A copy of the shipped data/ in tmp_path/data, and a snapshot of its files' bytes."""
    import shutil

    from grounding_kit.core.paths import PACKAGE_DIR

    shutil.copytree(PACKAGE_DIR.parent / "data", tmp_path / "data")
    return {p: p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()}


def _one_line_error(result, *needles):
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("grounding-kit "), result.stderr
    for needle in needles:
        assert needle in last, (needle, last)


@pytest.mark.parametrize("model", ["tiny-clip", "tiny-vqa"])
def test_train_never_writes_into_the_shipped_data_by_default(model, tmp_path, data_copy):
    _one_line_error(_cli(["train", model, "--steps", "1"], tmp_path), "--overwrite-shipped", "--output-dir")
    inside = tmp_path / "data" / "models" / "new"
    _one_line_error(_cli(["train", model, "--steps", "1", "--output-dir", str(inside)], tmp_path),
                    "shipped data folder", "--overwrite-shipped")
    assert {p: p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()} == data_copy


@pytest.mark.parametrize("steps", ["0", "-3", "2.5", "abc"])
def test_train_steps_must_be_at_least_one(steps, tmp_path, data_copy):
    _one_line_error(_cli(["train", "tiny-clip", "--steps", steps, "--output-dir", str(tmp_path / "out")], tmp_path),
                    "--steps", "integer >= 1")


def test_train_checks_the_output_folder_before_training(tmp_path, data_copy):
    a_file = tmp_path / "weights.bin"
    a_file.write_text("x")
    busy = tmp_path / "photos"
    busy.mkdir()
    (busy / "cat.jpg").write_text("x")
    cases = [(a_file, "is a file"), (a_file / "sub", "is a file"), (busy, "not a previous training output"),
             (Path("/proc/1/gk-out"), "not writable")]
    for out, needle in cases:
        result = _cli(["train", "tiny-vqa", "--steps", "1", "--output-dir", str(out)], tmp_path)
        _one_line_error(result, "--output-dir", needle)
    assert (busy / "cat.jpg").read_text() == "x" and a_file.read_text() == "x"


@pytest.mark.slow
def test_train_one_step_into_a_new_folder(tmp_path, data_copy):
    out = tmp_path / "retrained"
    result = _cli(["train", "tiny-clip", "--steps", "1", "--output-dir", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "training.json").is_file() and (out / "model.safetensors").is_file()
    assert {p: p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()} == data_copy


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


@pytest.mark.parametrize("port", ["0", "99999", "-1", "65536", "http", "80.5"])
def test_dashboard_port_out_of_range_is_a_one_line_error(port, tmp_path):
    _one_line_error(_cli(["dashboard", "--port", port], tmp_path), "--port", "1..65535")


def test_dashboard_refuses_a_port_in_use_naming_it(tmp_path):
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = _cli(["dashboard", "--port", str(port)], tmp_path)
    _one_line_error(result, f"port {port}", "already in use")
    assert "http://" not in result.stdout + result.stderr  # never a URL that serves another program


def test_voila_never_moves_to_another_port_silently():
    from grounding_kit.dashboard.server import voila_command

    assert "--Voila.port_retries=0" in voila_command(8866)


def test_present_names_a_missing_notebook(tmp_path):
    _one_line_error(_cli(["present", "99_nope"], tmp_path), "99_nope.ipynb", "04_emap")


@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf", "abc"])
def test_doctor_refuses_a_bad_hub_timeout(timeout, tmp_path):
    _one_line_error(_cli(["doctor", "--hub-timeout", timeout], tmp_path), "--hub-timeout")


def test_train_functions_refuse_the_shipped_folder_by_default():
    from grounding_kit.models.training import train_tiny_clip, train_tiny_vqa

    for train in (train_tiny_clip, train_tiny_vqa):
        with pytest.raises(ValueError, match="overwrite_shipped=True"):
            train(steps=1, progress=False)
        with pytest.raises(ValueError, match="steps must be >= 1"):
            train(steps=0, progress=False)


# ---------------------------------------------------------------- your own folder: encodings, BOM, image modes


def _folder(tmp_path, images: dict, metadata: bytes | None = None, name: str = "captions.csv"):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir(exist_ok=True)
    for file, image in images.items():
        image.save(folder / file)
    if metadata is None:
        metadata = ("file_name,caption\n" + "".join(f"{f},a photo of {f}\n" for f in images)).encode()
    (folder / name).write_bytes(metadata)
    return folder


def _rgb(color=(10, 200, 30)):
    from PIL import Image

    return Image.new("RGB", (8, 8), color)


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


# ---------------------------------------------------------------- embed: cache key, batch_size, None rows


class CountingClip:
    """A stand-in for a ClipModel: mean colour features, counting how often it encodes."""

    name, embed_dim = "counting-clip", 3

    def __init__(self):
        self.image_calls = 0

    def weights_hash(self):
        return "0"

    def encode_images(self, images, batch_size=64, progress=False):
        import torch

        self.image_calls += 1
        x = torch.tensor(np.stack([np.asarray(im.convert("RGB"), dtype=np.float32).mean((0, 1)) for im in images]))
        return torch.nn.functional.normalize(x + 1e-3, dim=1)

    def encode_texts(self, texts, progress=False):
        import torch

        x = torch.tensor([[len(t), t.count(" "), 1.0] for t in texts])
        return torch.nn.functional.normalize(x, dim=1)


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


def test_emap_report_refuses_a_huge_n_boot_before_any_work():
    with pytest.raises(BudgetError, match=r"n_boot=10,000,000 on N=2,000 items would need about 447.0 GiB"):
        gk.emap_report(np.zeros(2000, dtype=int), np.zeros((2000, 2000, 1), dtype=np.float32), n_boot=10**7)


def test_decompose_streams_and_refuses_above_its_budget():
    P = _grid(40, 3)
    parts = gk.decompose(P)
    total = ((P - P.mean((0, 1))) ** 2).sum((0, 1))
    assert np.allclose(parts.interaction_share, (parts.interaction ** 2).sum((0, 1)) / total)
    with pytest.raises(BudgetError, match=r"decompose of a grid of shape \(40, 40, 3\).*emap_model"):
        gk.decompose(P, max_bytes=1000)
    with pytest.raises(BudgetError, match="decompose"):
        gk.decompose(P.astype(np.float32), max_bytes=40 * 40 * 3 * 8 + 1)   # float32 needs a float64 copy too


def test_decompose_peak_memory_is_about_one_grid_on_top_of_the_input():
    import tracemalloc

    P = _grid(1200, 2)
    tracemalloc.start()
    gk.decompose(P)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1.5 * P.nbytes   # was 2 grids of temporaries (measured 2.0x), now the interaction (1.23x)


class SlowPairs:
    """A generic (callable) pair model that takes about ``seconds`` per call of any size."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, t, v):
        import time

        import torch

        time.sleep(self.seconds)
        return torch.stack([(t * v).sum(1), (t - v).sum(1)], dim=1)


def test_emap_model_refuses_a_long_stream_with_the_estimate_and_partners(monkeypatch):
    import math
    import time

    import torch

    from grounding_kit.analysis import streaming

    monkeypatch.setattr(streaming, "ESTIMATE_FROM_PAIRS", 10_000)   # N=200 -> 40,000 pair evaluations
    g = torch.Generator().manual_seed(0)
    feats = gk.Features(text=torch.randn(200, 4, generator=g), image=torch.randn(200, 4, generator=g))
    start = time.perf_counter()
    with pytest.raises(BudgetError, match=r"N=200 pairs \(40,000 pair evaluations.*above the budget of 0.1 s.*"
                                          r"partners=32 would take about .*max_seconds=math.inf"):
        gk.emap_model(SlowPairs(0.02), feats, batch_size=400, max_seconds=0.1)
    assert time.perf_counter() - start < 2
    with pytest.raises(BudgetError, match="Use fewer partners"):
        gk.emap_model(SlowPairs(0.02), feats, partners=100, seed=0, batch_size=400, max_seconds=0.1)
    monkeypatch.setenv("GROUNDING_KIT_MAX_SECONDS", "0.1")
    with pytest.raises(BudgetError, match="GROUNDING_KIT_MAX_SECONDS"):
        gk.emap_model(SlowPairs(0.02), feats, batch_size=400)
    with pytest.raises(BudgetError, match="exact perceptual score.*reshuffle"):
        gk.perceptual_score(np.zeros(200, dtype=int), SlowPairs(0.02), feats, batch_size=400)
    fast = gk.emap_model(SlowPairs(0.0), feats, batch_size=4000, max_seconds=math.inf)
    assert fast.projection.shape == (200, 2)


# ---------------------------------------------------------------- sums that overflow


@pytest.mark.parametrize("value", [1e308, -1e308, 5e307])
def test_a_finite_grid_whose_sums_overflow_is_a_kit_error_not_nan(value):
    import warnings

    P = np.full((4, 4, 2), value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no numpy RuntimeWarning on the way
        for call in (gk.emap, gk.decompose, lambda P: gk.emap_report([0, 1, 0, 1], P, n_boot=5),
                     lambda P: gk.perceptual_score([0, 1, 0, 1], P)):
            with pytest.raises(ValueError, match="overflows float64.*rescale"):
                call(P)


def test_large_but_summable_grids_still_work():
    P = _grid(6, 2) * 1e200                  # squares overflow, sums do not: decompose rescales
    share = gk.decompose(P).interaction_share
    assert np.isfinite(share).all() and np.allclose(share, gk.decompose(P / 1e200).interaction_share)


def test_emap_model_names_an_overflow_of_the_streamed_sums():
    import torch

    feats = gk.Features(text=torch.ones(4, 2), image=torch.ones(4, 2))
    huge = lambda t, v: torch.full((len(t), 2), 1e308, dtype=torch.float64)   # noqa: E731
    with pytest.raises(ValueError, match="overflow float64 when summed"):
        gk.emap_model(huge, feats)
    with pytest.raises(ValueError, match="overflow float64 when summed"):
        gk.emap_model(huge, feats, partners=3, seed=0)


def test_metrics_refuse_logits_whose_margins_overflow():
    from grounding_kit.analysis.metrics import pairwise_ranking_accuracy

    with pytest.raises(ValueError, match="overflows float64"):
        pairwise_ranking_accuracy([0.0, 1.0], np.array([[-1e308, 1e308], [0.0, 1.0]]))


@pytest.mark.parametrize("seed, error", [("abc", TypeError), (1.5, TypeError), (-1, ValueError), (True, TypeError)])
def test_fit_head_shares_the_seed_validator(seed, error):
    feats = _feats(8)
    with pytest.raises(error, match="seed must be an integer"):
        gk.fit_head("additive", feats, [0, 1] * 4, seed=seed, progress=False)


def test_doctor_reports_an_unusable_cache_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _cli(["doctor", "--hub-timeout", "0.01"], tmp_path, GROUNDING_KIT_CACHE=str(blocker))
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "GROUNDING_KIT_CACHE" in result.stdout and "unusable" in result.stdout


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


@pytest.mark.parametrize("seed, error", [("abc", TypeError), (1.5, TypeError), (-1, ValueError)])
def test_experiment_split_and_widgets_share_the_seed_validator(seed, error):
    from grounding_kit.experiments.protocol import split
    from grounding_kit.widgets.similarity import SimilarityWidget

    with pytest.raises(error, match="seed must be an integer"):
        split(10, 0.5, seed=seed)
    with pytest.raises(error, match="seed must be an integer"):
        SimilarityWidget(CountingClip(), [_rgb()] * 2, ["a", "b"], seed=seed)
