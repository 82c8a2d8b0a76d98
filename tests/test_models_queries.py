"""Typed queries: their truth on scenes, the hard negatives, the ranking metrics and the
out-of-vocabulary message of the tiny CLIP."""

from __future__ import annotations

import numpy as np
import pytest

from grounding_kit.world.queries import (EXAMPLE_QUERIES, QUERY_KINDS, Query, Referent, example_texts,
                                          hard_negative_scene, mirrored, perturb_query, rank_quality,
                                          sample_gallery, sample_queries, sample_query, scene_query, truth_matrix)
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
        if kind == "left_right" and not query.holds(mirrored(scene)):  # the relation's own negative
            assert edited == mirrored(scene)


def test_mirrored_swaps_every_objects_column_and_keeps_the_rest():
    flipped = mirrored(SCENE)
    assert [o.column for o in flipped.objects] == [1, 0, 0]
    assert [(o.shape, o.color, o.size, o.y) for o in flipped.objects] == \
        [(o.shape, o.color, o.size, o.y) for o in SCENE.objects]
    assert mirrored(flipped) == SCENE


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
    # version 2 knows the counting and relation words; a word outside the world is named
    assert unknown_word_message(tokenizer, "two squares left of a circle") is None
    assert unknown_word_message(tokenizer, "two bananas").startswith("unknown word 'bananas':")


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
    from grounding_kit.world.queries import example_queries
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

    scenes, queries, truth, pairs = typed_query_batch(np.random.default_rng(5), n_multi=8, n_queries=12)
    again = typed_query_batch(np.random.default_rng(5), n_multi=8, n_queries=12)
    assert queries == again[1] and np.array_equal(truth, again[2]) and scenes == again[0]
    assert np.array_equal(pairs, again[3]) and pairs.shape == (12, 4)
    assert truth.shape == (len(queries), len(scenes)) == (36 + 8 + 12 + 24, 36 + 8 + 12)
    assert truth[:36, :36].diagonal().all()  # each template caption holds for its own scene
    assert np.array_equal(truth, truth_matrix(queries, scenes))
    # each typed query holds for the scene it was drawn from (more queries than scenes: they wrap
    # round), its hard-negative image does not hold it, and its hard-negative text is the next row
    for i, (query, negative, scene, edited) in enumerate(pairs):
        assert scene == 36 + i % 8 and edited == 36 + 8 + i and queries[query].kind in QUERY_KINDS
        assert negative == query + 1
        assert queries[query].holds(scenes[scene]) and not queries[query].holds(scenes[edited])
        # from column 36 on, a scene's whole description is the text of the same row
        assert queries[scene] == scene_query(scenes[scene]) and queries[edited] == scene_query(scenes[edited])
    assert sum(not truth[negative, scene] for _, negative, scene, _ in pairs) >= 9  # the text change mostly breaks it


def test_multi_positive_loss_is_clips_loss_when_each_text_has_one_image():
    import open_clip
    import torch

    from grounding_kit.models.training import multi_positive_clip_loss

    torch.manual_seed(0)
    image, text = (torch.nn.functional.normalize(torch.randn(6, 4), dim=-1) for _ in range(2))
    expected = open_clip.ClipLoss()(image, text, torch.tensor(10.0))
    got = multi_positive_clip_loss(10.0 * text @ image.T, torch.eye(6, dtype=torch.bool))
    assert torch.allclose(got, expected, atol=1e-6)


def five_texts_three_images(seed):
    """Logits (5, 3), a random truth in which texts 0-2 hold for images 0-2, each image's own
    description (texts 0-2), and the expected text-to-image loss (every text with a positive)."""
    import torch

    torch.manual_seed(seed)
    logits = torch.randn(5, 3)
    truth = torch.rand(5, 3) > 0.4
    truth[:3] |= torch.eye(3, dtype=torch.bool)
    own = torch.zeros(5, 3, dtype=torch.bool)
    own[:3] = torch.eye(3, dtype=torch.bool)  # each image's positive: its own description only
    kept = truth.any(1)
    text_to_image = torch.nn.functional.cross_entropy(
        logits[kept], truth[kept].float() / truth[kept].sum(1, keepdim=True))
    return logits, truth, own, text_to_image


def test_multi_positive_loss_takes_the_image_to_text_positives_apart():
    import torch

    from grounding_kit.models.training import multi_positive_clip_loss

    logits, truth, own, text_to_image = five_texts_three_images(0)
    image_to_text = torch.nn.functional.cross_entropy(logits.T, torch.arange(3))
    got = multi_positive_clip_loss(logits, truth, own)
    assert torch.allclose(got, (text_to_image + image_to_text) / 2, atol=1e-6)
    assert not torch.allclose(got, multi_positive_clip_loss(logits, truth))


def test_multi_positive_loss_scores_an_image_against_its_candidate_texts_only():
    import torch

    from grounding_kit.models.training import multi_positive_clip_loss

    logits, truth, own, text_to_image = five_texts_three_images(1)
    candidates = torch.tensor([True, True, True, False, False])  # texts 3 and 4: partial queries
    image_to_text = torch.nn.functional.cross_entropy(logits[:3].T, torch.arange(3))
    got = multi_positive_clip_loss(logits, truth, own, image_candidates=candidates)
    assert torch.allclose(got, (text_to_image + image_to_text) / 2, atol=1e-6)
    # a query true of no image then gets no gradient: it is no image's candidate
    logits.requires_grad_(True)
    multi_positive_clip_loss(logits, torch.zeros_like(truth) | own, own, image_candidates=candidates).backward()
    assert torch.all(logits.grad[3:] == 0)


