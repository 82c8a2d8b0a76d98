"""The three-modality experiment: embed text, image and audio, fit a head, and ask which pairs interact.

:func:`modality_features` embeds a :func:`~grounding_kit.world.audio_tasks.make_audio_task` dataset
(CLIP's towers for text and image, the tiny audio encoder for sound). :func:`three_modality_study`
fits a head over the three embeddings (:func:`~grounding_kit.models.multimodal_head.fit_multimodal_head`) on training rows and, on
held-out rows, measures the head, its M-way EMAP (``emap_multimodal``) and the functional-ANOVA
decomposition of its logit margin over all ``n_grid ** 3`` (text, image, audio) tuples
(``decompose(P, modalities=3)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from grounding_kit.analysis.multimodal import MultiDecomposition, decompose_modalities, emap_multimodal, tuple_logits
from grounding_kit.core.threads import single_thread
from grounding_kit.core.validation import check_positive_int, seed_int
from grounding_kit.models.audio import encode_audio
from grounding_kit.models.multimodal_head import fit_multimodal_head
from grounding_kit.world.audio import decode_audio
from grounding_kit.world.audio_tasks import MODALITIES, make_audio_task


def modality_features(ds: Any, clip: Any, audio_model: Any) -> list[torch.Tensor]:
    """``[text (N, D), image (N, D), audio (N, D)]`` unit embeddings of a three-modality dataset.

    Raises
    ------
    ValueError
        If ``ds`` lacks a ``text``, ``image`` or ``audio`` column.
    """
    missing = [c for c in MODALITIES if c not in getattr(ds, "column_names", ())]
    if missing:
        raise ValueError(f"ds must have the columns {list(MODALITIES)} (make_audio_task's); missing {missing}")
    with torch.no_grad(), single_thread():
        text = clip.encode_texts(ds["text"]).float()
        image = clip.encode_images(ds["image"]).float()
    audio = encode_audio(audio_model, np.stack([decode_audio(a) for a in ds["audio"]]))
    return [text, image, audio]


@dataclass(frozen=True)
class ModalityStudy:
    """One task's three-modality analysis (held-out rows).

    Attributes
    ----------
    task : the make_audio_task name
    head : the fitted head (:func:`fit_multimodal_head`)
    accuracy : the head's accuracy on the held-out rows
    emap_accuracy : the accuracy of its M-way EMAP (the best additive approximation) there
    decomposition : MultiDecomposition of the head's logit margin (yes - no) on the first
        ``n_grid`` held-out rows of each modality, all ``n_grid ** 3`` tuples
    """

    task: str
    head: torch.nn.Module
    accuracy: float
    emap_accuracy: float
    decomposition: MultiDecomposition


def three_modality_study(task: str, clip: Any, audio_model: Any, n_train: int = 600, n_eval: int = 200,
                         n_grid: int = 24, seed: int = 0, *, kind: str = "pairwise",
                         partners: int | None = 32) -> ModalityStudy:
    """Fit a three-modality head on ``task`` and measure it, its EMAP and its decomposition on fresh rows.

    Training and held-out rows come from different seeds of :func:`make_audio_task`
    (``seed`` and ``seed + 1``). ``kind`` is :func:`fit_multimodal_head`'s; the held-out EMAP is
    exact with ``partners=None`` (``n_eval ** 3`` evaluations) or a Monte Carlo estimate from
    ``partners`` partner tuples per item and modality (seeded by ``seed``).

    Raises
    ------
    ValueError
        For an unknown task, or ``n_grid`` larger than ``n_eval``.
    """
    n_train, n_eval = check_positive_int("n_train", n_train), check_positive_int("n_eval", n_eval)
    n_grid = check_positive_int("n_grid", n_grid, minimum=2)
    if n_grid > n_eval:
        raise ValueError(f"n_grid must be at most n_eval={n_eval}, got {n_grid}")
    seed = seed_int(seed)
    train, held = make_audio_task(task, n_train, seed), make_audio_task(task, n_eval, seed + 1)
    x_train, x_eval = modality_features(train, clip, audio_model), modality_features(held, clip, audio_model)
    head = fit_multimodal_head(x_train, train["label"], kind=kind, epochs=200, seed=seed)
    labels = np.asarray(held["label"])
    with torch.no_grad(), single_thread():
        accuracy = float((head(*x_eval).argmax(1).numpy() == labels).mean())
        projection = emap_multimodal(head, x_eval, partners=partners, seed=seed).projection
        grid = tuple_logits(head, [x[:n_grid] for x in x_eval])
    parts = decompose_modalities(grid[..., 1] - grid[..., 0], 3, order=2, names=MODALITIES)
    return ModalityStudy(task=task, head=head, accuracy=accuracy,
                         emap_accuracy=float((projection.argmax(1) == labels).mean()), decomposition=parts)
