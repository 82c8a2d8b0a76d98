"""Questions about scenes: five question types, a closed answer vocabulary, a tunable language
prior, and minimal scene edits that change an answer (used by :func:`rebalance`).

A question is a *spec*, a small dict such as ``{"type": "color", "shape": "circle"}``;
:func:`question_text` words it and :func:`answer` computes its answer from a scene, so every
label can be checked against the scene.

=============  ==========================================  ===========================
type           example                                     answers
=============  ==========================================  ===========================
``color``      what color is the circle?                   the 6 colours
``shape``      what shape is the red object?               the 3 shapes
``count``      how many objects are there?                 1, 2, 3, 4
``exists``     is there a blue square?                     yes, no
``left_right`` is the red circle left of the blue square?  yes, no
=============  ==========================================  ===========================

The language prior: for each question there is a *favoured* answer (circles are mostly red,
red objects mostly circles, counts mostly 2, yes/no questions mostly yes). With ``prior=p`` the
answer is drawn from ``p * [favoured] + (1 - p) * uniform``, then a scene with that answer is
built; so at ``p = 0`` the question tells nothing about its answer and at ``p = 0.9`` a model
that never looks at the image answers about 92% of colour questions right.
"""

from __future__ import annotations

import numpy as np

from grounding_kit.world.scenes import (COLORS, MAX_OBJECTS, SHAPES, Scene, SceneObject, article,
                                        free_cells, random_object)

QUESTION_TYPES: tuple[str, ...] = ("color", "shape", "count", "exists", "left_right")
COUNT_ANSWERS: tuple[str, ...] = tuple(str(k) for k in range(1, MAX_OBJECTS + 1))
ANSWERS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "color": COLORS,
    "shape": SHAPES,
    "count": COUNT_ANSWERS,
    "exists": ("yes", "no"),
    "left_right": ("yes", "no"),
}
# the closed answer vocabulary shared by every vqa dataset (label ids index into it)
VQA_ANSWERS: list[str] = [*COLORS, *SHAPES, *COUNT_ANSWERS, "yes", "no"]


class IllPosedQuestion(ValueError):
    """The question's referent is missing or not unique in the scene."""


def question_text(spec: dict) -> str:
    """The question in words."""
    kind = spec["type"]
    if kind == "color":
        return f"what color is the {spec['shape']}?"
    if kind == "shape":
        return f"what shape is the {spec['color']} object?"
    if kind == "count":
        return "how many objects are there?"
    if kind == "exists":
        return f"is there {article(spec['color'])} {spec['color']} {spec['shape']}?"
    a, b = spec["a"], spec["b"]
    return f"is the {a['color']} {a['shape']} {spec['relation']} of the {b['color']} {b['shape']}?"


def favoured_answer(spec: dict) -> str:
    """The answer the language prior pushes this question towards."""
    kind = spec["type"]
    if kind == "color":  # circle -> red, square -> yellow, triangle -> blue
        return COLORS[2 * SHAPES.index(spec["shape"])]
    if kind == "shape":  # red, green -> circle; orange, blue -> square; yellow, purple -> triangle
        return SHAPES[COLORS.index(spec["color"]) % len(SHAPES)]
    if kind == "count":
        return "2"
    return "yes"


def _unique(scene: Scene, **attrs: str) -> int:
    """Index of the one object with these attributes; IllPosedQuestion if none or several."""
    hits = [i for i, o in enumerate(scene.objects) if all(getattr(o, k) == v for k, v in attrs.items())]
    if len(hits) != 1:
        raise IllPosedQuestion(f"{len(hits)} objects match {attrs} in the scene (need exactly one)")
    return hits[0]


def answer(scene: Scene, spec: dict) -> str:
    """The true answer to ``spec`` about ``scene`` (IllPosedQuestion if it has none)."""
    kind = spec["type"]
    objs = scene.objects
    if kind == "color":
        return objs[_unique(scene, shape=spec["shape"])].color
    if kind == "shape":
        return objs[_unique(scene, color=spec["color"])].shape
    if kind == "count":
        return str(len(objs))
    if kind == "exists":
        return "yes" if any(o.color == spec["color"] and o.shape == spec["shape"] for o in objs) else "no"
    a = objs[_unique(scene, **spec["a"])]
    b = objs[_unique(scene, **spec["b"])]
    if a.column == b.column:
        raise IllPosedQuestion("the two objects are in the same column; left/right is ambiguous")
    a_left = a.x < b.x
    return "yes" if a_left == (spec["relation"] == "left") else "no"


def draw_answer(rng: np.random.Generator, spec: dict, prior: float) -> str:
    """An answer from ``prior * [favoured] + (1 - prior) * uniform`` over the type's answers."""
    options = ANSWERS_BY_TYPE[spec["type"]]
    if rng.random() < prior:
        return favoured_answer(spec)
    return options[rng.integers(len(options))]


def _pick(rng: np.random.Generator, options) -> str:
    return options[rng.integers(len(options))]


def _others(options, excluded) -> tuple[str, ...]:
    return tuple(o for o in options if o != excluded)


