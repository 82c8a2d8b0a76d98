"""Exercise checks of notebook 06 (beyond two modalities), with the conventions of
:mod:`grounding_kit.exercises.checks`: one verdict line in a student's kernel (✔, ✘ with a hint, ○ not
done yet for the placeholder), :class:`~grounding_kit.exercises.checks.CheckFailed` under nbgrader. The
references come from tested kit code."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from grounding_kit.core.arrays import to_numpy
from grounding_kit.exercises.checks import (_as_array, _call, _close, _done, _expect_shape, _fail, _first_difference,
                                           _function, _passed, _verdict)

__all__ = ["check_pivot_predictions", "check_emap3_function"]


@_verdict
def check_pivot_predictions(predictions: Any, audio_emb: Any, caption_emb: Any) -> None:
    """Exercise 6.1: for each sound, the index of the caption nearest to it in CLIP's space (cosine)."""
    exercise = "Exercise 6.1 (pivot through the image space)"
    _done(exercise, "predictions", predictions)
    audio, captions = to_numpy(audio_emb).astype(np.float64), to_numpy(caption_emb).astype(np.float64)
    scores = audio @ captions.T / np.outer(np.linalg.norm(audio, axis=1), np.linalg.norm(captions, axis=1))
    expected = scores.argmax(1)
    got = _as_array(exercise, "predictions", predictions)
    if not np.array_equal(got, expected) and got.shape == scores.argmax(0).shape and np.array_equal(got, scores.argmax(0)):
        _fail(exercise, f"you took the argmax over the sounds: one sound per caption ({len(got)} values), not "
                        f"one caption per sound ({len(expected)}).",
              "rows are sounds, columns captions: argmax(axis=1).")
    _expect_shape(exercise, "predictions", got, expected.shape,
                  "one caption index per sound: take the argmax over the captions (axis 1).")
    if not np.array_equal(got.astype(np.int64), expected):
        wrong = int(np.flatnonzero(got.astype(np.int64) != expected)[0])
        _fail(exercise, f"sound {wrong}: you predict caption {int(got[wrong])}, the nearest is {int(expected[wrong])}.",
              "score every (sound, caption) pair with the dot product of the unit embeddings, then argmax(axis=1).")
    _passed(exercise, f"the pivot labels {len(got)} sounds without ever having seen a sound next to a caption.")


@_verdict
def check_emap3_function(my_emap3: Callable[[np.ndarray], Any]) -> None:
    """Exercise 6.2: ``my_emap3(P)`` maps a three-modality grid (N, N, N, C) to its projection (N, C)."""
    exercise = "Exercise 6.2 (EMAP for three modalities)"
    from grounding_kit.analysis.projection import emap

    _function(exercise, "my_emap3", my_emap3)
    rng = np.random.default_rng(6)
    effects = rng.normal(size=(3, 4, 2))
    additive = effects[0][:, None, None] + effects[1][None, :, None] + effects[2][None, None, :] + 5.0
    cases = [("an additive 4 x 4 x 4 x 2 grid (its own projection)", additive),
             ("a random 5 x 5 x 5 x 3 grid", rng.normal(size=(5, 5, 5, 3)))]
    for label, P in cases:
        expected = to_numpy(emap(P, modalities=3))
        result = _call(exercise, "my_emap3", my_emap3, P.copy())
        got = _as_array(exercise, "my_emap3(P)", result)
        _expect_shape(exercise, f"my_emap3(P) on {label}", got, expected.shape,
                      "one row per item, the class axis kept: average over two modality axes at a time.")
        if not _close(got, expected, 1e-6):
            margs = sum(P.mean(axis=axes) for axes in ((1, 2), (0, 2), (0, 1)))
            hint = ("you subtracted the grand mean once (as MultiViz's Emap does): with three modalities the "
                    "three partial dependences hold it three times, so subtract it M - 1 = 2 times."
                    if _close(got, margs - P.mean(axis=(0, 1, 2)), 1e-6) else
                    "for item i: mean over (j, k) of P[i, j, k] + mean over (i', k) of P[i', i, k] + mean over "
                    "(i', j) of P[i', j, i] - 2 x the grand mean.")
            _fail(exercise, f"on {label} {_first_difference(got, expected)}.", hint)
    _passed(exercise, "your three-way EMAP agrees with gk.emap(P, modalities=3), and returns an additive grid unchanged.")
