"""A task whose text and image are dependent beyond the label: one combination never occurs.

Each row pairs a caption with a *mood* (its sentiment word is positive or negative; "a wonderful
picture of a large circle": shapes and sizes, never colours) and an image with a *warmth* (one or
two objects, all warm or all cool; red, orange, yellow are warm). The label asks whether the mood
fits the picture: ``yes`` for a positive caption of a warm picture or a negative caption of a cool
one, ``no`` otherwise, flipped with probability ``flip``.

Over all four (mood, warmth) combinations that rule is an interaction (an exclusive or). But with
``dependence=1`` the data hold only three of them: (positive, warm) in half of the rows,
(positive, cool) and (negative, cool) in a quarter each (``SUPPORT``). A negative caption of a warm
picture **never occurs**, so mood and warmth are dependent (a warm picture always comes with a
positive caption), also within each label. On those three combinations the rule is additive:
log-odds ``g(mood) + h(warmth)`` reproduce it exactly. With ``dependence=d`` each row comes from
that support with probability ``d`` and from the independent product of mood and warmth (all four
cells equally likely) otherwise.

Under the product of the marginals at ``dependence=1`` (positive 3/4, warm 1/2) the missing cell
weighs 1/8, and the least-squares additive fit of the exclusive-or margins (+m where the mood fits,
-m elsewhere) is +m/2 on (positive, warm) and -m/2 on both cool cells: wrong on (negative, cool).
Under the joint distribution the additive fit reproduces the three observed cells exactly.

This is the setting of Hooker (2007, "Generalized functional ANOVA diagnostics for
high-dimensional functions of dependent variables", JCGS 16(3)): a projection under the product of
the marginals (EMAP) also averages the model over pairs that never co-occur, where the model only
extrapolates, while an additive fit under the joint distribution uses the observed pairs only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from grounding_kit.core.validation import check_fraction, check_memory, check_positive_int, seed_int
from grounding_kit.world.render import MIN_SIZE
from grounding_kit.world.scenes import (COLORS, MAX_OBJECTS, WARM_COLORS, Scene, article, join_phrases,
                                        ordered, random_object)
from grounding_kit.world.storage import cached_dataset
from grounding_kit.world.tasks import SENTIMENT, _scene_row, binary_features, dataset_bytes, rows_to_dataset

if TYPE_CHECKING:
    from datasets import Dataset

MOODS: tuple[str, ...] = ("positive", "negative")
WARMTHS: tuple[str, ...] = ("warm", "cool")
#: the (mood, warmth) combinations of the support at ``dependence=1`` and their probabilities;
#: ("negative", "warm") never occurs
SUPPORT: dict[tuple[str, str], float] = {("positive", "warm"): 0.5, ("positive", "cool"): 0.25,
                                         ("negative", "cool"): 0.25}
_WORDS = {"positive": [w for w, s in SENTIMENT.items() if s > 0], "negative": [w for w, s in SENTIMENT.items() if s < 0]}
_COLOURS = {"warm": tuple(c for c in COLORS if c in WARM_COLORS), "cool": tuple(c for c in COLORS if c not in WARM_COLORS)}


def fits(mood: str, warmth: str) -> bool:
    """The rule before label noise: does the mood fit the picture (positive-warm or negative-cool)?"""
    return (mood == "positive") == (warmth == "warm")


def make_dependent_task(n: int = 1000, seed: int = 0, size: int = 64, *, dependence: float = 1.0,
                        flip: float = 0.1, max_objects: int = 2, cache: bool = True) -> "Dataset":
    """The mood-fits-picture task with dependent text and image (see the module docstring).

    Parameters
    ----------
    n : number of rows.
    seed : an integer >= 0 or a ``numpy.random.Generator`` (one int seed is drawn from it).
    size : image side in pixels.
    dependence : probability in [0, 1] that a row comes from the three-combination support
        ``SUPPORT`` (with its probabilities); otherwise mood and warmth are drawn independently and
        uniformly.
    flip : probability in [0, 1] that a label is flipped (the Bayes rate is ``1 - flip`` when
        ``flip <= 0.5``).
    max_objects : objects per image, uniform in 1..max_objects (at most 4).
    cache : keep the result in the kit's cache folder.

    Returns
    -------
    datasets.Dataset with the columns of the binary tasks of ``make_task`` (``rule`` is
    "dependent", ``text_score`` the sentiment word's score, ``image_score`` the warmth +1 or -1,
    ``p_yes`` the probability of ``yes``) plus ``mood`` and ``warmth``.

    Raises
    ------
    ValueError
        If ``n``, ``size``, ``max_objects``, ``dependence`` or ``flip`` is out of range.
    """
    n = check_positive_int("n", n)
    size = check_positive_int("size", size, minimum=MIN_SIZE)
    max_objects = check_positive_int("max_objects", max_objects)
    if max_objects > MAX_OBJECTS:
        raise ValueError(f"max_objects must be in 1..{MAX_OBJECTS}, got {max_objects}")
    settings = {"dependence": check_fraction("dependence", dependence), "flip": check_fraction("flip", flip),
                "max_objects": max_objects, "support": [[*cell, p] for cell, p in SUPPORT.items()]}
    seed = seed_int(seed)
    check_memory(f"make_dependent_task(n={n:,}, size={size})", dataset_bytes(n, size),
                 hint="Use a smaller n (a few thousand rows show the effect).")
    return cached_dataset("dependent", (n, seed, size, settings), lambda: _build(n, seed, size, settings), cache)


def _build(n: int, seed: int, size: int, settings: dict[str, Any]):
    from datasets import Value

    rng = np.random.default_rng(seed)
    rows = [_row(rng, settings) for _ in tqdm(range(n), desc="make_dependent_task", disable=n < 5000)]
    features = binary_features()
    features["mood"], features["warmth"] = Value("string"), Value("string")
    return rows_to_dataset(rows, size, features)


def _row(rng: np.random.Generator, settings: dict[str, Any]) -> dict[str, Any]:
    if rng.random() < settings["dependence"]:
        support = list(SUPPORT)
        mood, warmth = support[rng.choice(len(support), p=list(SUPPORT.values()))]
    else:
        mood, warmth = MOODS[rng.integers(2)], WARMTHS[rng.integers(2)]
    n_objects = int(rng.integers(1, settings["max_objects"] + 1))
    cells = rng.permutation(MAX_OBJECTS)[:n_objects]
    scene = Scene(tuple(random_object(rng, int(c), colors=_COLOURS[warmth]) for c in cells))
    words = _WORDS[mood]
    word = words[rng.integers(len(words))]
    p_yes = 1.0 - settings["flip"] if fits(mood, warmth) else settings["flip"]
    shapes = join_phrases([f"a {o.size} {o.shape}" for o in ordered(scene)])
    return {**_scene_row(scene), "text": f"{article(word)} {word} picture of {shapes}",
            "label": int(rng.random() < p_yes), "task": "dependent", "rule": "dependent", "caption_scene": "",
            "changed": "", "sentiment_word": word, "text_score": SENTIMENT[word], "p_yes": p_yes,
            "mood": mood, "warmth": warmth}
