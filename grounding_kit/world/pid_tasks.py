"""Tasks whose partial information decomposition is known: redundant, unique, synergistic, or a dial.

Every row is a caption and an image, each of one large circle of the shapes world in one of its six
colours ("a large red circle"). Two hidden bits decide the label: the **text bit** ``a`` (is the
colour the caption names warm: red, orange or yellow?) and the **image bit** ``b`` (is the colour of
the circle in the image warm?). The colour within its warm or cool half is uniform and carries
nothing about the label.

``"redundant"``  ``y`` uniform, ``a = b = y``: the caption describes the image, and either
    modality alone gives the label. PID: redundancy 1 bit, nothing else.
``"unique_text"``  ``a = y``, ``b`` an independent fair coin (the image shows another object).
    PID: 1 bit unique to the text.
``"unique_image"``  ``b = y``, ``a`` an independent fair coin. PID: 1 bit unique to the image.
``"synergy"``  ``a`` and ``b`` independent fair coins, ``y = 1`` when they agree ("are the colour the
    caption names and the colour shown both warm or both cool?"), an XOR-like rule: each modality
    alone is independent of the label. PID: 1 bit of synergy, nothing else.
``"pid_mix"``  with ``synergy=s`` in [0, 1] (default 0.5): each row follows the synergy rule with
    probability ``s``, else the redundant rule (``a = b = y``); the column ``rule`` says which. In
    both rules the caption names a circle drawn independently of the one shown (of warmth ``a``), so
    that the colours tell nothing about which rule a row follows: were the redundant rows to name
    the very circle shown, a caption that names the colour shown would point to the redundant rule,
    and text and image together would tell more about the label than the bits do. At 0 its bits
    follow the redundant rule, at 1 the synergy rule; in between both parts are present, in amounts
    ``gk.pid(pid_joint("pid_mix", synergy=s))`` gives.

The bits are functions of the captions and the images, and given the bits the colours are drawn
independently of the label (uniformly within their warm or cool half). So the bits are sufficient:
caption and image carry exactly the information about the label that the bits carry, and
``gk.pid(pid_joint(name))`` (the PID of the bits, from the task's exact joint table) is the PID of
the data. An estimator from features of the pairs finds at most that much (data processing
inequality), and exactly that much when the features separate the colours
(``analysis.partial_information.pid_features``).

Columns: ``image`` (Image), ``text``, ``label`` (ClassLabel no/yes), ``task``, ``rule``,
``text_bit``, ``image_bit`` (ints), ``scene`` (the image's description), ``objects`` (JSON).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from grounding_kit.core.validation import check_choice, check_fraction, check_memory, check_positive_int, seed_int
from grounding_kit.world.render import MIN_SIZE, render_scene
from grounding_kit.world.scenes import COLORS, WARM_COLORS, Scene, SceneObject, describe
from grounding_kit.world.storage import cached_dataset, png_record

if TYPE_CHECKING:  # datasets loads on first use
    from datasets import Dataset

#: part of every cache key: bump it when the rows a seed gives change
PID_TASKS_VERSION = "pid-tasks-v3"
PID_TASKS: tuple[str, ...] = ("redundant", "unique_text", "unique_image", "synergy", "pid_mix")
#: the dials of each task and their defaults
PID_DIALS: dict[str, dict[str, Any]] = {name: {} for name in PID_TASKS[:-1]} | {"pid_mix": {"synergy": 0.5}}
#: every object is a large circle in the middle of the image: the colour is all that varies, so a
#: clustering of the features into the 6 colours loses nothing (see ``analysis.partial_information.pid_features``)
SHAPE, SIZE = "circle", "large"
_WARM = tuple(c for c in COLORS if c in WARM_COLORS)
_COOL = tuple(c for c in COLORS if c not in WARM_COLORS)
# measured like world.tasks: peak memory per rendered row, about 4 KiB plus 0.75 bytes per pixel
_ROW_BYTES, _PIXEL_BYTES = 4096, 0.75


def _check_dials(name: str, dials: dict[str, Any]) -> dict[str, Any]:
    check_choice("name", name, PID_TASKS)
    unknown = sorted(set(dials) - set(PID_DIALS[name]))
    if unknown:
        raise TypeError(f"make_pid_task({name!r}) got unknown dials {unknown}; valid dials: {sorted(PID_DIALS[name])}")
    settings = {**PID_DIALS[name], **dials}
    if "synergy" in settings:
        settings["synergy"] = check_fraction("synergy", settings["synergy"])
    return settings


def _rule_probabilities(name: str, settings: dict[str, Any]) -> dict[str, float]:
    if name == "pid_mix":
        return {"synergy": settings["synergy"], "redundant": 1.0 - settings["synergy"]}
    return {name: 1.0}


def _bits(rule: str, first: int, second: int) -> tuple[int, int, int]:
    """(text bit a, image bit b, label y) under one rule, from two fair coin flips."""
    if rule == "redundant":
        return first, first, first
    if rule == "unique_text":
        return first, second, first
    if rule == "unique_image":
        return second, first, first
    return first, second, int(first == second)  # synergy


def pid_joint(name: str, **dials: Any) -> np.ndarray:
    """The exact joint table ``p[a, b, y]`` (2, 2, 2) of the text bit, the image bit and the label."""
    settings = _check_dials(name, dials)
    table = np.zeros((2, 2, 2))
    for rule, weight in _rule_probabilities(name, settings).items():
        for first in range(2):
            for second in range(2):
                a, b, y = _bits(rule, first, second)
                table[a, b, y] += weight / 4
    return table


def _object(rng: np.random.Generator, warm: int) -> SceneObject:
    colors = _WARM if warm else _COOL
    return SceneObject(SHAPE, colors[rng.integers(len(colors))], SIZE, 0.5, 0.5)


def _row(rng: np.random.Generator, name: str, rule: str) -> dict[str, Any]:
    a, b, y = _bits(rule, int(rng.integers(2)), int(rng.integers(2)))
    shown = _object(rng, b)
    named = shown if name == "redundant" else _object(rng, a)  # pid_mix: drawn independently, as in its synergy rows (module docstring)
    scene = Scene((shown,))
    return {"scene_obj": scene, "text": describe(Scene((named,))), "label": y, "task": name, "rule": rule,
            "text_bit": a, "image_bit": b, "scene": describe(scene), "objects": json.dumps(scene.to_dicts())}


def pid_features():
    """The ``datasets.Features`` of a PID task."""
    from datasets import ClassLabel, Features, Image, Value

    return Features({"image": Image(), "text": Value("string"), "label": ClassLabel(names=["no", "yes"]),
                     "task": Value("string"), "rule": Value("string"), "text_bit": Value("int8"),
                     "image_bit": Value("int8"), "scene": Value("string"), "objects": Value("string")})


def make_pid_task(name: str, n: int = 1000, seed: int = 0, size: int = 64, *, cache: bool = True,
                  **dials: Any) -> "Dataset":
    """A task with a known PID as a ``datasets.Dataset`` (cached on disk like ``make_task``).

    Parameters
    ----------
    name : "redundant", "unique_text", "unique_image", "synergy" or "pid_mix" (module docstring).
    n : number of rows.
    seed : an integer >= 0 or a ``numpy.random.Generator``.
    size : image side in pixels.
    cache : keep the result in the kit's cache folder.
    **dials : "pid_mix" takes ``synergy`` in [0, 1].

    Returns
    -------
    datasets.Dataset with the columns of the module docstring.

    Raises
    ------
    ValueError
        an unknown task, a bad ``n``, ``size`` or dial value.
    TypeError
        an unknown dial.
    BudgetError
        ``n`` rows would not fit in memory.
    """
    settings = _check_dials(name, dials)
    n = check_positive_int("n", n)
    size = check_positive_int("size", size, minimum=MIN_SIZE)
    seed = seed_int(seed)
    check_memory(f"make_pid_task({name!r}, n={n:,}, size={size})", n * (_ROW_BYTES + _PIXEL_BYTES * size * size),
                 hint="Use a smaller n.")
    return cached_dataset(f"pid-{name}", (PID_TASKS_VERSION, n, seed, size, settings), lambda: _build(name, n, seed, size, settings), cache)


def _build(name: str, n: int, seed: int, size: int, settings: dict[str, Any]):
    from datasets import Dataset

    rng = np.random.default_rng(seed)
    rules = _rule_probabilities(name, settings)
    names, weights = list(rules), np.array(list(rules.values()))
    features = pid_features()
    columns: dict[str, list[Any]] = {key: [] for key in features}
    for _ in range(n):
        row = _row(rng, name, names[rng.choice(len(names), p=weights)] if len(names) > 1 else names[0])
        row["image"] = png_record(render_scene(row.pop("scene_obj"), size))
        for key in features:
            columns[key].append(row[key])
    return Dataset.from_dict(columns, features=features)
