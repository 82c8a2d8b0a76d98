"""The training commands run end to end (a few steps) and write loadable models."""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from grounding_kit.cli import main
from grounding_kit.models import load_clip, load_vqa
from grounding_kit.models.training import (CELL_CLASSES, EVAL_SEED, IGNORED, VQA_VERSION, evaluate_vqa,
                                           grounding_targets, tiny_vilt, train_tiny_vqa, vqa_batches)
from grounding_kit.models.vqa import wrap_vilt
from grounding_kit.core.paths import models_dir
from grounding_kit.world import VQA_ANSWERS


@pytest.mark.slow
def test_cli_trains_tiny_clip_into_a_loadable_folder(tmp_path, capsys):
    assert main(["train", "tiny-clip", "--output-dir", str(tmp_path), "--steps", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "caption_accuracy:" in out and "unknown_words: []" in out  # the vocabulary covers the world
    clip = load_clip(str(tmp_path))
    assert clip.embed_dim == 64
    record = json.loads((tmp_path / "training.json").read_text())
    assert record["steps"] == 3 and record["size_bytes"] < 20e6


@pytest.mark.slow
def test_cli_trains_the_typed_query_recipe_of_tiny_clip(tmp_path, capsys):
    assert main(["train", "tiny-clip", "--output-dir", str(tmp_path), "--steps", "2", "--recipe", "typed-queries"]) == 0
    assert "version: 2" in capsys.readouterr().out
    record = json.loads((tmp_path / "training.json").read_text())
    assert record["recipe"] == "typed-queries" and set(record["queries"]) >= {"single", "two", "count", "left_right"}
    assert "typed_query_batch" in (tmp_path / "README.md").read_text()
    vocab = json.loads((tmp_path / "vocab.json").read_text())["vocab"]
    assert {"two", "squares", "something"} <= set(vocab)  # the query words are in its vocabulary
    # the layout heads and the calibration bias are training-only: the folder holds a plain CLIP
    import open_clip
    from safetensors.torch import load_file

    from grounding_kit.models.clip import register_tiny_config

    fresh = open_clip.create_model_and_transforms(register_tiny_config(), pretrained=None)[0]
    assert set(load_file(str(tmp_path / "model.safetensors"))) == set(fresh.state_dict())
    assert "layout loss" in (tmp_path / "README.md").read_text()


@pytest.mark.slow
def test_each_recipe_trains_its_own_architecture(tmp_path):
    """Version 1's recipe still trains version 1's ViT; the shipped recipe a modified ResNet."""
    from grounding_kit.models.training import shipped_clip_recipe, train_tiny_clip

    train_tiny_clip(tmp_path / "v1", steps=2, recipe="descriptions", progress=False, n_eval=36)
    vision = {name: json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]["vision_cfg"]
              for name, folder in (("v1", tmp_path / "v1"), ("shipped", models_dir() / "tiny-shapes"))}
    assert vision["v1"]["patch_size"] == 8 and vision["v1"]["layers"] == 2  # a ViT
    assert shipped_clip_recipe() == "typed-queries" and vision["shipped"]["layers"] == [1, 1, 1, 1]  # a ResNet
    assert load_clip(str(tmp_path / "v1"), device="cpu").embed_dim == 64  # and loads from its own folder


@pytest.mark.slow
def test_the_typed_query_recipe_is_deterministic(tmp_path):
    from grounding_kit.models.training import train_tiny_clip

    for name in ("a", "b"):
        train_tiny_clip(tmp_path / name, steps=3, seed=4, recipe="typed-queries", progress=False, n_eval=36)
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


@pytest.mark.slow
def test_train_tiny_vqa_writes_a_loadable_model(tmp_path):
    summary = train_tiny_vqa(tmp_path, steps=3, seed=1, progress=False, n_train=60, n_eval=20)
    by_type = summary["accuracy_by_type"]
    assert summary["steps"] == 3 and set(by_type) <= {"color", "shape", "count", "exists", "left_right"}
    # the overall accuracy is the per-type accuracies weighted by each type's rows
    from grounding_kit.world import make_task, rebalance

    types = list(rebalance(make_task("vqa", n=20, seed=EVAL_SEED), seed=EVAL_SEED)["question_type"])
    weighted = sum(by_type[t] * types.count(t) for t in by_type) / len(types)
    assert summary["accuracy"] == pytest.approx(weighted, abs=1e-3)
    vqa = load_vqa(str(tmp_path))
    assert len(vqa.answers) == 15
    # the record is what the saved folder measures, not a number of the training loop
    again = evaluate_vqa(vqa, n=20)
    assert (again["accuracy"], again["accuracy_by_type"]) == (summary["accuracy"], by_type)
    assert summary["version"] == VQA_VERSION and 0 < summary["cpu_seconds"]
    card = (tmp_path / "README.md").read_text()
    # the recipe, and version 1's figures read from the shipped record's previous_versions
    assert "cell loss" in card and "| left_right questions | 0.4896 |" in card
    record = json.loads((tmp_path / "training.json").read_text())
    assert record["recipe"] == "grounded-answers" and [r["version"] for r in record["previous_versions"]] == [1]
    # the grounding heads are training-only: the folder holds a plain ViLT's weights, no more
    assert set(vqa.module.state_dict()) == set(tiny_vilt(None, list(VQA_ANSWERS))[0].state_dict())


@pytest.mark.slow
def test_tiny_vqa_training_is_deterministic(tmp_path):
    a = train_tiny_vqa(tmp_path / "a", steps=4, seed=2, progress=False, n_train=60, n_eval=20)
    b = train_tiny_vqa(tmp_path / "b", steps=4, seed=2, progress=False, n_train=60, n_eval=20)
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()
    assert a["accuracy"] == b["accuracy"]


def test_vqa_batches_are_seeded_and_draw_fresh_chunks():
    model, processor = tiny_vilt(None, list(VQA_ANSWERS))
    vqa = wrap_vilt("tiny", model, processor, torch.device("cpu"))

    def first_batches(seed, k):  # chunks of 10 questions (about 20 rows), one pass: 2 batches of 8 each
        return list(itertools.islice(vqa_batches(vqa, seed, n=10, passes=1, batch_size=8), k))

    a, b, other = first_batches(0, 6), first_batches(0, 6), first_batches(1, 2)
    assert all(x.shape == (8, vqa.max_length) and p.shape == (8, 4, 64, 64) and y.shape == (8,)
               and c.shape == (8, 4) and k.shape == (8,) for x, p, y, c, k in a)
    assert all(torch.equal(u, v) for batch_a, batch_b in zip(a, b) for u, v in zip(batch_a, batch_b))
    assert not torch.equal(a[0][1], other[0][1])
    images = [batch[1] for batch in a]  # later chunks show scenes the first chunk did not
    first_chunk = torch.cat(images[:2])
    assert any(not any(torch.equal(img, seen) for seen in first_chunk) for img in torch.cat(images[4:]))


def test_grounding_targets_name_the_referents_and_their_columns():
    red_circle = {"shape": "circle", "color": "red", "size": "small", "x": 0.7, "y": 0.3}  # cell 1, right
    blue_square = {"shape": "square", "color": "blue", "size": "large", "x": 0.3, "y": 0.7}  # cell 2, left
    green_square = {"shape": "square", "color": "green", "size": "small", "x": 0.75, "y": 0.75}  # cell 3
    objects = [red_circle, blue_square, green_square]
    relation = {"type": "left_right", "a": {"color": "red", "shape": "circle"},
                "b": {"color": "blue", "shape": "square"}, "relation": "left"}
    cells, column = grounding_targets(relation, objects)
    assert [CELL_CLASSES[c] for c in cells] == ["empty", "first referent, right", "second referent, left",
                                                "other object"]
    assert column == 1  # the red circle's column, whichever relation is asked
    cells, column = grounding_targets({"type": "color", "shape": "circle"}, objects)
    assert [CELL_CLASSES[c] for c in cells] == ["empty", "first referent, right", "other object", "other object"]
    assert column == IGNORED
    assert grounding_targets({"type": "count"}, objects)[0] == [CELL_CLASSES.index("empty")] + [4] * 3


@pytest.mark.parametrize("name, limit", [("tiny-shapes", 20e6), ("tiny-shapes-vqa", 20e6)])
def test_shipped_weights_are_small_and_recorded(name, limit):
    folder = models_dir() / name
    assert (folder / "model.safetensors").stat().st_size <= limit
    record = json.loads((folder / "training.json").read_text())
    assert record["seed"] == 0 and record["steps"] > 0


def test_cli_help_names_the_recorded_default_recipe(capsys):
    from grounding_kit.models.cards import shipped_record

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    record = shipped_record("tiny-shapes")
    assert f"default: the shipped model's, {record['recipe']!r}, version {record['version']}" in help_text
    assert "{typed-queries,descriptions}" in help_text  # the recorded recipes, the shipped one first


def test_a_retrained_old_version_is_compared_with_the_shipped_one():
    from grounding_kit.models.training.common import previous_versions

    assert [r["version"] for r in previous_versions("tiny-shapes", 2)] == [1]
    assert [(r["version"], r["recipe"]) for r in previous_versions("tiny-shapes", 1)] == [(2, "typed-queries")]
    assert previous_versions("no-such-model", 1) == []


def test_training_runs_on_one_thread_and_leaves_the_count_as_it_was(tmp_path, monkeypatch):
    from grounding_kit.models.training import common

    seen = []
    original = common.run_steps
    monkeypatch.setattr("grounding_kit.models.training.vqa.run_steps",
                        lambda *args, **kw: (seen.append(torch.get_num_threads()), original(*args, **kw))[1])
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train_tiny_vqa(tmp_path, steps=1, progress=False, n_train=10, n_eval=10)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
