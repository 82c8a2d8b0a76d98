"""``make_audio_task``: text, image and audio of the shapes world, with a known interaction structure.

Every row has a caption (``text``), an image (``image``) and a sound (``audio``,
:mod:`grounding_kit.world.audio`), each showing a scene of 1 to ``max_objects`` objects. One
*base* scene is drawn per row; a modality shows the base scene or an unrelated scene (drawn
afresh until its description differs from the base scene's). Scenes are drawn from one
distribution either way, so each modality alone has the same distribution in every row, and no
modality alone says anything about the label (chance, 0.5). The label depends on:

``"text_image"``  text x image only: does the caption describe the image? The sound is of an
    unrelated scene. (Bayes rate 1 from the text-image pair; the sound is noise.)
``"image_audio"``  image x audio only: is the sound the image's? The caption describes an unrelated
    scene. (Bayes rate 1 from the image-audio pair; the text is noise.)
``"all_three"``  all three: do caption, image and sound all show the same scene? Half the rows
    agree; in the other half one modality, chosen uniformly, shows an unrelated scene. Each pair alone is
    not enough: "yes when this pair agrees" is right 5/6 of the time (the pair agrees in the 1/2 of
    rows where all agree and in the 1/6 where the third modality is unrelated), while all three
    decide it exactly (Bayes rate 1).

(The match task of :func:`grounding_kit.world.make_task` edits one attribute instead; with three
modalities and a few hundred rows a head learns unrelated scenes far more reliably.)

Exactly half the rows (give or take one) are ``yes``. Columns: ``image`` (Image), ``text``,
``audio`` (``datasets.Audio(sampling_rate=16000, decode=False)``: WAV bytes;
:func:`grounding_kit.world.audio.decode_audio` reads one), ``label`` (ClassLabel no/yes), ``task``,
``edited`` (which modality shows an unrelated scene: "none", "text", "image" or "audio"),
``text_scene``, ``image_scene``, ``audio_scene`` (each modality's scene described),
``objects`` (JSON of the image's objects).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from grounding_kit.core.validation import check_choice, check_memory, check_positive_int, seed_int
from grounding_kit.world.audio import SAMPLE_RATE, audio_record, scene_audio
from grounding_kit.world.render import MIN_SIZE, render_scene
from grounding_kit.world.scenes import MAX_OBJECTS, describe, sample_scene
from grounding_kit.world.storage import cached_dataset, png_record
from grounding_kit.world.tasks import BINARY_LABELS, dataset_bytes

if TYPE_CHECKING:
    from datasets import Dataset

AUDIO_TASKS: tuple[str, ...] = ("text_image", "image_audio", "all_three")
MODALITIES: tuple[str, ...] = ("text", "image", "audio")
#: the pair (or triple) of modalities each task's label depends on
LABEL_DEPENDS_ON: dict[str, tuple[str, ...]] = {"text_image": ("text", "image"), "image_audio": ("image", "audio"),
                                                "all_three": ("text", "image", "audio")}
_AUDIO_ROW_BYTES = 2 * SAMPLE_RATE * 3  # the float waveform and the WAV bytes, with room


def make_audio_task(name: str, n: int = 600, seed: int = 0, size: int = 64, *, max_objects: int = 2,
                    cache: bool = True) -> "Dataset":
    """A three-modality task (text, image, audio) as a ``datasets.Dataset``, cached on disk.

    Parameters
    ----------
    name : "text_image", "image_audio" or "all_three" (see the module docstring).
    n : number of rows.
    seed : an int >= 0 (the same seed, the same rows, pixels and samples).
    size : image side in pixels.
    max_objects : scenes have 1 to this many objects (1..4).
    cache : keep the result in the kit's cache folder (default).

    Returns
    -------
    datasets.Dataset with columns ``image``, ``text``, ``audio``, ``label`` and the metadata.

    Raises
    ------
    ValueError
        For an unknown ``name``, ``max_objects`` outside 1..4, or a bad ``n``, ``size`` or ``seed``.
    """
    check_choice("name", name, AUDIO_TASKS)
    n = check_positive_int("n", n)
    size = check_positive_int("size", size, minimum=MIN_SIZE)
    max_objects = check_positive_int("max_objects", max_objects)
    if max_objects > MAX_OBJECTS:
        raise ValueError(f"max_objects must be in 1..{MAX_OBJECTS}, got {max_objects}")
    seed = seed_int(seed)
    check_memory(f"make_audio_task({name!r}, n={n:,}, size={size})", dataset_bytes(n, size) + n * _AUDIO_ROW_BYTES,
                 hint="Use a smaller n.")
    return cached_dataset(f"audio-{name}", (n, seed, size, max_objects),
                          lambda: _build(name, n, seed, size, max_objects), cache)


def _row(rng: np.random.Generator, name: str, matches: bool, max_objects: int) -> dict[str, Any]:
    def scene():
        return sample_scene(rng, int(rng.integers(1, max_objects + 1)))

    def unrelated(to):
        while True:
            other = scene()
            if describe(other) != describe(to):
                return other

    base = scene()
    shown = {m: base for m in MODALITIES}
    edited = "none"
    if name == "text_image":
        shown["audio"] = scene()
        if not matches:
            shown["text"], edited = unrelated(base), "text"
    elif name == "image_audio":
        shown["text"] = scene()
        if not matches:
            shown["audio"], edited = unrelated(base), "audio"
    elif not matches:
        edited = MODALITIES[rng.integers(3)]
        shown[edited] = unrelated(base)
    return {"text": describe(shown["text"]), "label": int(matches), "task": name, "edited": edited,
            "text_scene": describe(shown["text"]), "image_scene": describe(shown["image"]),
            "audio_scene": describe(shown["audio"]), "objects": json.dumps(shown["image"].to_dicts()),
            "_image": shown["image"], "_audio": shown["audio"]}


def _build(name: str, n: int, seed: int, size: int, max_objects: int):
    from datasets import Audio, ClassLabel, Dataset, Features, Image, Value

    rng = np.random.default_rng(seed)
    yes = rng.permutation(n) < (n + int(rng.integers(2))) // 2
    columns: dict[str, list[Any]] = {k: [] for k in ("image", "text", "audio", "label", "task", "edited",
                                                     "text_scene", "image_scene", "audio_scene", "objects")}
    for i in tqdm(range(n), desc=f"make_audio_task({name!r})", disable=n < 5000):
        row = _row(rng, name, bool(yes[i]), max_objects)
        row["image"] = png_record(render_scene(row.pop("_image"), size))
        row["audio"] = audio_record(scene_audio(row.pop("_audio")))
        for key in columns:
            columns[key].append(row[key])
    raw = Features({"image": Image(), "text": Value("string"),
                    "audio": {"bytes": Value("binary"), "path": Value("string")},
                    "label": ClassLabel(names=BINARY_LABELS), "task": Value("string"), "edited": Value("string"),
                    "text_scene": Value("string"), "image_scene": Value("string"), "audio_scene": Value("string"),
                    "objects": Value("string")})
    # built as raw WAV structs, then cast: datasets' Audio encoder needs torchcodec, its cast does not
    ds = Dataset.from_dict(columns, features=raw)
    return ds.cast_column("audio", Audio(sampling_rate=SAMPLE_RATE, decode=False))
