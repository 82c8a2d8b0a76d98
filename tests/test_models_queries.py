"""Typed queries: their truth on scenes, the hard negatives, the ranking metrics and the
out-of-vocabulary message of the tiny CLIP."""

from __future__ import annotations

import numpy as np
import pytest

from grounding_kit.models.queries import (EXAMPLE_QUERIES, QUERY_KINDS, Query, Referent, example_texts,
                                          hard_negative_scene, perturb_query, rank_quality, sample_gallery,
                                          sample_queries, sample_query, scene_query, truth_matrix)
from grounding_kit.models.tokenizer import WordTokenizer, unknown_word_message, world_note
from grounding_kit.world import Scene, SceneObject, describe


def obj(shape, color, size="small", x=0.25, y=0.25):
    return SceneObject(shape, color, size, x, y)


# a red circle top-left, a blue square top-right, a small red square bottom-right
SCENE = Scene((obj("circle", "red", "large"), obj("square", "blue", x=0.75), obj("square", "red", x=0.75, y=0.75)))


@pytest.mark.parametrize("query, text, holds", [
    (Query("single", (Referent(color="red", shape="circle"),)), "a red circle", True),
    (Query("single", (Referent(color="blue"),), something=True), "something blue", True),
    (Query("single", (Referent(size="large", shape="square"),)), "a large square", False),
    (Query("single", (Referent(size="small"),)), "a small object", True),
    (Query("two", (Referent(color="red", shape="circle"), Referent(color="blue", shape="square"))),
     "a red circle and a blue square", True),
    (Query("two", (Referent(color="red", shape="circle"), Referent(color="red", shape="circle"))),
     "a red circle and a red circle", False),  # two distinct objects needed
    (Query("count", (Referent(shape="square"),), number=2), "two squares", True),
    (Query("count", (Referent(),), number=2), "two objects", False),  # exactly two
    (Query("count", (Referent(),), number=3), "three objects", True),
    (Query("count", (Referent(shape="circle"),), number=1), "one circle", True),
    (Query("left_right", (Referent(shape="circle"), Referent(shape="square")), relation="left"),
     "a circle left of a square", True),
    (Query("left_right", (Referent(shape="circle"), Referent(shape="square")), relation="right"),
     "a circle right of a square", False),
    (Query("left_right", (Referent(color="blue"), Referent(color="red")), relation="right"),
     "a blue object right of a red object", True),
])
def test_query_words_and_truth(query, text, holds):
    assert query.text == text
    assert query.holds(SCENE) is holds


def test_scene_query_is_the_description_and_holds_for_its_scene():
    query = scene_query(SCENE)
    assert query.text == describe(SCENE) and query.holds(SCENE)
    assert not query.holds(Scene(SCENE.objects[:2]))


@pytest.mark.parametrize("kind", QUERY_KINDS)
def test_sampled_queries_hold_and_hard_negatives_break_them(kind):
    rng = np.random.default_rng(0)
    for scene in sample_gallery(60, seed=1):
        query = sample_query(rng, scene, kind)
        if query is None:  # two: one object; left_right: an empty column
            assert (len(scene.objects) < 2) if kind == "two" else len({o.column for o in scene.objects}) < 2
            continue
        assert query.holds(scene), query.text
        assert perturb_query(rng, query).text != query.text
        edited = hard_negative_scene(rng, scene, query)
        assert edited != scene


def test_truth_matrix_and_rank_quality():
    scenes = sample_gallery(30, seed=2)
    queries = [q for q in (sample_query(np.random.default_rng(i), scenes[i], "single") for i in range(4))]
    truth = truth_matrix(queries, scenes)
    assert truth.shape == (4, 30) and all(truth[i, i] for i in range(4))
    perfect = rank_quality(truth.astype(float), truth)
    assert perfect["top1"] == 1.0
    assert perfect["top5"] == pytest.approx(np.mean([min(5, t.sum()) / 5 for t in truth]))
    assert rank_quality(-truth.astype(float), truth)["top1"] == 0.0
    with pytest.raises(ValueError, match="scores and truth must be"):
        rank_quality(np.zeros((4, 29)), truth)


def test_sample_queries_refuses_a_gallery_too_small():
    with pytest.raises(ValueError, match="use more scenes"):
        sample_queries(np.random.default_rng(0), sample_gallery(6, seed=0), "two", 5)


def test_the_shipped_tiny_clip_knows_its_examples_and_names_the_query_words_it_lacks():
    from grounding_kit.models import load_clip

    tokenizer = load_clip("tiny-shapes", device="cpu").tokenizer
    assert isinstance(tokenizer, WordTokenizer)
    assert tokenizer.unknown_words(list(EXAMPLE_QUERIES) + example_texts("single")[::2]) == []
    # version 1 never saw counting words: the explorer says so rather than ranking silently
    assert unknown_word_message(tokenizer, "two squares").startswith("unknown words 'squares', 'two':")