def test_hard_text_loss_prefers_each_query_to_its_changed_text_on_its_scene():
    import torch

    from grounding_kit.models.training import hard_text_loss

    logits = torch.zeros(4, 2)
    logits[0, 1], logits[1, 1] = 3.0, 1.0  # query 0 beats its changed text 1 on scene 1
    truth = torch.zeros(4, 2, dtype=torch.bool)
    truth[0, 1] = truth[2, 0] = truth[3, 0] = True  # text 3 still holds for scene 0: pair left out
    pairs = np.array([[0, 1, 1], [2, 3, 0]])
    expected = torch.nn.functional.cross_entropy(torch.tensor([[3.0, 1.0]]), torch.tensor([0]))
    assert torch.allclose(hard_text_loss(logits, truth, pairs), expected)
    logits[1, 1] = 5.0  # the changed text now scores higher: the loss grows
    assert hard_text_loss(logits, truth, pairs) > expected


def test_match_pair_loss_is_the_sigmoid_loss_of_each_scene_and_its_edit_against_both_descriptions():
    import torch

    from grounding_kit.models.training import match_pair_loss

    logits = torch.arange(16.0).reshape(4, 4) / 4
    truth = torch.eye(4, dtype=torch.bool)
    truth[3, 1] = True  # the edit left scene 1's description true of it
    pairs = np.array([[0, 0, 1, 3]])  # scene 1 (described in row 1), its edit scene 3 (row 3)
    bias = torch.tensor(-1.0)
    picked = torch.tensor([logits[1, 1], logits[3, 3], logits[1, 3], logits[3, 1]]) + bias
    expected = torch.nn.functional.binary_cross_entropy_with_logits(picked, torch.tensor([1.0, 1.0, 0.0, 1.0]))
    assert torch.allclose(match_pair_loss(logits, truth, pairs, bias), expected)


def test_calibration_loss_is_the_sigmoid_loss_of_every_pair():
    import torch

    from grounding_kit.models.training import calibration_loss

    logits, truth = torch.tensor([[4.0, -2.0], [1.0, 3.0]]), torch.tensor([[True, False], [False, True]])
    bias = torch.tensor(-1.0)
    log_sigmoid = torch.nn.functional.logsigmoid
    expected = -(log_sigmoid(torch.tensor([3.0, 2.0])).sum() + log_sigmoid(-torch.tensor([-3.0, 0.0])).sum()) / 4
    assert torch.allclose(calibration_loss(logits, truth, bias), expected)


def test_layout_targets_name_each_columns_objects_and_the_counts():
    from grounding_kit.models.training import layout_targets
    from grounding_kit.world import COLORS, SHAPES

    present, counts = layout_targets(SCENE)
    grid = present.reshape(2, len(COLORS), len(SHAPES))
    expected = {(0, "red", "circle"), (1, "blue", "square"), (1, "red", "square")}
    assert {(c, COLORS[i], SHAPES[j]) for c, i, j in zip(*np.nonzero(grid))} == expected
    assert dict(zip((*SHAPES, "objects"), counts.tolist())) == {"circle": 1, "square": 2, "triangle": 0, "objects": 3}


def test_relation_targets_put_each_referent_in_its_column():
    from grounding_kit.models.training import IGNORED, relation_targets
    from grounding_kit.world import COLORS, SHAPES

    red, square = Referent(color="red"), Referent(shape="square")
    # [left colour, left shape, right colour, right shape]; 0 = not named
    red_left = [1 + COLORS.index("red"), 0, 0, 1 + SHAPES.index("square")]
    assert relation_targets(Query("left_right", (red, square), relation="left")).tolist() == red_left
    assert relation_targets(Query("left_right", (square, red), relation="right")).tolist() == red_left
    assert relation_targets(Query("two", (red, square))).tolist() == [IGNORED] * 4


def test_layout_loss_trains_both_towers_and_skips_the_relation_without_left_right_queries():
    import torch

    from grounding_kit.models.training import layout_heads, layout_loss

    torch.manual_seed(0)
    heads = layout_heads(8)
    scenes = sample_gallery(6, seed=3)
    image = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1).requires_grad_(True)
    lr = Query("left_right", (Referent(color="red"), Referent(shape="square")), relation="left")
    for queries, text_grad in (([lr, scene_query(SCENE)], True), ([scene_query(SCENE)] * 2, False)):
        text = torch.nn.functional.normalize(torch.randn(2, 8), dim=-1).requires_grad_(True)
        loss = layout_loss(heads, image, text, scenes, queries)
        assert loss.ndim == 0 and torch.isfinite(loss)
        loss.backward()
        assert image.grad.abs().sum() > 0 and (text.grad is not None and text.grad.abs().sum() > 0) == text_grad


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


def test_mirror_accuracy_finds_that_version_2_uses_the_relation():
    from grounding_kit.models import load_clip
    from grounding_kit.world.queries import mirror_accuracy

    clip = load_clip("tiny-shapes", device="cpu")
    measured = mirror_accuracy(clip, n_pairs=120, seed=3)
    assert measured == mirror_accuracy(clip, n_pairs=120, seed=3) and measured["n_pairs"] == 120
    # version 1 embedded a scene and its mirror at cosine 0.996 and was at chance (0.50 / 0.49, its
    # model card); version 2 tells them apart, in the image and in the text
    assert measured["mirror_cosine"] < 0.95 and measured["image"] > 0.9 and measured["text"] > 0.9, measured
    with pytest.raises(ValueError, match="n_pairs"):
        mirror_accuracy(clip, n_pairs=0)