def sample_question(rng: np.random.Generator, kind: str, prior: float) -> tuple[Scene, dict, str]:
    """A (scene, spec, answer) triple of question type ``kind`` whose answer follows the prior."""
    if kind == "color":
        spec = {"type": "color", "shape": _pick(rng, SHAPES)}
    elif kind == "shape":
        spec = {"type": "shape", "color": _pick(rng, COLORS)}
    elif kind == "count":
        spec = {"type": "count"}
    elif kind == "exists":
        spec = {"type": "exists", "color": _pick(rng, COLORS), "shape": _pick(rng, SHAPES)}
    else:
        a = {"color": _pick(rng, COLORS), "shape": _pick(rng, SHAPES)}
        b = dict(a)
        while b == a:
            b = {"color": _pick(rng, COLORS), "shape": _pick(rng, SHAPES)}
        spec = {"type": "left_right", "a": a, "b": b, "relation": _pick(rng, ("left", "right"))}
    target = draw_answer(rng, spec, prior)
    scene = _scene_with_answer(rng, spec, target)
    return scene, spec, target


def _scene_with_answer(rng: np.random.Generator, spec: dict, target: str) -> Scene:
    kind = spec["type"]
    n = int(target) if kind == "count" else int(rng.integers(2 if kind == "left_right" else 1,
                                                            MAX_OBJECTS + 1))
    cells = [int(c) for c in rng.permutation(MAX_OBJECTS)[:n]]
    if kind == "color":
        first = random_object(rng, cells[0], shapes=(spec["shape"],), colors=(target,))
        rest = [random_object(rng, c, shapes=_others(SHAPES, spec["shape"])) for c in cells[1:]]
    elif kind == "shape":
        first = random_object(rng, cells[0], shapes=(target,), colors=(spec["color"],))
        rest = [random_object(rng, c, colors=_others(COLORS, spec["color"])) for c in cells[1:]]
    elif kind == "count":
        first, rest = random_object(rng, cells[0]), [random_object(rng, c) for c in cells[1:]]
    elif kind == "exists":
        objs = [random_object(rng, c) for c in cells]
        if target == "yes":
            objs[0] = _with(objs[0], color=spec["color"], shape=spec["shape"])
        else:
            objs = [_without(rng, o, spec) for o in objs]
        first, rest = objs[0], objs[1:]
    else:
        first, second, rest = _left_right_pair(rng, spec, target, cells)
        rest = [second, *rest]
    scene = Scene((first, *rest))
    return Scene(tuple(scene.objects[i] for i in rng.permutation(len(scene.objects))))


def _with(obj: SceneObject, **changes) -> SceneObject:
    return SceneObject(**{**obj.to_dict(), **changes})


def _without(rng: np.random.Generator, obj: SceneObject, spec: dict) -> SceneObject:
    """``obj``, recoloured if it is the (colour, shape) that ``spec`` asks about."""
    if obj.color == spec["color"] and obj.shape == spec["shape"]:
        return _with(obj, color=_pick(rng, _others(COLORS, spec["color"])))
    return obj


def _left_right_pair(rng, spec, target, cells):
    """The two referents of a left/right question, in opposite columns, plus distractors."""
    a_is_left = (target == "yes") == (spec["relation"] == "left")
    left_cell, right_cell = 2 * int(rng.integers(2)), 2 * int(rng.integers(2)) + 1
    cell_a, cell_b = (left_cell, right_cell) if a_is_left else (right_cell, left_cell)
    a = random_object(rng, cell_a, shapes=(spec["a"]["shape"],), colors=(spec["a"]["color"],))
    b = random_object(rng, cell_b, shapes=(spec["b"]["shape"],), colors=(spec["b"]["color"],))
    spare = [c for c in range(MAX_OBJECTS) if c not in (cell_a, cell_b)]
    rng.shuffle(spare)
    rest = []
    for cell in spare[: len(cells) - 2]:
        obj = random_object(rng, cell)
        while {"color": obj.color, "shape": obj.shape} in (spec["a"], spec["b"]):
            obj = random_object(rng, cell)
        rest.append(obj)
    return a, b, rest


def edit_to_answer(rng: np.random.Generator, scene: Scene, spec: dict, target: str) -> Scene:
    """A minimal edit of ``scene`` whose answer to ``spec`` is ``target`` (a complementary image).

    colour / shape: recolour or reshape the referent; count: add objects to free cells or remove
    some; exists: recolour every match away, or turn one object into the asked one; left/right:
    swap the two referents' positions.
    """
    kind = spec["type"]
    objs = list(scene.objects)
    if kind == "color":
        i = _unique(scene, shape=spec["shape"])
        objs[i] = _with(objs[i], color=target)
    elif kind == "shape":
        i = _unique(scene, color=spec["color"])
        objs[i] = _with(objs[i], shape=target)
    elif kind == "count":
        want = int(target)
        if want < len(objs):
            keep = sorted(rng.permutation(len(objs))[:want])
            objs = [objs[i] for i in keep]
        else:
            cells = free_cells(scene)
            rng.shuffle(cells)
            objs += [random_object(rng, c) for c in cells[: want - len(objs)]]
    elif kind == "exists":
        if target == "no":
            objs = [_without(rng, o, spec) for o in objs]
        else:
            i = int(rng.integers(len(objs)))
            objs[i] = _with(objs[i], color=spec["color"], shape=spec["shape"])
    else:
        i, j = _unique(scene, **spec["a"]), _unique(scene, **spec["b"])
        objs[i], objs[j] = (_with(objs[i], x=objs[j].x, y=objs[j].y),
                            _with(objs[j], x=objs[i].x, y=objs[i].y))
    edited = Scene(tuple(objs), scene.background)
    got = answer(edited, spec)
    if got != target:  # a bug, not a user error
        raise RuntimeError(f"editing {spec} towards {target!r} gave {got!r}")
    return edited
