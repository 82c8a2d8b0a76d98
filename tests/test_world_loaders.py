"""Real data in the world's columns: image folders, hub samples (offline: fail fast), the gallery."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

import grounding_kit as gk
from grounding_kit.world import VQA_ANSWERS, DataError, render_scene, sample_scenes


def write_folder(folder, rows, metadata="metadata.jsonl", images=None):
    """Write one shape image per row (or ``images``: file name -> PIL image) and the metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    scenes = sample_scenes(len(rows), seed=0)
    for row, scene in zip(rows, scenes):
        if "file_name" in row and (images is None or row["file_name"] not in images):
            render_scene(scene, 32).save(folder / row["file_name"])
    for name, image in (images or {}).items():
        image.save(folder / name)
    if metadata.endswith(".jsonl"):
        (folder / metadata).write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        keys = list(rows[0])
        lines = [",".join(keys)] + [",".join(str(r.get(k, "")) for k in keys) for r in rows]
        (folder / metadata).write_text("\n".join(lines) + "\n")
    return folder


def test_jsonl_folder_with_labels_and_extra_columns(tmp_path):
    rows = [{"file_name": f"{i}.png", "caption": f"picture {i}", "label": lab, "photographer": "me"}
            for i, lab in enumerate(["cat", "dog", "cat"])]
    ds = gk.load_image_text_folder(write_folder(tmp_path / "d", rows))
    assert ds["text"] == ["picture 0", "picture 1", "picture 2"]
    assert ds.features["label"].names == ["cat", "dog"] and ds["label"] == [0, 1, 0]
    assert ds["photographer"] == ["me"] * 3 and ds["file_name"] == ["0.png", "1.png", "2.png"]
    image = ds[0]["image"]
    assert image.mode == "RGB" and image.size == (32, 32)


def test_captions_csv_without_labels_and_a_grey_image(tmp_path):
    rows = [{"file_name": "a.png", "caption": "a grey square"}, {"file_name": "b.png", "caption": "shapes"}]
    grey = Image.fromarray(np.full((20, 30), 128, dtype=np.uint8))
    ds = gk.load_image_text_folder(write_folder(tmp_path / "d", rows, "captions.csv", {"a.png": grey}))
    assert "label" not in ds.column_names and ds["text"] == ["a grey square", "shapes"]
    assert ds[0]["image"].mode == "RGB" and ds[0]["image"].size == (30, 20)


def test_vqa_style_folder_uses_the_world_answer_vocabulary(tmp_path):
    rows = [{"file_name": "q1.png", "question": "what color is the circle?", "answer": "red"},
            {"file_name": "q2.png", "question": "how many objects are there?", "answer": "2"}]
    ds = gk.load_image_text_folder(write_folder(tmp_path / "d", rows))
    assert ds["text"] == [r["question"] for r in rows] and ds["answer"] == ["red", "2"]
    assert ds.features["label"].names == VQA_ANSWERS
    assert [VQA_ANSWERS[i] for i in ds["label"]] == ["red", "2"]
    other = [{"file_name": "q.png", "question": "what is this?", "answer": "a teapot"}]
    assert gk.load_image_text_folder(write_folder(tmp_path / "e", other)).features["label"].names == ["a teapot"]


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        gk.load_image_text_folder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="is empty"):
        gk.load_image_text_folder(tmp_path / "empty")
    render_scene(sample_scenes(1)[0]).save(tmp_path / "lonely.png")
    with pytest.raises(DataError, match="has 1 images but no metadata file"):
        gk.load_image_text_folder(tmp_path)
    with pytest.raises(DataError, match="is a file"):
        gk.load_image_text_folder(tmp_path / "lonely.png")


def test_missing_columns_are_named(tmp_path):
    folder = write_folder(tmp_path / "a", [{"file_name": "0.png", "title": "x"}])
    with pytest.raises(DataError, match=r"no text column: expected one of \['text', 'caption', 'question'\]"):
        gk.load_image_text_folder(folder)
    with pytest.raises(DataError, match="lacks the column text_column='words'"):
        gk.load_image_text_folder(folder, text_column="words")
    assert gk.load_image_text_folder(folder, text_column="title")["text"] == ["x"]
    folder = write_folder(tmp_path / "b", [{"image": "0.png", "text": "x"}])
    with pytest.raises(DataError, match="lacks the column 'file_name'"):
        gk.load_image_text_folder(folder)


def test_every_bad_file_is_listed(tmp_path):
    rows = [{"file_name": f"{i}.png", "text": f"t{i}"} for i in range(6)]
    folder = write_folder(tmp_path / "d", rows)
    (folder / "1.png").unlink()
    (folder / "3.png").unlink()
    (folder / "4.png").write_bytes(b"not an image at all")
    with pytest.raises(DataError) as info:
        gk.load_image_text_folder(folder)
    message = str(info.value)
    assert "image files missing" in message and "row 2: 1.png" in message and "row 4: 3.png" in message
    assert "do not decode" in message and "row 5: 4.png" in message
    assert "0.png" not in message and "5.png" not in message


