"""The numbers the labs show: EMAP from marginals, recall@k, VQA accuracy by type with chance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grounding_kit.analysis import accuracy_by_type, decompose, emap, emap_from_marginals, recall_at_k


def test_emap_from_exact_marginals_is_emap_and_follows_a_permutation():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(7, 7, 3))
    rows, cols = P.mean(axis=1), P.mean(axis=0)
    np.testing.assert_allclose(emap_from_marginals(rows, cols), emap(P))
    np.testing.assert_allclose(emap_from_marginals(rows, cols, rows.mean(axis=0)), emap(P))
    perm = rng.permutation(7)
    # EMAP of the reshuffled pair (t_i, v_perm[i]) is the additive model on that cell of the grid
    additive = rows[:, None, :] + cols[None, :, :] - rows.mean(axis=0)
    np.testing.assert_allclose(emap_from_marginals(torch.from_numpy(rows), cols, perm=perm),
                               additive[np.arange(7), perm])


def test_emap_from_marginals_refuses_mismatched_inputs():
    with pytest.raises(ValueError, match="same shape"):
        emap_from_marginals(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"grand_mean must have shape \(2,\)"):
        emap_from_marginals(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="permutation of range"):
        emap_from_marginals(np.zeros((3, 2)), np.zeros((3, 2)), perm=[0, 0, 1])
    with pytest.raises(TypeError, match="numeric array"):
        emap_from_marginals(np.array([["a"]]), np.zeros((1, 1)))


def test_recall_at_k_counts_targets_among_the_k_best():
    scores = np.array([[0.9, 0.1, 0.0], [0.8, 0.7, 0.0], [0.1, 0.2, 0.3]])
    assert recall_at_k(scores, 1) == pytest.approx(2 / 3)   # row 1's own item is second
    assert recall_at_k(scores, 2) == 1.0
    assert recall_at_k(scores, 1, targets=[1, 0, 2]) == pytest.approx(2 / 3)
    assert recall_at_k(scores.T, 1) == 1.0                  # image -> text: each column peaks at its own row
    assert recall_at_k(np.ones((3, 3)), 1) == pytest.approx(1 / 3)  # ties go to the lower index, as argmax
    assert recall_at_k(np.ones((3, 3)), 3) == 1.0
    # the widget's old formula, argmax over the permuted columns, agrees on untied scores
    rng = np.random.default_rng(1)
    sim, perm = rng.normal(size=(20, 20)), rng.permutation(20)
    assert recall_at_k(sim, 1, targets=perm) == float((sim[:, perm].argmax(axis=1) == np.arange(20)).mean())


@pytest.mark.parametrize("k, targets, message", [(0, None, "k must be >= 1"), (4, None, "larger than the gallery"),
                                                  (1, [0, 1, 3], r"gallery indices in \[0, 3\)")])
def test_recall_at_k_names_bad_arguments(k, targets, message):
    with pytest.raises(ValueError, match=message):
        recall_at_k(np.zeros((3, 3)), k, targets)


def test_accuracy_by_type_with_chance():
    answers_by_type = {"color": ["red", "blue", "green"], "count": ["1", "2"]}
    out = accuracy_by_type(["red", "red", "1", "2"], ["red", "blue", "1", "1"], ["color", "color", "count", "count"],
                           answers_by_type)
    assert out["color"] == {"accuracy": 0.5, "chance": pytest.approx(1 / 3), "n": 2}
    assert out["count"] == {"accuracy": 0.5, "chance": 0.5, "n": 2}
    assert out["all"]["accuracy"] == 0.5 and out["all"]["chance"] == pytest.approx((2 / 3 + 1) / 4)
    with pytest.raises(ValueError, match=r"question types \['shape'\] have no answer list"):
        accuracy_by_type(["a"], ["a"], ["shape"], answers_by_type)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        accuracy_by_type(["a"], ["a", "b"], ["color"], answers_by_type)


def test_accuracy_by_type_defaults_to_the_worlds_answers():
    from grounding_kit.world.vqa import ANSWERS_BY_TYPE

    kind = sorted(ANSWERS_BY_TYPE)[0]
    answer = ANSWERS_BY_TYPE[kind][0]
    out = accuracy_by_type([answer], [answer], [kind])
    assert out[kind]["chance"] == pytest.approx(1 / len(ANSWERS_BY_TYPE[kind])) and out["all"]["accuracy"] == 1.0


@pytest.mark.parametrize("shape", [(6, 6), (6, 6, 3)])
def test_decomposition_additive_part_is_the_grid_minus_its_interaction(shape):
    P = np.random.default_rng(2).normal(size=shape)
    parts = decompose(P)
    np.testing.assert_allclose(parts.additive(), P - parts.interaction, atol=1e-12)
    np.testing.assert_allclose(np.diagonal(parts.additive(), axis1=0, axis2=1).T, parts.projection(), atol=1e-12)


def test_clip_scores_of_embeddings_are_its_similarity():
    import grounding_kit as gk
    from grounding_kit.world import render_scene, sample_scenes

    clip = gk.load_clip("tiny-shapes", device="cpu")
    texts, images = ["a red circle", "a blue square"], [render_scene(s) for s in sample_scenes(3, seed=0)]
    scores = clip.scores(clip.encode_texts(texts), clip.encode_images(images).numpy())
    torch.testing.assert_close(scores, clip.similarity(texts, images))  # float32 in, float32 out
    wide = clip.scores(clip.encode_texts(texts).double(), clip.encode_images(images))
    assert wide.dtype == torch.float64
    with pytest.raises(ValueError, match="same D"):
        clip.scores(np.zeros((2, 3)), np.zeros((2, 4)))
