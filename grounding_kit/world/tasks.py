"""``make_task``: synthetic image-text tasks whose ground truth is known.

``"additive"``  needs no cross-modal interaction. The caption carries a sentiment word with a
    score ``s`` in {-1, -0.5, +0.5, +1} ("an awful picture of a large circle and a small
    square": the caption names shapes and sizes, never colours); the image carries its colour
    warmth ``w = (#warm - #cool) / #objects`` in [-1, 1] (red, orange, yellow are warm). The
    label is ``yes`` with probability ``sigmoid((s + w) / noise)``. The log-odds are a sum of a
    text term and an image term, so an additive model reaches the Bayes rate; neither modality
    alone does. With the defaults (``noise=0.25``, 1 or 2 objects) the Bayes rate is 0.866,
    text only 0.723, image only 0.758 (exact values: :func:`bayes_rates`). With
    ``image_rule="uniformity"`` the image term is ``u = 2|w| - 1`` instead: +1 when every object
    is warm or every object is cool, -1 for a warm-cool mix. Still additive (log-odds
    ``(s + u) / noise``), but the image term is not a linear function of the objects' colours,
    so a linear model on the features falls short where a nonlinear one, even an additive
    ``f_t(t) + f_v(v)``, does not. (Here the image term is at least as strong as any word, so
    the text moves the probability of ``yes`` but never the best guess: image only = Bayes rate.)
``"match"``  needs nothing but interaction: does the caption describe the image? A caption
    scene is drawn and described; with probability 1/2 the image shows it (``yes``), else one
    attribute (shape, colour or size) of one object is changed to another value drawn uniformly
    (``no``). Attributes are uniform and independent, so the edited scene has the same
    distribution as the original: the caption alone and the image alone are independent of the
    label (chance, 0.5), while the pair decides it exactly (Bayes rate 1).
``"mixed"``  with ``interaction=a`` in [0, 1]: each row follows the match rule with probability
    ``a``, else the additive rule. All three binary tasks share one schema, so ``mixed`` at 0 is
    ``additive`` and at 1 is ``match``, and every rate moves linearly in between: the best
    additive model scores ``(1 - a) * 0.866 + a * 0.5`` while the Bayes rate is
    ``(1 - a) * 0.866 + a * 1``. The column ``rule`` says which rule made each row.
``"vqa"``  questions about a scene (see :mod:`grounding_kit.world.vqa`) with a ``prior`` dial.
``"redundant"``, ``"unique_text"``, ``"unique_image"``, ``"synergy"``, ``"pid_mix"``  tasks with a known
    partial information decomposition (see :mod:`grounding_kit.world.pid_tasks`).

Columns of the binary tasks: ``image`` (Image), ``text``, ``label`` (ClassLabel no/yes),
``task``, ``rule`` ("additive" | "match"), ``scene`` (the image's description), ``objects``
(JSON list of the image's objects), ``n_objects``, ``caption_scene`` (match rows: the scene the
caption describes; else ""), ``changed`` (match rows: "none", "shape", "color" or "size"; else
""), ``sentiment_word`` and ``text_score`` (additive rows; else "" and 0), ``image_score``
(colour warmth ``w`` of the image), ``p_yes`` (the probability of ``yes`` under the rule).

Columns of ``vqa``: ``image``, ``text`` (the question), ``label`` (ClassLabel over
``VQA_ANSWERS``), ``answer``, ``question_type``, ``question_spec`` (JSON), ``favoured_answer``,
``task``, ``scene``, ``objects``, ``n_objects``, ``source`` ("original" | "complement") and
``pair_of`` (the row a complement was made from, -1 for originals).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from tqdm.auto import tqdm

from grounding_kit.core.validation import check_choice, check_fraction, check_memory, check_positive_int, seed_int
from grounding_kit.world.pid_tasks import PID_TASKS, make_pid_task
from grounding_kit.world.render import MIN_SIZE, render_scene
from grounding_kit.world.scenes import (COLORS, MAX_OBJECTS, SHAPES, SIZES, Scene, SceneObject,
                                        article, describe, join_phrases, ordered, sample_scene)
from grounding_kit.world.storage import cached_dataset, png_record
from grounding_kit.world.vqa import QUESTION_TYPES, VQA_ANSWERS, favoured_answer, question_text, sample_question

if TYPE_CHECKING:  # datasets loads on first use
    from datasets import Dataset

TASKS: tuple[str, ...] = ("additive", "match", "mixed", "vqa")
BINARY_LABELS: list[str] = ["no", "yes"]
# sentiment word -> text score s
SENTIMENT: dict[str, float] = {
    "awful": -1.0, "horrible": -1.0, "dull": -0.5, "boring": -0.5,
    "nice": 0.5, "pleasant": 0.5, "wonderful": 1.0, "beautiful": 1.0,
}
DEFAULT_DIALS: dict[str, dict[str, Any]] = {
    "additive": {"noise": 0.25, "max_objects": 2, "image_rule": "warmth"},
    "match": {"max_objects": 2},
    "mixed": {"interaction": 0.5, "noise": 0.25, "max_objects": 2},
    "vqa": {"prior": 0.0, "question_types": QUESTION_TYPES},
}
#: image term of the additive rule, from the colour warmth w in [-1, 1]
IMAGE_RULES: dict[str, Callable[[float], float]] = {
    "warmth": lambda w: w,
    "uniformity": lambda w: 2 * abs(w) - 1,
}
_SHOW_PROGRESS_FROM = 5000
# peak memory of building a task, per row: measured (peak RSS of make_task) 7.3 KB/row at 64 px
# and 30 KB/row at 224 px, i.e. about 4 KiB plus 0.6 bytes per pixel; rounded up
_ROW_BYTES = 4096
_PIXEL_BYTES = 0.75


def dataset_bytes(n: int, size: int) -> float:
    """Estimated peak memory (bytes) of building ``n`` rendered rows of ``size`` x ``size`` px."""
    return n * (_ROW_BYTES + _PIXEL_BYTES * size * size)


def make_task(name: str, n: int = 1000, seed: int = 0, size: int = 64, *, cache: bool = True,
              **dials: Any) -> "Dataset":
    """A synthetic task as a ``datasets.Dataset`` (cached on disk, keyed by every argument).

    Parameters
    ----------
    name : "additive", "match", "mixed" or "vqa" (see the module docstring for the rules).
    n : number of rows.
    seed : an integer >= 0 (the same seed gives the same rows and pixels), or a
        ``numpy.random.Generator`` (one int seed is drawn from it).
    size : image side in pixels (64 by default; 224 for a real CLIP).
    cache : keep the result in the kit's cache folder (default); False builds it in memory only.
    **dials : task settings. additive: ``noise`` (> 0, default 0.25), ``max_objects`` (1..4,
        default 2), ``image_rule`` ("warmth", default, or "uniformity"). match: ``max_objects``. mixed: ``interaction`` in [0, 1] (default 0.5),
        ``noise``, ``max_objects``. vqa: ``prior`` in [0, 1] (default 0), ``question_types``
        (a subset of ``QUESTION_TYPES``).

    Returns
    -------
    datasets.Dataset with columns ``image``, ``text``, ``label`` and the scene metadata.
    """
    if name in PID_TASKS:  # tasks with a known partial information decomposition
        return make_pid_task(name, n, seed, size, cache=cache, **dials)
    check_choice("name", name, TASKS + PID_TASKS)
    n = check_positive_int("n", n)
    size = check_positive_int("size", size, minimum=MIN_SIZE)
    seed = seed_int(seed)
    settings = _check_dials(name, dials)
    check_memory(f"make_task({name!r}, n={n:,}, size={size})", dataset_bytes(n, size),
                 hint="Use a smaller n (a few thousand rows show every effect in the course).")
    build: Callable[[], Any] = lambda: _build(name, n, seed, size, settings)  # noqa: E731
    return cached_dataset(name, (n, seed, size, settings), build, cache)


def _check_dials(name: str, dials: dict[str, Any]) -> dict[str, Any]:
    allowed = DEFAULT_DIALS[name]
    unknown = sorted(set(dials) - set(allowed))
    if unknown:
        raise TypeError(f"make_task({name!r}) got unknown dials {unknown}; valid dials: {sorted(allowed)}")
    settings = {**allowed, **dials}
    if "noise" in settings:
        noise = settings["noise"]
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise > 0:
            raise ValueError(f"noise must be a positive number (the logistic scale), got {noise!r}")
        settings["noise"] = float(noise)
    if "max_objects" in settings:
        m = check_positive_int("max_objects", settings["max_objects"])
        if m > MAX_OBJECTS:
            raise ValueError(f"max_objects must be in 1..{MAX_OBJECTS}, got {m}")
    if "image_rule" in settings:
        check_choice("image_rule", settings["image_rule"], IMAGE_RULES)
    if "interaction" in settings:
        settings["interaction"] = check_fraction("interaction", settings["interaction"])
    if "prior" in settings:
        settings["prior"] = check_fraction("prior", settings["prior"])
    if "question_types" in settings:
        types = settings["question_types"]
        if isinstance(types, str) or not types:
            raise ValueError(f"question_types must be a non-empty list drawn from {list(QUESTION_TYPES)}, "
                             f"got {types!r}")
        for t in types:
            check_choice("question_types item", t, QUESTION_TYPES)
        settings["question_types"] = [t for t in QUESTION_TYPES if t in set(types)]
    return settings


def _build(name: str, n: int, seed: int, size: int, settings: dict[str, Any]):
    rng = np.random.default_rng(seed)
    progress = tqdm(range(n), desc=f"make_task({name!r})", disable=n < _SHOW_PROGRESS_FROM)
    if name == "vqa":
        return rows_to_dataset([_vqa_row(rng, settings) for _ in progress], size, vqa_features())
    if name == "match":
        match_rows = rng.permutation(n) < (n + int(rng.integers(2))) // 2  # exactly half, give or take one
        rows = [_match_row(rng, settings, bool(match_rows[i])) for i in progress]
    else:
        interaction = 0.0 if name == "additive" else settings["interaction"]
        rows = [(_match_row(rng, settings, bool(rng.random() < 0.5)) if rng.random() < interaction
                 else _additive_row(rng, settings)) for _ in progress]
    for row in rows:
        row["task"] = name
    return rows_to_dataset(rows, size, binary_features())


# ---------------------------------------------------------------- binary tasks


def warmth(scene: Scene) -> float:
    """Colour warmth ``(#warm - #cool) / #objects`` in [-1, 1]."""
    return sum(1 if o.warm else -1 for o in scene.objects) / len(scene.objects)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _scene_row(scene: Scene) -> dict[str, Any]:
    return {"scene_obj": scene, "scene": describe(scene), "objects": json.dumps(scene.to_dicts()),
            "n_objects": len(scene.objects), "image_score": warmth(scene)}


def _additive_row(rng: np.random.Generator, settings: dict[str, Any]) -> dict[str, Any]:
    scene = sample_scene(rng, int(rng.integers(1, settings["max_objects"] + 1)))
    word = list(SENTIMENT)[rng.integers(len(SENTIMENT))]
    s, w = SENTIMENT[word], warmth(scene)
    p = _sigmoid((s + IMAGE_RULES[settings.get("image_rule", "warmth")](w)) / settings["noise"])
    shapes = join_phrases([f"a {o.size} {o.shape}" for o in ordered(scene)])
    return {**_scene_row(scene), "text": f"{article(word)} {word} picture of {shapes}",
            "label": int(rng.random() < p), "rule": "additive", "caption_scene": "", "changed": "",
            "sentiment_word": word, "text_score": s, "p_yes": p}


def _match_row(rng: np.random.Generator, settings: dict[str, Any], matches: bool) -> dict[str, Any]:
    caption_scene = sample_scene(rng, int(rng.integers(1, settings["max_objects"] + 1)))
    image_scene, changed = caption_scene, "none"
    if not matches:
        image_scene, changed = edit_one_attribute(rng, caption_scene)
    return {**_scene_row(image_scene), "text": describe(caption_scene), "label": int(matches),
            "rule": "match", "caption_scene": describe(caption_scene), "changed": changed,
            "sentiment_word": "", "text_score": 0.0, "p_yes": float(matches)}


def edit_one_attribute(rng: np.random.Generator, scene: Scene) -> tuple[Scene, str]:
    """Change one attribute of one object to another value, all uniformly; return (scene, attribute)."""
    options = {"shape": SHAPES, "color": COLORS, "size": SIZES}
    i = int(rng.integers(len(scene.objects)))
    attribute = ("shape", "color", "size")[rng.integers(3)]
    obj = scene.objects[i]
    choices = [v for v in options[attribute] if v != getattr(obj, attribute)]
    changed = SceneObject(**{**obj.to_dict(), attribute: choices[rng.integers(len(choices))]})
    objects = scene.objects[:i] + (changed,) + scene.objects[i + 1:]
    return Scene(objects, scene.background), attribute


def bayes_rates(name: str, **dials: Any) -> dict[str, float]:
    """Exact accuracies of the best classifiers for a binary task, by enumerating its distribution.

    Returns ``{"bayes", "additive", "text_only", "image_only"}``: the best classifier overall,
    the additive rule that is optimal in log-loss (log-odds = text term + image term; on match rows
    it is the constant 1/2), and the best using one modality. An additive rule chosen for accuracy
    instead can beat "additive" on interaction rows: on a balanced XOR of two binary inputs,
    "yes unless both are 0" is additive and right 3 times in 4.
    """
    check_choice("name", name, ("additive", "match", "mixed"))
    settings = _check_dials(name, dials)
    match = {"bayes": 1.0, "additive": 0.5, "text_only": 0.5, "image_only": 0.5}
    if name == "match":
        return match
    additive = _additive_rates(settings["noise"], settings["max_objects"], settings.get("image_rule", "warmth"))
    a = settings.get("interaction", 0.0)
    return {k: (1 - a) * additive[k] + a * match[k] for k in match}


def _additive_rates(noise: float, max_objects: int, image_rule: str = "warmth") -> dict[str, float]:
    cells: list[tuple[float, float, float, float]] = []  # (s, w, probability, p_yes)
    for n_obj in range(1, max_objects + 1):
        for warm in range(n_obj + 1):
            p_w = math.comb(n_obj, warm) / 2 ** n_obj / max_objects
            w = (2 * warm - n_obj) / n_obj
            for word, s in SENTIMENT.items():
                cells.append((s, w, p_w / len(SENTIMENT), _sigmoid((s + IMAGE_RULES[image_rule](w)) / noise)))
    bayes = sum(p * max(q, 1 - q) for _, _, p, q in cells)

    def one_modality(index: int) -> float:
        groups: dict[float, list[float]] = {}
        for cell in cells:
            mass, yes = groups.setdefault(cell[index], [0.0, 0.0])
            groups[cell[index]] = [mass + cell[2], yes + cell[2] * cell[3]]
        return sum(max(yes, mass - yes) for mass, yes in groups.values())

    return {"bayes": bayes, "additive": bayes, "text_only": one_modality(0), "image_only": one_modality(1)}


# ---------------------------------------------------------------- vqa


def _vqa_row(rng: np.random.Generator, settings: dict[str, Any]) -> dict[str, Any]:
    types = settings["question_types"]
    scene, spec, ans = sample_question(rng, types[rng.integers(len(types))], settings["prior"])
    return vqa_row(scene, spec, ans, source="original", pair_of=-1)


def vqa_row(scene: Scene, spec: dict, ans: str, *, source: str, pair_of: int) -> dict[str, Any]:
    """One vqa row (image not yet rendered: ``scene_obj`` holds the scene)."""
    return {"scene_obj": scene, "scene": describe(scene), "objects": json.dumps(scene.to_dicts()),
            "n_objects": len(scene.objects), "text": question_text(spec), "label": VQA_ANSWERS.index(ans),
            "answer": ans, "question_type": spec["type"], "question_spec": json.dumps(spec, sort_keys=True),
            "favoured_answer": favoured_answer(spec), "task": "vqa", "source": source, "pair_of": pair_of}


# ---------------------------------------------------------------- datasets


def binary_features():
    from datasets import ClassLabel, Features, Image, Value

    return Features({
        "image": Image(), "text": Value("string"), "label": ClassLabel(names=BINARY_LABELS),
        "task": Value("string"), "rule": Value("string"), "scene": Value("string"),
        "objects": Value("string"), "n_objects": Value("int32"), "caption_scene": Value("string"),
        "changed": Value("string"), "sentiment_word": Value("string"), "text_score": Value("float32"),
        "image_score": Value("float32"), "p_yes": Value("float32"),
    })


def vqa_features():
    from datasets import ClassLabel, Features, Image, Value

    return Features({
        "image": Image(), "text": Value("string"), "label": ClassLabel(names=VQA_ANSWERS),
        "answer": Value("string"), "question_type": Value("string"), "question_spec": Value("string"),
        "favoured_answer": Value("string"), "task": Value("string"), "scene": Value("string"),
        "objects": Value("string"), "n_objects": Value("int32"), "source": Value("string"),
        "pair_of": Value("int64"),
    })


def rows_to_dataset(rows: list[dict[str, Any]], size: int, features):
    """Render each row's ``scene_obj`` at ``size`` px and build the Dataset."""
    from datasets import Dataset

    columns: dict[str, list[Any]] = {name: [] for name in features}
    for row in rows:
        row["image"] = png_record(render_scene(row.pop("scene_obj"), size))
        for name in features:
            columns[name].append(row[name])
    return Dataset.from_dict(columns, features=features)
