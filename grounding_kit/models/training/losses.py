"""The tiny models' training losses beyond the answer or contrastive loss, and their targets.

The typed-query CLIP recipe's terms (:func:`multi_positive_clip_loss`, :func:`hard_text_loss`,
:func:`calibration_loss`, :func:`match_pair_loss`, the training-only :func:`layout_loss`) read
logits ``(Nt, Ni)`` with ``logits[i, j] = s * cos(t_i, v_j)``: rows are texts, columns images.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

IGNORED = -100  # cross-entropy's ignore_index: no target for this row
_COUNT_CLASSES = 5  # 0 to 4 objects
# the layout heads read unit embeddings times this: on unit rows a linear head's logits start near 0
# and grow too slowly to fit (measured: a vision tower trained on the layout targets alone ends at
# BCE 0.227 against the prior's 0.250 at scale 1, and 0.094 at scale 16)
LAYOUT_SCALE = 16.0


def multi_positive_clip_loss(logits: torch.Tensor, truth: torch.Tensor,
                             image_truth: torch.Tensor | None = None,
                             image_candidates: torch.Tensor | None = None) -> torch.Tensor:
    """CLIP's symmetric contrastive loss when a text may hold for several images (and an image
    satisfy several texts): cross-entropy against the truth spread evenly over the positives.

    Parameters
    ----------
    logits : (Nt, Ni) with ``logits[i, j] = s * cos(t_i, v_j)``.
    truth : (Nt, Ni) bool, the positives of the text-to-image direction; rows (texts) or columns
        (images) without a positive are left out of their direction.
    image_truth : (Nt, Ni) bool, the positives of the image-to-text direction (default ``truth``).
    image_candidates : (Nt,) bool, the texts an image is scored against in the image-to-text
        direction (default all). The typed-query recipe keeps its partial queries out of it: a
        query true of an image is then never one of that image's negatives.
    """
    image_truth = truth if image_truth is None else image_truth
    image_scores, image_target = logits.T, image_truth.float().T
    if image_candidates is not None:
        image_scores, image_target = image_scores[:, image_candidates], image_target[:, image_candidates]
    losses = []
    for scores, target in ((logits, truth.float()), (image_scores, image_target)):
        keep = target.sum(1) > 0
        target = target[keep] / target[keep].sum(1, keepdim=True)
        losses.append(torch.nn.functional.cross_entropy(scores[keep], target))
    return (losses[0] + losses[1]) / 2


def description_truth(texts: list[str], scenes: list[Any]) -> np.ndarray:
    """(Nt, Ns) bool, ``texts[i] == describe(scenes[j])``: an image's positives in the typed-query
    recipe's image-to-text direction are its exact whole-scene descriptions, so that an image is
    not spread evenly over every partial query it satisfies (the text-to-image direction keeps the
    full truth of :func:`typed_query_batch`)."""
    from grounding_kit.world import describe

    descriptions = np.array([describe(s) for s in scenes], dtype=object)
    return np.array(texts, dtype=object)[:, None] == descriptions[None, :]


def hard_text_loss(logits: torch.Tensor, truth: torch.Tensor, pairs: np.ndarray) -> torch.Tensor:
    """Each typed query against its hard-negative text (one attribute, number or relation changed)
    on the scene it was drawn from: a two-way cross-entropy that asks the query to score higher.
    In-batch negatives are mostly easy; this term names the one change that makes a text false.

    logits : (Nt, Ni); truth : (Nt, Ni) bool; pairs : (P, 3 or more) rows of (query, hard-negative
    text, scene, ...) indices (:func:`typed_query_batch`). Pairs whose changed text still holds for the scene
    (e.g. "a blue object" of a scene with a red and a blue one) are left out.
    """
    query, negative, scene = (torch.from_numpy(column) for column in np.asarray(pairs)[:, :3].T)
    valid = truth[query, scene] & ~truth[negative, scene]
    scores = torch.stack([logits[query, scene], logits[negative, scene]], 1)[valid]
    return torch.nn.functional.cross_entropy(scores, torch.zeros(len(scores), dtype=torch.long))


def calibration_loss(logits: torch.Tensor, truth: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """SigLIP's sigmoid loss on every text-image pair of the batch: ``logits + bias`` is the log-odds
    that the text holds for the image. The softmax losses only rank; this term puts true pairs
    above one threshold for every text, so that a description of one object and one of two
    objects are scored on one scale.

    logits : (Nt, Ni); truth : (Nt, Ni) bool; bias : a learned scalar.
    """
    return torch.nn.functional.binary_cross_entropy_with_logits(logits + bias, truth.float())


def match_pair_loss(logits: torch.Tensor, truth: torch.Tensor, pairs: np.ndarray, bias: torch.Tensor) -> torch.Tensor:
    """The sigmoid loss of :func:`calibration_loss` on the match task's kind of pair only: each
    drawn scene and its hard-negative image (one change), each against both whole descriptions.
    Among all the batch's pairs these few are drowned by easy negatives; on their own they ask
    for one threshold between a description's scene and a one-change edit of it, whatever the
    number of objects (the zero-shot match AUC).

    logits : (Nt, Ni); truth : (Nt, Ni) bool; pairs : (P, 4) of :func:`typed_query_batch`, whose
    scene columns are also their descriptions' rows; bias : the calibration bias.
    """
    scene, negative = (torch.from_numpy(column) for column in np.asarray(pairs)[:, 2:4].T)
    rows, columns = torch.cat([scene, negative, scene, negative]), torch.cat([scene, negative, negative, scene])
    return calibration_loss(logits[rows, columns], truth[rows, columns], bias)


def _relation_classes() -> tuple[int, ...]:
    """Classes of each :func:`relation_targets` entry: left colour, left shape, right colour,
    right shape (each one more than the options: 0 = not named)."""
    from grounding_kit.world import COLORS, SHAPES

    return (1 + len(COLORS), 1 + len(SHAPES)) * 2


def layout_targets(scene: Any) -> tuple[np.ndarray, np.ndarray]:
    """The training-only image targets of one scene: (2 * 6 * 3,) float, 1 where the scene has an
    object of that colour and shape in that grid column (index ``(column * 6 + colour) * 3 +
    shape``), and (4,) int, the number of circles, squares, triangles and objects."""
    from grounding_kit.world import COLORS, SHAPES

    present = np.zeros((2, len(COLORS), len(SHAPES)), dtype=np.float32)
    for obj in scene.objects:
        present[obj.column, COLORS.index(obj.color), SHAPES.index(obj.shape)] = 1
    counts = [sum(o.shape == shape for o in scene.objects) for shape in SHAPES] + [len(scene.objects)]
    return present.reshape(-1), np.array(counts)


def relation_targets(query: Any) -> np.ndarray:
    """The training-only text targets of one query, (4,) int: for a left/right query the colour
    and shape of its left-column referent, then of its right-column one (0 = not named, else
    1 + the index in ``COLORS`` / ``SHAPES``); :data:`IGNORED` for the other kinds."""
    from grounding_kit.world import COLORS, SHAPES

    if query.kind != "left_right":
        return np.full(4, IGNORED)
    left, right = query.referents if query.relation == "left" else query.referents[::-1]
    return np.array([0 if value is None else 1 + options.index(value)
                     for referent in (left, right)
                     for value, options in ((referent.color, COLORS), (referent.shape, SHAPES))])


def layout_heads(embed_dim: int) -> torch.nn.ModuleDict:
    """The linear heads of :func:`layout_loss` (trained with the CLIP, not saved with it)."""
    from grounding_kit.world import COLORS, SHAPES

    return torch.nn.ModuleDict({
        "layout": torch.nn.Linear(embed_dim, 2 * len(COLORS) * len(SHAPES)),
        "counts": torch.nn.Linear(embed_dim, 4 * _COUNT_CLASSES),
        "relation": torch.nn.Linear(embed_dim, sum(_relation_classes()))})


def layout_loss(heads: torch.nn.ModuleDict, image_features: torch.Tensor, text_features: torch.Tensor,
                scenes: list[Any], queries: list[Any]) -> torch.Tensor:
    """The typed-query recipe's training-only layout loss: which colour and shape sits in which
    grid column and how many of each shape, read linearly from each image embedding
    (:func:`layout_targets`), and which referent a left/right query puts in which column, read
    from its text embedding (:func:`relation_targets`). Without it the contrastive loss alone
    leaves a scene and its mirror image at cosine 0.99 and left/right queries at chance.

    image_features : (Ns, D) unit rows of ``scenes``; text_features : (Nt, D) unit rows of ``queries``.
    """
    cross_entropy = torch.nn.functional.cross_entropy
    image_features, text_features = LAYOUT_SCALE * image_features, LAYOUT_SCALE * text_features
    present, counts = (torch.from_numpy(np.stack(t)) for t in zip(*map(layout_targets, scenes)))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(heads["layout"](image_features), present)
    loss = loss + cross_entropy(heads["counts"](image_features).reshape(-1, _COUNT_CLASSES), counts.reshape(-1))
    relations = torch.from_numpy(np.stack([relation_targets(q) for q in queries]))
    if (relations[:, 0] != IGNORED).any():
        parts = heads["relation"](text_features).split(_relation_classes(), dim=1)
        loss = loss + sum(cross_entropy(part, relations[:, k], ignore_index=IGNORED) for k, part in enumerate(parts))
    return loss