def test_images_over_the_pixel_limit_are_listed(tmp_path):
    folder = write_folder(tmp_path / "d", [{"file_name": "big.png", "text": "a big image"}])
    with pytest.raises(DataError, match=r"(?s)over max_pixels=1,000.*row 1: big.png is 32 x 32 = 1,024 pixels"):
        gk.load_image_text_folder(folder, max_pixels=1000)
    assert len(gk.load_image_text_folder(folder, max_pixels=1024)) == 1
    with pytest.raises(ValueError, match="max_pixels must be >= 1"):
        gk.load_image_text_folder(folder, max_pixels=0)


def test_bad_metadata_rows_are_listed(tmp_path):
    folder = write_folder(tmp_path / "d", [{"file_name": "0.png", "text": "fine"}])
    (folder / "metadata.jsonl").write_text('{"file_name": "0.png", "text": "fine"}\n{oops\n[1, 2]\n')
    with pytest.raises(DataError, match=r"not JSON objects \(2\):\n  line 2: .*\n  line 3: a JSON object was expected"):
        gk.load_image_text_folder(folder)
    (folder / "metadata.jsonl").write_text('{"file_name": "0.png", "text": "  "}\n{"text": "no file"}\n')
    with pytest.raises(DataError, match=r"without a file name or text \(2\):\n  row 1: no text.*\n  row 2: no file_name"):
        gk.load_image_text_folder(folder)
    (folder / "metadata.jsonl").write_text("")
    with pytest.raises(DataError, match="has no rows"):
        gk.load_image_text_folder(folder)
    (folder / "metadata.jsonl").write_text('{"file_name": "0.png", "text": "a", "label": ""}\n')
    with pytest.raises(DataError, match="rows without a 'label' value"):
        gk.load_image_text_folder(folder)


def test_hub_fails_fast_offline_and_names_make_task(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("vqav2", "coco-captions", "flickr30k"):
        start = time.monotonic()
        with pytest.raises(RuntimeError, match=r"gk\.make_task\("):
            gk.load_hub(name, n=5)
        assert time.monotonic() - start < 5
    with pytest.raises(ValueError, match="name='imagenet' is not valid; expected one of"):
        gk.load_hub("imagenet")
    with pytest.raises(ValueError, match="n must be >= 1"):
        gk.load_hub("vqav2", n=0)


@pytest.mark.network
def test_hub_probe_without_offline_flag_still_answers_in_seconds(monkeypatch):
    """Decides reachability itself: online it streams 2 rows, offline it fails within ~3 s."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    from grounding_kit.core.hub import check_hub

    if check_hub().ok:
        ds = gk.load_hub("vqav2", n=2)
        assert len(ds) == 2 and {"image", "text", "label", "answer"} <= set(ds.column_names)
        return
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r'gk\.make_task\("vqa"\)'):
        gk.load_hub("vqav2", n=2)
    assert time.monotonic() - start < 10


def test_gallery_of_real_photos():
    gallery = gk.load_gallery()
    assert len(gallery) >= 12 and gallery.column_names == ["image", "text", "label", "name"]
    assert len(set(gallery["text"])) == len(gallery) and gallery["label"] == list(range(len(gallery)))
    assert gallery.features["label"].names == gallery["name"]
    for row in gallery:
        assert row["image"].size == (224, 224) and row["image"].mode == "RGB"
        assert np.asarray(row["image"]).std() > 5  # a real picture, not a blank
    horse = np.asarray(gallery[gallery["name"].index("horse")]["image"])
    assert horse[0, 0].tolist() == [255, 255, 255] and horse.mean() > 100  # black horse on white
    assert gk.load_gallery(size=64)[0]["image"].size == (64, 64)


@pytest.mark.parametrize("name, row, text, answer", [
    ("vqav2", {"question": "what is it?", "multiple_choice_answer": "a cat",
               "answers": [{"answer": "cat"}]}, "what is it?", "a cat"),
    ("vqav2", {"question": "how many?", "answers": [{"answer": "2"}, {"answer": "3"}, {"answer": "2"}]},
     "how many?", "2"),
    ("coco-captions", {"answer": ["a dog on a sofa", "a sleepy dog"]}, "a dog on a sofa", None),
    ("flickr30k", {"caption": ["two people walking", "a street"]}, "two people walking", None),
])
def test_hub_rows_map_to_the_world_columns(monkeypatch, name, row, text, answer):
    """The conversion from each hub schema, fed by a local stream (no network in tests)."""
    import datasets

    import grounding_kit.world.loaders as loaders

    image = render_scene(sample_scenes(1)[0], 32)
    requested = {}

    def fake_load_dataset(repo, split, streaming):
        requested.update(repo=repo, split=split, streaming=streaming)
        return datasets.IterableDataset.from_generator(lambda: iter([{**row, "image": image}] * 5))

    monkeypatch.setattr(loaders, "require_hub", lambda what, offline: None)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    ds = gk.load_hub(name, n=3)
    assert requested == {"repo": loaders.HUB_DATASETS[name][0], "split": loaders.HUB_DATASETS[name][1],
                         "streaming": True}
    assert len(ds) == 3 and ds["text"] == [text] * 3 and ds[0]["image"].mode == "RGB"
    if answer is None:
        assert "label" not in ds.column_names
    else:
        assert ds["answer"] == [answer] * 3 and ds.features["label"].names == [answer]
