"""The shapes world: scenes, descriptions and deterministic rendering."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from grounding_kit.world import (COLOR_RGB, COLORS, SHAPES, SIZES, Scene, SceneObject,
                                 caption_templates, describe, render_scene, sample_scene,
                                 sample_scenes, single_object_caption)
from grounding_kit.world.scenes import BACKGROUND_RGB, HALF_EXTENT, cell_of

# sha256 of the raw RGB bytes of render_scene(s) for s in sample_scenes(8, seed=0)
PINNED = {
    64: "5c27f730184b7b388ef9973d9e62fc6fe3ac9fe19cc8bacb8ca92c877585f551",
    224: "571fb104e092d3f40a8ae4d9cf443285fb3b31e856431186eb8b8685870c587c",
}


def pixels_digest(size: int) -> str:
    digest = hashlib.sha256()
    for scene in sample_scenes(8, seed=0):
        digest.update(np.asarray(render_scene(scene, size)).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("size", [64, 224])
def test_pixels_are_pinned_for_a_fixed_seed(size):
    assert pixels_digest(size) == PINNED[size]


def test_world_vocabulary():
    assert len(SHAPES) >= 3 and len(COLORS) == 6 and SIZES == ("small", "large")
    rgb = np.array([COLOR_RGB[c] for c in COLORS], dtype=float)
    distances = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)[~np.eye(len(COLORS), dtype=bool)]
    assert distances.min() > 80  # well separated colours


def test_caption_templates_cover_every_single_object():
    captions = caption_templates()
    assert len(captions) == len(set(captions)) == len(SHAPES) * len(COLORS) * len(SIZES) == 36
    assert single_object_caption(SceneObject("circle", "red", "large", 0.5, 0.5)) == "a large red circle"
    assert "a large red circle" in captions


def test_same_seed_same_scenes_other_seed_other_scenes():
    assert sample_scenes(20, seed=3) == sample_scenes(20, seed=3)
    assert sample_scenes(20, seed=3) != sample_scenes(20, seed=4)


def test_objects_stay_in_distinct_cells_inside_the_image():
    for scene in sample_scenes(300, seed=1):
        assert 1 <= len(scene.objects) <= 4
        assert len({cell_of(o) for o in scene.objects}) == len(scene.objects)
        for obj in scene.objects:
            r = HALF_EXTENT["large"]  # even a large object (the worst case) fits its cell
            cx, cy = 0.25 + 0.5 * (obj.x >= 0.5), 0.25 + 0.5 * (obj.y >= 0.5)
            assert abs(obj.x - cx) + r <= 0.25 + 1e-9 and abs(obj.y - cy) + r <= 0.25 + 1e-9
    assert {len(s.objects) for s in sample_scenes(200, seed=2)} == {1, 2, 3, 4}
    assert all(len(s.objects) == 2 for s in sample_scenes(20, seed=2, n_objects=2))


def test_describe_lists_objects_in_reading_order():
    scene = Scene((SceneObject("square", "blue", "small", 0.75, 0.75),
                   SceneObject("circle", "red", "large", 0.75, 0.25),
                   SceneObject("triangle", "green", "small", 0.25, 0.25)))
    assert describe(scene) == "a small green triangle, a large red circle and a small blue square"
    assert describe(Scene(scene.objects[:1])) == "a small blue square"


def test_rendered_pixels_show_each_object_in_its_colour():
    for scene in sample_scenes(50, seed=5):
        image = np.asarray(render_scene(scene, 64))
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        inside_a_box = np.zeros((64, 64), dtype=bool)
        for obj in scene.objects:
            r = HALF_EXTENT[obj.size] * 64
            inside_a_box[round(obj.y * 64 - r):round(obj.y * 64 + r), round(obj.x * 64 - r):round(obj.x * 64 + r)] = True
        assert (image[~inside_a_box] == BACKGROUND_RGB["white"]).all()
        for obj in scene.objects:
            centre = image[int(obj.y * 64), int(obj.x * 64)]
            assert tuple(centre) == COLOR_RGB[obj.color], (describe(scene), obj)


def test_large_objects_cover_more_pixels_than_small_ones():
    big = Scene((SceneObject("circle", "red", "large", 0.5, 0.5),))
    small = Scene((SceneObject("circle", "red", "small", 0.5, 0.5),))
    red = np.array(COLOR_RGB["red"])
    area = [int((np.asarray(render_scene(s, 64)) == red).all(-1).sum()) for s in (big, small)]
    assert area[0] > 2 * area[1] > 0


@pytest.mark.parametrize("kwargs, error", [
    ({"shape": "hexagon"}, "shape='hexagon'"),
    ({"color": "pink"}, "color='pink'"),
    ({"size": "huge"}, "size='huge'"),
    ({"x": 1.5}, "x must be in"),
])
def test_bad_objects_are_rejected(kwargs, error):
    fields = {"shape": "circle", "color": "red", "size": "small", "x": 0.5, "y": 0.5, **kwargs}
    with pytest.raises(ValueError, match=error):
        SceneObject(**fields)


def test_bad_scenes_and_arguments_are_rejected():
    obj = SceneObject("circle", "red", "small", 0.3, 0.3)
    with pytest.raises(ValueError, match="1 to 4 objects"):
        Scene(())
    with pytest.raises(ValueError, match="1 to 4 objects"):
        Scene((obj,) * 5)
    with pytest.raises(TypeError, match="tuple of SceneObject"):
        Scene([obj])
    with pytest.raises(ValueError, match="background"):
        Scene((obj,), background="plaid")
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        sample_scene(0)
    with pytest.raises(ValueError, match="n_objects must be in 1..4"):
        sample_scene(np.random.default_rng(0), n_objects=5)
    with pytest.raises(ValueError, match="n_objects must be >= 1"):
        sample_scenes(3, n_objects=0)
    with pytest.raises(ValueError, match="size must be >= 16"):
        render_scene(Scene((obj,)), size=8)
    with pytest.raises(TypeError, match="scene must be a Scene"):
        render_scene("a red circle")
