"""make_task: columns, determinism, labels checked against the scenes, balance, caching."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

import grounding_kit as gk
from grounding_kit.world import (COLORS, VQA_ANSWERS, Scene, bayes_rates, describe, render_scene)
from grounding_kit.world.rebalancing import question_only_accuracy
from grounding_kit.world.tasks import SENTIMENT, warmth
from grounding_kit.world.vqa import answer, question_text


def text_accuracy(ds) -> float:
    """Cross-validated accuracy of logistic regression on the caption's bag of words."""
    words = CountVectorizer().fit_transform(ds["text"])
    return cross_val_score(LogisticRegression(max_iter=2000), words, ds["label"], cv=5).mean()


def image_accuracy(ds) -> float:
    """Cross-validated accuracy of logistic regression on a 4x4x4 colour histogram of the image."""
    pixels = np.stack([np.asarray(im) for im in ds["image"]]) // 64  # (N, H, W, 3) in 0..3
    codes = (pixels[..., 0] * 16 + pixels[..., 1] * 4 + pixels[..., 2]).reshape(len(ds), -1)
    offsets = 64 * np.arange(len(ds))[:, None]
    hist = np.bincount((codes + offsets).ravel(), minlength=64 * len(ds)).reshape(len(ds), 64) / codes.shape[1]
    return cross_val_score(LogisticRegression(max_iter=2000), hist, ds["label"], cv=5).mean()


def scene_of(row) -> Scene:
    return Scene.from_dicts(json.loads(row["objects"]))


def test_columns_and_features():
    binary = gk.make_task("match", n=20)
    assert binary.column_names[:3] == ["image", "text", "label"]
    assert binary.features["image"].__class__.__name__ == "Image"
    assert binary.features["label"].names == ["no", "yes"]
    assert gk.make_task("additive", n=20).features == binary.features
    assert gk.make_task("mixed", n=20).features == binary.features
    vqa = gk.make_task("vqa", n=20)
    assert vqa.features["label"].names == VQA_ANSWERS
    for column in ("answer", "question_type", "question_spec", "scene", "objects", "source", "pair_of"):
        assert column in vqa.column_names
    assert vqa[0]["image"].size == (64, 64) and vqa[0]["image"].mode == "RGB"
    assert gk.make_task("vqa", n=5, size=224)[0]["image"].size == (224, 224)


@pytest.mark.parametrize("name", ["additive", "match", "mixed", "vqa"])
def test_same_seed_same_rows_and_pixels(name, tmp_path, monkeypatch):
    first = gk.make_task(name, n=40, seed=7)
    monkeypatch.setenv("GROUNDING_KIT_CACHE", str(tmp_path))  # a fresh build, not the cache
    again = gk.make_task(name, n=40, seed=7)
    other = gk.make_task(name, n=40, seed=8)
    assert first["text"] == again["text"] and first["label"] == again["label"]
    same_pixels = [np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first["image"], again["image"])]
    assert all(same_pixels)
    assert first["scene"] != other["scene"]


@pytest.mark.parametrize("name", ["additive", "match", "vqa"])
def test_images_and_descriptions_match_the_stored_scene(name):
    ds = gk.make_task(name, n=60, seed=1)
    for row in ds:
        scene = scene_of(row)
        assert row["scene"] == describe(scene) and row["n_objects"] == len(scene.objects)
        assert np.array_equal(np.asarray(row["image"]), np.asarray(render_scene(scene, 64)))


def test_match_labels_follow_the_caption():
    ds = gk.make_task("match", n=400, seed=2)
    assert abs(np.mean(ds["label"]) - 0.5) <= 0.01
    for row in ds:
        if row["label"] == 1:
            assert row["text"] == row["scene"] and row["changed"] == "none"
            continue
        said = row["text"].replace(" and ", ", ").split(", ")
        shown = row["scene"].replace(" and ", ", ").split(", ")
        assert len(said) == len(shown)
        differing = [(a.split(), b.split()) for a, b in zip(said, shown) if a != b]
        assert len(differing) == 1, (row["text"], row["scene"])
        words_said, words_shown = differing[0]
        positions = [k for k in range(4) if words_said[k] != words_shown[k]]
        assert positions == [{"size": 1, "color": 2, "shape": 3}[row["changed"]]]


