"""Drawing scenes with PIL: no anti-aliasing, integer pixel coordinates, so the same scene gives
the same pixels on every machine (a test pins a checksum)."""

from __future__ import annotations

from PIL import Image, ImageDraw

from grounding_kit.core.validation import check_positive_int
from grounding_kit.world.scenes import BACKGROUND_RGB, COLOR_RGB, HALF_EXTENT, Scene

MIN_SIZE = 16


def render_scene(scene: Scene, size: int = 64) -> Image.Image:
    """Draw ``scene`` as a ``size`` x ``size`` RGB image, directly at that size (crisp at 224).

    Parameters
    ----------
    scene : the scene to draw.
    size : the image side in pixels (at least 16).
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a Scene, got {type(scene).__name__}")
    size = check_positive_int("size", size, minimum=MIN_SIZE)
    image = Image.new("RGB", (size, size), BACKGROUND_RGB[scene.background])
    draw = ImageDraw.Draw(image)
    for obj in scene.objects:
        r = HALF_EXTENT[obj.size] * size
        cx, cy = obj.x * size, obj.y * size
        left, top = round(cx - r), round(cy - r)
        right, bottom = round(cx + r) - 1, round(cy + r) - 1
        fill = COLOR_RGB[obj.color]
        if obj.shape == "circle":
            draw.ellipse((left, top, right, bottom), fill=fill)
        elif obj.shape == "square":
            # a square drawn slightly inside the bounding box, so its area is close to the circle's
            inset = round(0.1 * r)
            draw.rectangle((left + inset, top + inset, right - inset, bottom - inset), fill=fill)
        else:  # triangle, apex up
            draw.polygon([(round(cx), top), (left, bottom), (right, bottom)], fill=fill)
    return image


def render_scenes(scenes: list[Scene], size: int = 64) -> list[Image.Image]:
    """:func:`render_scene` for each scene."""
    return [render_scene(s, size) for s in scenes]
