"""Typed queries about the shapes world, checkable against a scene: what a person types into the
grounding explorer, and how well a CLIP ranks fresh scenes for it.

A :class:`Query` is a text plus the structure that makes it true or false of a scene:

==============  ==========================================  =====================================
kind            example                                     holds when the scene has
==============  ==========================================  =====================================
``single``      a red circle, something blue, a large       an object with the named attributes
                triangle, a small object
``two``         a red circle and a blue square              two distinct objects, one per phrase
``count``       two squares, three objects                  exactly that many matching objects
``left_right``  a circle left of a square                   a match of the first phrase in the
                                                            left grid column and of the second in
                                                            the right one (``right``: mirrored)
``scene``       a large red circle and a small blue square  distinct objects for every phrase
                (a whole-scene description)
==============  ==========================================  =====================================

:func:`evaluate_queries` measures, on a gallery of fresh scenes, how often the top-ranked image
holds the query (``top1``) and the mean fraction of the 5 best-ranked images that hold it
(``top5``), per query kind.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from grounding_kit.core.validation import check_choice, check_positive_int
from grounding_kit.world.scenes import (COLORS, MAX_OBJECTS, SHAPES, SIZES, Scene, SceneObject, article, free_cells,
                            ordered, random_object, sample_scene)

QUERY_KINDS: tuple[str, ...] = ("single", "two", "count", "left_right")
ATTRIBUTES: tuple[str, ...] = ("size", "color", "shape")
OPTIONS: dict[str, tuple[str, ...]] = {"size": SIZES, "color": COLORS, "shape": SHAPES}
NUMBER_WORDS: tuple[str, ...] = ("one", "two", "three", "four")
QUERY_EVAL_SEED = 20_000  # far from every training stream and from the other evaluations
TOP_K = 5


@dataclass(frozen=True)
class Referent:
    """A noun phrase: any subset of size, colour and shape (``None`` = not named)."""

    size: str | None = None
    color: str | None = None
    shape: str | None = None

    def matches(self, obj: SceneObject) -> bool:
        """True if ``obj`` has every attribute the phrase names."""
        return all(getattr(self, a) in (None, getattr(obj, a)) for a in ATTRIBUTES)

    def phrase(self, something: bool = False) -> str:
        """``'a small red circle'``, ``'a red object'``; ``something=True`` words a phrase
        without a shape as ``'something red'``."""
        adjectives = [v for v in (self.size, self.color) if v is not None]
        if self.shape is None and something and adjectives:
            return "something " + " ".join(adjectives)
        words = [*adjectives, self.shape or "object"]
        return " ".join([article(words[0]), *words])

    def plural(self) -> str:
        """``'red circles'``, ``'objects'``."""
        return " ".join([v for v in (self.size, self.color) if v is not None] + [(self.shape or "object") + "s"])


@dataclass(frozen=True)
class Query:
    """A typed query: ``kind`` in :data:`QUERY_KINDS` or ``"scene"``, its ``referents``, and for
    ``count`` the number, for ``left_right`` the relation (``"left"`` or ``"right"``)."""

    kind: str
    referents: tuple[Referent, ...]
    number: int | None = None
    relation: str | None = None
    something: bool = False  # word a shapeless single referent as "something blue"

    @property
    def text(self) -> str:
        """The query in words."""
        if self.kind == "count":
            number = NUMBER_WORDS[self.number - 1]
            return f"{number} {self.referents[0].phrase().split(' ', 1)[1]}" if self.number == 1 else \
                f"{number} {self.referents[0].plural()}"
        if self.kind == "left_right":
            a, b = self.referents
            return f"{a.phrase()} {self.relation} of {b.phrase()}"
        phrases = [r.phrase(self.something) for r in self.referents]
        return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]

    def holds(self, scene: Scene) -> bool:
        """True if the query is true of ``scene`` (see the module docstring)."""
        objects = scene.objects
        if self.kind == "count":
            return sum(self.referents[0].matches(o) for o in objects) == self.number
        if self.kind == "left_right":
            a, b = self.referents
            left, right = (a, b) if self.relation == "left" else (b, a)
            return any(left.matches(o) for o in objects if o.column == 0) and \
                any(right.matches(o) for o in objects if o.column == 1)
        if len(self.referents) > len(objects):
            return False
        return any(all(r.matches(o) for r, o in zip(self.referents, chosen))
                   for chosen in itertools.permutations(objects, len(self.referents)))


def example_queries() -> list[Query]:
    """Queries the embedded tiny CLIP (version 2) ranks well in galleries of multi-object scenes,
    one or two of each kind: a colour, an object, two objects, a count, a left/right relation.
    The explorer offers their texts (:data:`EXAMPLE_QUERIES`); a test checks each on fresh scenes."""
    return [Query("single", (Referent(color="red"),)), Query("single", (Referent(color="blue"),)),
            Query("single", (Referent(size="large", color="green", shape="triangle"),)),
            Query("two", (Referent(color="red", shape="circle"), Referent(color="blue", shape="square"))),
            Query("count", (Referent(shape="square"),), number=2),
            Query("left_right", (Referent(color="yellow", shape="circle"), Referent(shape="triangle")),
                  relation="left")]


def scene_query(scene: Scene) -> Query:
    """The whole-scene description of ``scene`` as a query (its text is ``describe(scene)``)."""
    return Query("scene", tuple(Referent(o.size, o.color, o.shape) for o in ordered(scene)))


def _referent(rng: np.random.Generator, obj: SceneObject, attributes: Sequence[str] = ATTRIBUTES) -> Referent:
    """A phrase naming a random non-empty subset of ``attributes`` of ``obj``."""
    k = int(rng.integers(1, len(attributes) + 1))
    named = [attributes[i] for i in rng.permutation(len(attributes))[:k]]
    return Referent(**{a: getattr(obj, a) for a in named})


def sample_query(rng: np.random.Generator, scene: Scene, kind: str) -> Query | None:
    """A random query of ``kind`` that holds for ``scene``; None if the scene cannot have one
    (``two``: fewer than 2 objects; ``left_right``: an empty grid column).

    single: a random non-empty subset of one object's attributes; two: colour and shape of two
    objects; count: a shape present in the scene (or "objects") and its count; left_right: one
    object of each column, each named by a non-empty subset of colour and shape.
    """
    check_choice("kind", kind, QUERY_KINDS)
    objects = scene.objects
    if kind == "single":
        return Query("single", (_referent(rng, objects[rng.integers(len(objects))]),),
                     something=bool(rng.integers(2)))
    if kind == "two":
        if len(objects) < 2:
            return None
        i, j = rng.permutation(len(objects))[:2]
        return Query("two", tuple(Referent(color=objects[k].color, shape=objects[k].shape) for k in (i, j)))
    if kind == "count":
        shapes = [None, *sorted({o.shape for o in objects})]
        shape = shapes[rng.integers(len(shapes))]
        referent = Referent(shape=shape)
        return Query("count", (referent,), number=sum(referent.matches(o) for o in objects))
    left = [o for o in objects if o.column == 0]
    right = [o for o in objects if o.column == 1]
    if not left or not right:
        return None
    a, b = left[rng.integers(len(left))], right[rng.integers(len(right))]
    a_ref, b_ref = _referent(rng, a, ("color", "shape")), _referent(rng, b, ("color", "shape"))
    if rng.integers(2):
        return Query("left_right", (a_ref, b_ref), relation="left")
    return Query("left_right", (b_ref, a_ref), relation="right")


def flipped(query: Query) -> Query:
    """A left/right query with its relation swapped: "a circle left of a square" -> "... right of ..."."""
    return replace(query, relation="right" if query.relation == "left" else "left")


def perturb_query(rng: np.random.Generator, query: Query) -> Query:
    """A hard-negative text: ``query`` with one thing changed (one named attribute of one
    referent, the number of a count, or the relation of a left/right query)."""
    if query.kind == "count" and rng.integers(2):
        choices = [n for n in range(1, MAX_OBJECTS + 1) if n != query.number]
        return replace(query, number=int(choices[rng.integers(len(choices))]))
    if query.kind == "left_right" and rng.integers(2):
        return flipped(query)
    i = int(rng.integers(len(query.referents)))
    referent = query.referents[i]
    named = [a for a in ATTRIBUTES if getattr(referent, a) is not None]
    if not named:  # "objects": count a shape instead
        changed = Referent(shape=SHAPES[rng.integers(len(SHAPES))])
    else:
        attribute = named[rng.integers(len(named))]
        others = [v for v in OPTIONS[attribute] if v != getattr(referent, attribute)]
        changed = replace(referent, **{attribute: others[rng.integers(len(others))]})
    return replace(query, referents=query.referents[:i] + (changed,) + query.referents[i + 1:])


def edit_scene(rng: np.random.Generator, scene: Scene) -> Scene:
    """A hard-negative image: ``scene`` with one change (one attribute of one object, the scene
    mirrored left to right, an object added in a free cell, or one removed), uniformly."""
    edits = ["attribute", "mirror"]
    if free_cells(scene):
        edits.append("add")
    if len(scene.objects) > 1:
        edits.append("remove")
    edit = edits[rng.integers(len(edits))]
    objects = scene.objects
    if edit == "mirror":
        return mirrored(scene)
    if edit == "add":
        cells = free_cells(scene)
        return replace(scene, objects=objects + (random_object(rng, int(cells[rng.integers(len(cells))])),))
    i = int(rng.integers(len(objects)))
    if edit == "remove":
        return replace(scene, objects=objects[:i] + objects[i + 1:])
    attribute = ATTRIBUTES[rng.integers(3)]
    others = [v for v in OPTIONS[attribute] if v != getattr(objects[i], attribute)]
    changed = replace(objects[i], **{attribute: others[rng.integers(len(others))]})
    return replace(scene, objects=objects[:i] + (changed,) + objects[i + 1:])


def mirrored(scene: Scene) -> Scene:
    """``scene`` flipped left to right (every object's grid column swapped)."""
    return replace(scene, objects=tuple(replace(o, x=round(1.0 - o.x, 4)) for o in scene.objects))


def hard_negative_scene(rng: np.random.Generator, scene: Scene, query: Query, tries: int = 8) -> Scene:
    """An :func:`edit_scene` of ``scene`` for which ``query`` no longer holds (the last edit
    tried if none of ``tries`` breaks it); for a left/right query the mirrored scene, the same
    objects on the other sides, whenever that breaks it."""
    if query.kind == "left_right" and not query.holds(mirrored(scene)):
        return mirrored(scene)
    edited = scene
    for _ in range(tries):
        edited = edit_scene(rng, scene)
        if not query.holds(edited):
            break
    return edited


def truth_matrix(queries: Sequence[Query], scenes: Sequence[Scene]) -> np.ndarray:
    """(Nq, Ns) bool, ``truth[i, j] = queries[i].holds(scenes[j])``."""
    return np.array([[q.holds(s) for s in scenes] for q in queries], dtype=bool).reshape(len(queries), len(scenes))


EXAMPLE_QUERIES: tuple[str, ...] = tuple(q.text for q in example_queries())


def example_texts(kind: str | None = None) -> list[str]:
    """Every text the query sampler can word (of one ``kind``, default all kinds): the tiny
    CLIP's vocabulary covers them."""
    if kind is not None:
        check_choice("kind", kind, QUERY_KINDS)
    kinds = QUERY_KINDS if kind is None else (kind,)
    texts: list[str] = []
    singles = [Referent(*values) for values in itertools.product((None, *SIZES), (None, *COLORS), (None, *SHAPES))
               if any(v is not None for v in values)]
    if "single" in kinds:
        texts += [Query("single", (r,), something=s).text for r in singles for s in (False, True)]
    if "two" in kinds:
        pairs = [Referent(color=c, shape=s) for c, s in itertools.product(COLORS, SHAPES)]
        texts += [Query("two", (a, b)).text for a, b in itertools.permutations(pairs, 2)]
    if "count" in kinds:
        texts += [Query("count", (Referent(shape=s),), number=n).text
                  for s in (None, *SHAPES) for n in range(1, MAX_OBJECTS + 1)]
    if "left_right" in kinds:
        refs = [Referent(color=c, shape=s) for c, s in itertools.product((None, *COLORS), (None, *SHAPES))
                if (c, s) != (None, None)]
        texts += [Query("left_right", (refs[0], r), relation=rel).text for r in refs for rel in ("left", "right")]
    return texts


def sample_gallery(n: int, seed: int) -> list[Scene]:
    """``n`` fresh scenes of 1 to 4 objects on white or gray, from ``default_rng(seed)``."""
    n = check_positive_int("n", n)
    rng = np.random.default_rng(seed)
    return [gallery_scene(rng) for _ in range(n)]


def gallery_scene(rng: np.random.Generator) -> Scene:
    """One fresh scene of 1 to 4 objects on white or gray (the galleries' scenes)."""
    return sample_scene(rng, background=("white", "gray")[rng.integers(2)])


def sample_queries(rng: np.random.Generator, scenes: Sequence[Scene], kind: str, n: int,
                   min_positives: int = TOP_K) -> list[Query]:
    """``n`` queries of ``kind`` (repeats allowed, as a lecturer may type one twice), each drawn
    from a random scene of ``scenes`` and held by at least ``min_positives`` of them (so a
    perfect ranking fills the top 5)."""
    queries: list[Query] = []
    for _ in range(200 * n):
        if len(queries) == n:
            break
        query = sample_query(rng, scenes[rng.integers(len(scenes))], kind)
        if query is not None and sum(query.holds(s) for s in scenes) >= min_positives:
            queries.append(query)
    if len(queries) < n:
        raise ValueError(f"only {len(queries)} {kind} queries with >= {min_positives} matching scenes "
                         f"among {len(scenes)} in {200 * n} draws; use more scenes (n_scenes)")
    return queries


def rank_quality(scores: np.ndarray, truth: np.ndarray, k: int = TOP_K) -> dict[str, float]:
    """Ranking quality of ``scores`` (Nq, Ns) against ``truth`` (Nq, Ns) bool.

    Returns ``top1`` (fraction of queries whose best-scored scene holds them) and ``top5``
    (mean fraction of the ``k`` best-scored scenes that hold the query).
    """
    scores, truth = np.asarray(scores), np.asarray(truth, dtype=bool)
    if scores.shape != truth.shape or scores.ndim != 2:
        raise ValueError(f"scores and truth must be (Nq, Ns) of one shape, got {scores.shape} and {truth.shape}")
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(truth, top, axis=1)
    return {"top1": round(float(hits[:, 0].mean()), 4), f"top{k}": round(float(hits.mean()), 4)}


def evaluate_queries(clip: Any, n_scenes: int = 1000, n_queries: int = 100, seed: int = QUERY_EVAL_SEED,
                     kinds: Sequence[str] = QUERY_KINDS) -> dict[str, dict[str, float]]:
    """How well ``clip`` ranks a gallery of ``n_scenes`` fresh scenes for typed queries.

    For each kind, ``n_queries`` queries (:func:`sample_queries`, each held by at least 5
    scenes of the gallery) rank the gallery by ``clip.similarity``.

    Returns
    -------
    ``{kind: {"top1", "top5", "n_queries", "mean_positives"}}`` (``single`` also
    ``"by_attributes"``: the same by how many attributes the query names) plus ``"settings"``
    (n_scenes, seed).
    """
    from grounding_kit.world import render_scene

    rng = np.random.default_rng(seed + 1)
    scenes = sample_gallery(n_scenes, seed)
    image_emb = clip.encode_images([render_scene(s) for s in scenes])
    result: dict[str, Any] = {}
    for kind in kinds:
        queries = sample_queries(rng, scenes, kind, n_queries)
        truth = truth_matrix(queries, scenes)
        scores = (clip.encode_texts([q.text for q in queries]) @ image_emb.T).numpy()
        result[kind] = {**rank_quality(scores, truth), "n_queries": len(queries),
                        "mean_positives": round(float(truth.sum(1).mean()), 1)}
        if kind == "single":  # "something blue" is easier than "a small blue square"
            named = np.array([sum(getattr(q.referents[0], a) is not None for a in ATTRIBUTES) for q in queries])
            result[kind]["by_attributes"] = {int(k): {**rank_quality(scores[named == k], truth[named == k]),
                                                      "n_queries": int((named == k).sum())}
                                             for k in sorted(set(named.tolist()))}
    result["settings"] = {"n_scenes": n_scenes, "seed": seed}
    return result


def mirror_accuracy(clip: Any, n_pairs: int = 300, seed: int = QUERY_EVAL_SEED) -> dict[str, float]:
    """Does ``clip`` use the relation of a left/right query, or only its objects? (chance 0.5)

    For ``n_pairs`` fresh scenes, each with a left/right query that holds for it and not for its
    :func:`mirrored` scene (the same objects on the other sides): ``image`` is the fraction whose
    query scores the scene above its mirror, ``text`` the fraction whose scene scores the query
    above the same query with the relation flipped, and ``mirror_cosine`` the mean cosine between
    a scene's image embedding and its mirror's.
    """
    from grounding_kit.world import render_scene

    n_pairs = check_positive_int("n_pairs", n_pairs)
    rng = np.random.default_rng(seed + 2)
    scenes: list[Scene] = []
    queries: list[Query] = []
    while len(scenes) < n_pairs:
        scene = gallery_scene(rng)
        query = sample_query(rng, scene, "left_right")
        if query is not None and not query.holds(mirrored(scene)):
            scenes.append(scene)
            queries.append(query)
    image = clip.encode_images([render_scene(s) for s in scenes])
    mirror = clip.encode_images([render_scene(mirrored(s)) for s in scenes])
    text = clip.encode_texts([q.text for q in queries])
    other = clip.encode_texts([flipped(q).text for q in queries])
    return {"image": round(float(((text * image).sum(1) > (text * mirror).sum(1)).float().mean()), 4),
            "text": round(float(((text * image).sum(1) > (other * image).sum(1)).float().mean()), 4),
            "mirror_cosine": round(float((image * mirror).sum(1).mean()), 4), "n_pairs": n_pairs}