def test_additive_labels_follow_the_documented_rule():
    ds = gk.make_task("additive", n=3000, seed=3)
    scores = []
    for row in ds.select(range(300)):
        s = SENTIMENT[row["sentiment_word"]]
        assert row["sentiment_word"] in row["text"].split() and row["text_score"] == s
        assert not set(row["text"].split()) & set(COLORS)  # the caption never names colours
        w = warmth(scene_of(row))
        assert row["image_score"] == pytest.approx(w)
        assert row["p_yes"] == pytest.approx(1 / (1 + math.exp(-(s + w) / 0.25)), rel=1e-5)
    scores = np.array(ds["text_score"]) + np.array(ds["image_score"])
    bayes_guess = (scores > 0).astype(int)
    rates = bayes_rates("additive")
    assert np.mean(bayes_guess == np.array(ds["label"])) == pytest.approx(rates["bayes"], abs=0.03)
    assert rates["bayes"] > rates["image_only"] > 0.5 and rates["bayes"] > rates["text_only"] > 0.5


def test_match_is_at_chance_for_each_modality_alone_but_additive_is_not():
    match = gk.make_task("match", n=2000, seed=4)
    assert text_accuracy(match) == pytest.approx(0.5, abs=0.05)
    assert image_accuracy(match) == pytest.approx(0.5, abs=0.05)
    # the same classifiers do find a unimodal signal where there is one
    additive = gk.make_task("additive", n=2000, seed=4)
    rates = bayes_rates("additive")
    assert text_accuracy(additive) == pytest.approx(rates["text_only"], abs=0.05)
    assert image_accuracy(additive) > 0.68


def test_additive_uniformity_rule_is_additive_but_nonlinear_in_the_colours():
    ds = gk.make_task("additive", n=400, seed=4, image_rule="uniformity", cache=False)
    s, w = np.array(ds["text_score"]), np.array(ds["image_score"])
    u = 2 * np.abs(w) - 1
    np.testing.assert_allclose(ds["p_yes"], 1 / (1 + np.exp(-(s + u) / 0.25)), rtol=1e-5)
    assert ds["text"] == gk.make_task("additive", n=400, seed=4, cache=False)["text"]  # same rows, other rule
    rates = bayes_rates("additive", image_rule="uniformity")
    assert rates["bayes"] == rates["additive"] == rates["image_only"] > rates["text_only"] > 0.5
    assert np.mean((s + u > 0) == np.array(ds["label"])) == pytest.approx(rates["bayes"], abs=0.05)
    with pytest.raises(ValueError, match="image_rule"):
        gk.make_task("additive", n=10, image_rule="xor")


def test_mixed_moves_from_additive_to_match():
    additive = gk.make_task("additive", n=200, seed=5)
    assert gk.make_task("mixed", n=200, seed=5, interaction=0.0)["text"] == additive["text"]
    assert set(gk.make_task("mixed", n=200, seed=5, interaction=1.0)["rule"]) == {"match"}
    mixed = gk.make_task("mixed", n=1000, seed=5, interaction=0.3)
    assert np.mean(np.array(mixed["rule"]) == "match") == pytest.approx(0.3, abs=0.05)
    r0, r1, r3 = (bayes_rates("mixed", interaction=a) for a in (0.0, 1.0, 0.3))
    assert r0 == bayes_rates("additive") and r1 == bayes_rates("match")
    assert r3["additive"] == pytest.approx(0.7 * r0["additive"] + 0.3 * 0.5)