def test_unknown_word_message_names_the_word():
    tokenizer = WordTokenizer(["a", "red", "circle"], vocab_size=16, context_length=8)
    message = unknown_word_message(tokenizer, "a red Banana and a kiwi")
    assert message.startswith("unknown words 'and', 'banana', 'kiwi':") and "\n" not in message
    assert "3 shapes" in message and "6 colours" in message and "2 sizes" in message
    assert unknown_word_message(tokenizer, "A red circle!") is None
    assert unknown_word_message(None, "anything at all") is None  # a BPE tokenizer knows every word
    assert "3 shapes (circle, square, triangle)" in world_note()
    with pytest.raises(TypeError, match="text must be a string"):
        unknown_word_message(tokenizer, ["a red circle"])


@pytest.mark.slow
def test_every_example_query_ranks_a_fresh_gallery_well():
    from grounding_kit.models import load_clip
    from grounding_kit.models.queries import example_queries
    from grounding_kit.world import render_scene

    clip = load_clip("tiny-shapes", device="cpu")
    scenes = sample_gallery(300, seed=4242)
    queries = example_queries()
    scores = (clip.encode_texts([q.text for q in queries]) @ clip.encode_images([render_scene(s) for s in scenes]).T)
    for query, row, truth in zip(queries, scores.numpy(), truth_matrix(queries, scenes)):
        top = np.argsort(-row, kind="stable")[:5]
        assert truth[top[0]] and truth[top].sum() >= 4, (query.text, truth[top])


def test_typed_query_batches_are_seeded_and_their_truth_matches_the_scenes():
    from grounding_kit.models.training import typed_query_batch

    scenes, texts, truth = typed_query_batch(np.random.default_rng(5), n_multi=8, n_queries=8)
    again = typed_query_batch(np.random.default_rng(5), n_multi=8, n_queries=8)
    assert texts == again[1] and np.array_equal(truth, again[2]) and scenes == again[0]
    assert truth.shape == (len(texts), len(scenes)) == (36 + 8 + 8 + 16, 36 + 8 + 8)
    assert truth[:36, :36].diagonal().all()  # each template caption holds for its own scene


def test_multi_positive_loss_is_clips_loss_when_each_text_has_one_image():
    import open_clip
    import torch

    from grounding_kit.models.training import multi_positive_clip_loss

    torch.manual_seed(0)
    image, text = (torch.nn.functional.normalize(torch.randn(6, 4), dim=-1) for _ in range(2))
    expected = open_clip.ClipLoss()(image, text, torch.tensor(10.0))
    got = multi_positive_clip_loss(10.0 * text @ image.T, torch.eye(6, dtype=torch.bool))
    assert torch.allclose(got, expected, atol=1e-6)


def test_multi_positive_loss_takes_the_image_to_text_positives_apart():
    import torch

    from grounding_kit.models.training import multi_positive_clip_loss

    torch.manual_seed(0)
    logits = torch.randn(5, 3)
    truth = torch.rand(5, 3) > 0.4
    truth[:3] |= torch.eye(3, dtype=torch.bool)
    own = torch.zeros(5, 3, dtype=torch.bool)
    own[:3] = torch.eye(3, dtype=torch.bool)  # each image's positive: its own description only
    kept = truth.any(1)
    text_to_image = torch.nn.functional.cross_entropy(
        logits[kept], truth[kept].float() / truth[kept].sum(1, keepdim=True))
    image_to_text = torch.nn.functional.cross_entropy(logits.T, torch.arange(3))
    got = multi_positive_clip_loss(logits, truth, own)
    assert torch.allclose(got, (text_to_image + image_to_text) / 2, atol=1e-6)
    assert not torch.allclose(got, multi_positive_clip_loss(logits, truth))


def test_description_truth_marks_each_scenes_exact_description():
    from grounding_kit.models.training import description_truth

    scenes = [Scene((obj("circle", "red"),)), Scene((obj("circle", "red", x=0.75),)),
              Scene((obj("square", "blue"), obj("circle", "red", x=0.75)))]
    texts = [describe(s) for s in scenes] + ["a red circle", "a red object"]
    truth = description_truth(texts, scenes)
    assert truth.shape == (5, 3) and truth.dtype == bool
    # the two one-object scenes share their description; partial queries are nobody's description
    assert truth[:3].tolist() == [[True, True, False], [True, True, False], [False, False, True]]
    assert not truth[3:].any()
