"""The shapes world: seeded scenes of 1 to 4 coloured shapes and their descriptions.

A scene is a handful of objects, each with a shape, a colour, a size and a centre ``(x, y)``
in [0, 1] (``x`` to the right, ``y`` down). Objects sit in distinct cells of a 2 x 2 grid with a
little jitter, so they never overlap whatever their size: editing one attribute of a scene (as
the ``match`` task and :func:`grounding_kit.world.rebalance` do) always gives a valid scene, and
two objects in different grid columns are unambiguously left or right of each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grounding_kit.core.validation import check_choice, check_positive_int, check_seed

SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
# well separated in RGB; the first three are warm, the last three cool (see WARM_COLORS)
COLOR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 140, 20),
    "yellow": (235, 220, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 225),
    "purple": (140, 40, 170),
}
COLORS: tuple[str, ...] = tuple(COLOR_RGB)
WARM_COLORS: frozenset[str] = frozenset({"red", "orange", "yellow"})
SIZES: tuple[str, ...] = ("small", "large")
# half the side of an object's bounding box, as a fraction of the image side
HALF_EXTENT: dict[str, float] = {"small": 0.12, "large": 0.2}
BACKGROUND_RGB: dict[str, tuple[int, int, int]] = {"white": (250, 250, 250), "gray": (150, 150, 150)}
MAX_OBJECTS = 4

_CELL_CENTRES = ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75))
# jitter that keeps even a large object inside its cell
_JITTER = 0.25 - HALF_EXTENT["large"]


@dataclass(frozen=True)
class SceneObject:
    """One shape: ``shape`` in SHAPES, ``color`` in COLORS, ``size`` in SIZES, centre ``(x, y)``."""

    shape: str
    color: str
    size: str
    x: float
    y: float

    def __post_init__(self) -> None:
        check_choice("shape", self.shape, SHAPES)
        check_choice("color", self.color, COLORS)
        check_choice("size", self.size, SIZES)
        for name, value in (("x", self.x), ("y", self.y)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1] (a fraction of the image side), got {value}")

    @property
    def column(self) -> int:
        """The grid column (0 left, 1 right) the object sits in."""
        return int(self.x >= 0.5)

    @property
    def warm(self) -> bool:
        """True for red, orange and yellow."""
        return self.color in WARM_COLORS

    def to_dict(self) -> dict:
        """The object as a JSON-ready dict (positions rounded to 4 decimals)."""
        return {"shape": self.shape, "color": self.color, "size": self.size,
                "x": round(float(self.x), 4), "y": round(float(self.y), 4)}


@dataclass(frozen=True)
class Scene:
    """A scene: a tuple of :class:`SceneObject` (at most 4) on a background colour."""

    objects: tuple[SceneObject, ...]
    background: str = "white"

    def __post_init__(self) -> None:
        check_choice("background", self.background, tuple(BACKGROUND_RGB))
        if not isinstance(self.objects, tuple) or not all(isinstance(o, SceneObject) for o in self.objects):
            raise TypeError(f"objects must be a tuple of SceneObject, got {type(self.objects).__name__}")
        if not 1 <= len(self.objects) <= MAX_OBJECTS:
            raise ValueError(f"a scene holds 1 to {MAX_OBJECTS} objects, got {len(self.objects)}")

    def to_dicts(self) -> list[dict]:
        """The objects as JSON-ready dicts (the ``objects`` column holds them as JSON)."""
        return [o.to_dict() for o in self.objects]

    @classmethod
    def from_dicts(cls, objects: list[dict], background: str = "white") -> "Scene":
        """The inverse of :meth:`to_dicts`: ``Scene.from_dicts(json.loads(row["objects"]))``."""
        return cls(tuple(SceneObject(**o) for o in objects), background)


def article(word: str) -> str:
    """``'an'`` before a vowel, else ``'a'``."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def single_object_caption(obj: SceneObject) -> str:
    """``'a large red circle'``."""
    return f"a {obj.size} {obj.color} {obj.shape}"