def test_vqa_answers_are_the_scenes_answers():
    ds = gk.make_task("vqa", n=300, seed=6)
    assert set(ds["question_type"]) == {"color", "shape", "count", "exists", "left_right"}
    for row in ds:
        spec = json.loads(row["question_spec"])
        assert row["text"] == question_text(spec)
        assert answer(scene_of(row), spec) == row["answer"] == VQA_ANSWERS[row["label"]]
    only = gk.make_task("vqa", n=30, seed=6, question_types=["count"])
    assert set(only["question_type"]) == {"count"}


def test_prior_dial_lets_the_question_alone_predict_the_answer():
    skewed = gk.make_task("vqa", n=1000, seed=7, prior=0.9)
    flat = gk.make_task("vqa", n=1000, seed=7, prior=0.0)
    assert np.mean(np.array(skewed["answer"]) == np.array(skewed["favoured_answer"])) > 0.85
    assert question_only_accuracy(skewed)["all"] > 0.85
    assert question_only_accuracy(flat)["all"] < 0.45


def test_cache_is_reused_and_a_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("GROUNDING_KIT_CACHE", str(tmp_path))
    first = gk.make_task("match", n=50, seed=9)
    (folder,) = (tmp_path / "datasets").iterdir()
    import grounding_kit.world.tasks as tasks

    with monkeypatch.context() as patched:  # a second call must not rebuild
        patched.setattr(tasks, "_build", lambda *a: pytest.fail("rebuilt a valid cache"))
        assert gk.make_task("match", n=50, seed=9)["text"] == first["text"]
    arrow = next(Path(folder).glob("*.arrow"))
    blob = bytearray(arrow.read_bytes())
    blob[len(blob) // 2: len(blob) // 2 + 64] = b"\xff" * 64
    del first  # release the memory map before the file is replaced
    arrow.write_bytes(bytes(blob))
    with pytest.warns(RuntimeWarning, match="unreadable"):
        rebuilt = gk.make_task("match", n=50, seed=9)
    assert rebuilt["text"] == gk.make_task("match", n=50, seed=9)["text"]
    assert len(list((tmp_path / "datasets").iterdir())) == 1


def test_cache_false_builds_the_same_rows_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("GROUNDING_KIT_CACHE", str(tmp_path))
    vqa = gk.make_task("vqa", n=40, seed=3, cache=False)
    balanced = gk.rebalance(vqa, seed=3, cache=False)
    assert not (tmp_path / "datasets").exists() or not any((tmp_path / "datasets").iterdir())
    assert vqa["text"] == gk.make_task("vqa", n=40, seed=3)["text"]
    assert len(balanced) > len(vqa)


@pytest.mark.parametrize("call, error, message", [
    (lambda: gk.make_task("bogus"), ValueError, "name='bogus'"),
    (lambda: gk.make_task("match", n=0), ValueError, "n must be >= 1"),
    (lambda: gk.make_task("match", n=2.5), TypeError, "n must be an integer"),
    (lambda: gk.make_task("match", size=8), ValueError, "size must be >= 16"),
    (lambda: gk.make_task("match", seed="a"), TypeError, "seed must be an integer"),
    (lambda: gk.make_task("match", prior=0.5), TypeError, r"unknown dials \['prior'\]"),
    (lambda: gk.make_task("vqa", prior=1.5), ValueError, r"prior must be in \[0.0, 1.0\]"),
    (lambda: gk.make_task("mixed", interaction=-0.1), ValueError, "interaction must be in"),
    (lambda: gk.make_task("additive", noise=0), ValueError, "noise must be a positive number"),
    (lambda: gk.make_task("match", max_objects=5), ValueError, "max_objects must be in 1..4"),
    (lambda: gk.make_task("vqa", question_types=["colour"]), ValueError, "question_types item='colour'"),
    (lambda: gk.make_task("vqa", question_types="color"), ValueError, "non-empty list"),
    (lambda: bayes_rates("vqa"), ValueError, "name='vqa'"),
])
def test_bad_arguments_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