def join_phrases(phrases: list[str]) -> str:
    """``['a', 'b', 'c'] -> 'a, b and c'``."""
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def ordered(scene: Scene) -> list[SceneObject]:
    """Objects in reading order: top row first, left to right."""
    return sorted(scene.objects, key=lambda o: (o.y >= 0.5, o.x))


def describe(scene: Scene) -> str:
    """The scene in words, objects in reading order: ``'a large red circle and a small blue square'``."""
    return join_phrases([single_object_caption(o) for o in ordered(scene)])


def caption_templates() -> list[str]:
    """All 36 single-object captions (size x colour x shape), in a fixed order."""
    return [f"a {size} {color} {shape}" for size in SIZES for color in COLORS for shape in SHAPES]


def free_cells(scene: Scene) -> list[int]:
    """Indices (0..3) of the grid cells no object occupies."""
    taken = {cell_of(o) for o in scene.objects}
    return [c for c in range(MAX_OBJECTS) if c not in taken]


def cell_of(obj: SceneObject) -> int:
    """The grid cell (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) of an object."""
    return int(obj.x >= 0.5) + 2 * int(obj.y >= 0.5)


def cell_position(rng: np.random.Generator, cell: int) -> tuple[float, float]:
    """A jittered centre inside grid cell ``cell`` (0 top-left, 1 top-right, 2, 3 bottom)."""
    cx, cy = _CELL_CENTRES[cell]
    dx, dy = rng.uniform(-_JITTER, _JITTER, size=2)
    return round(float(cx + dx), 4), round(float(cy + dy), 4)


def random_object(rng: np.random.Generator, cell: int, *, shapes=SHAPES, colors=COLORS) -> SceneObject:
    """An object with uniform attributes (from the given options) in grid cell ``cell``."""
    x, y = cell_position(rng, cell)
    return SceneObject(shapes[rng.integers(len(shapes))], colors[rng.integers(len(colors))],
                       SIZES[rng.integers(len(SIZES))], x, y)


def sample_scene(rng: np.random.Generator, n_objects: int | None = None,
                 background: str = "white") -> Scene:
    """A random scene: ``n_objects`` (default uniform in 1..4) objects in distinct grid cells.

    Shape, colour and size of each object are independent and uniform.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if n_objects is None:
        n_objects = int(rng.integers(1, MAX_OBJECTS + 1))
    n_objects = check_positive_int("n_objects", n_objects)
    if n_objects > MAX_OBJECTS:
        raise ValueError(f"n_objects must be in 1..{MAX_OBJECTS}, got {n_objects}")
    cells = rng.permutation(MAX_OBJECTS)[:n_objects]
    return Scene(tuple(random_object(rng, int(c)) for c in cells), background)


def sample_scenes(n: int, seed: int = 0, n_objects: int | None = None) -> list[Scene]:
    """``n`` scenes from ``numpy.random.default_rng(seed)``; the same seed gives the same scenes."""
    n = check_positive_int("n", n)
    rng = np.random.default_rng(check_seed(seed))
    return [sample_scene(rng, n_objects) for _ in range(n)]


#: the backgrounds of the tiny CLIP's training and evaluation scenes
BACKGROUNDS = ("white", "gray")


def single_object_scene(rng: np.random.Generator, caption_index: int) -> Scene:
    """A one-object scene whose caption is ``caption_templates()[caption_index]`` (its position
    and background drawn from ``rng``: one of :data:`BACKGROUNDS`)."""
    from dataclasses import replace

    size, rest = divmod(caption_index, len(COLORS) * len(SHAPES))
    color, shape = divmod(rest, len(SHAPES))
    scene = sample_scene(rng, 1, background=BACKGROUNDS[rng.integers(len(BACKGROUNDS))])
    obj = replace(scene.objects[0], shape=SHAPES[shape], color=COLORS[color], size=SIZES[size])
    return replace(scene, objects=(obj,))
