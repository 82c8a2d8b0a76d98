"""Real images and texts in the world's columns: your own folder, a hub sample, a built-in gallery.

Every loader returns a ``datasets.Dataset`` with an ``Image()`` column ``image`` (decoded as RGB)
and a ``text`` column, plus ``label`` (ClassLabel) where there are labels or answers, so the
same analysis code runs on synthetic and real data.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from collections import Counter
from os import PathLike
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, UnidentifiedImageError

from grounding_kit.core.hub import require_hub
from grounding_kit.core.validation import check_choice, check_positive_int
from grounding_kit.world.vqa import VQA_ANSWERS

METADATA_FILES = ("metadata.jsonl", "metadata.csv", "captions.csv")
TEXT_COLUMNS = ("text", "caption", "question")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 40_000_000
_LISTED = 10  # offending rows listed in an error message


class DataError(ValueError):
    """A folder's data is unusable; the message lists the offending rows or files."""


def _problems(title: str, items: list[str]) -> str:
    shown = "\n  ".join(items[:_LISTED])
    more = f"\n  ... and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
    return f"{title} ({len(items)}):\n  {shown}{more}"


# ---------------------------------------------------------------- your own folder


def load_image_text_folder(path: str | Path, *, text_column: str | None = None,
                           label_column: str = "label", max_pixels: int = DEFAULT_MAX_PIXELS):
    """Load a folder of images with their texts, following the Hugging Face imagefolder convention.

    The folder holds the images and one metadata file: ``metadata.jsonl`` (one JSON object per
    line), ``metadata.csv`` or ``captions.csv``. Each row names its image in ``file_name``
    (relative to the folder) and has a text in ``text``, ``caption`` or ``question`` (or the
    column ``text_column``). Optional: a ``label`` column (any values, become a ClassLabel);
    VQA-style ``question`` + ``answer`` columns (the question becomes ``text``, the answer the
    label, over ``VQA_ANSWERS`` when every answer is in it). Other columns are kept.

    Parameters
    ----------
    path : the folder.
    text_column : the column to use as ``text``; by default the first of text, caption, question.
    label_column : the column of labels, if present.
    max_pixels : images with more pixels than this are rejected.

    Returns
    -------
    datasets.Dataset with ``image``, ``text``, optional ``label`` (and ``answer``), ``file_name``
    and the other metadata columns.

    Raises
    ------
    TypeError if ``path`` is not a path; FileNotFoundError if the folder does not exist;
    DataError (a ValueError) listing every offending row or file: no metadata file, an empty
    folder, a metadata file that is not UTF-8, a missing column or text, a missing image, an
    image that does not decode or has no known conversion to RGB, an image over ``max_pixels``.

    Metadata files are read as UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8").
    Images whose pixels are not 8-bit (16-bit PNGs: modes I;16, I; floats: F) are scaled to 8
    bits, and transparent ones (LA, PA, RGBA, P with transparency) are composited on white,
    before they become RGB; such rows hold the converted image's PNG bytes instead of the path.
    """
    if isinstance(path, str) and not path.strip() or not isinstance(path, (str, PathLike)):
        raise TypeError(f"path must be the path of a folder (str or pathlib.Path), got {path!r}")
    folder = Path(path).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise DataError(f"{folder} is a file; pass the folder that holds the images and metadata")
    max_pixels = check_positive_int("max_pixels", max_pixels)
    metadata = _find_metadata(folder)
    rows = _read_rows(metadata)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    text_column = _text_column(metadata, columns, text_column)
    _check_rows(metadata, rows, text_column)
    converted = _check_images(folder, rows, max_pixels)
    return _folder_dataset(folder, rows, columns, text_column, label_column, converted)


def _find_metadata(folder: Path) -> Path:
    for name in METADATA_FILES:
        if (folder / name).is_file():
            return folder / name
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if not entries:
        raise DataError(f"the folder {folder} is empty: put images and a metadata.jsonl or captions.csv in it")
    images = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
    raise DataError(f"{folder} has {len(images)} images but no metadata file: add one of "
                    f"{list(METADATA_FILES)} with a file_name and a text (or caption) column per image")


def _read_text(metadata: Path) -> str:
    """The file as UTF-8 text (a byte-order mark is dropped), or a DataError naming the file."""
    data = metadata.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise DataError(f"{metadata} is not UTF-8 text: byte {data[err.start]:#04x} at line {line} cannot be "
                        "decoded. Metadata files must be UTF-8; re-save it as UTF-8 (Excel: 'CSV UTF-8'; "
                        "Python: open(..., encoding='utf-8')), e.g. from latin-1 with "
                        "iconv -f latin1 -t utf-8") from None


def _read_rows(metadata: Path) -> list[dict[str, Any]]:
    text = _read_text(metadata)
    if metadata.suffix == ".jsonl":
        rows, bad = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                bad.append(f"line {number}: {err.msg}")
                continue
            if not isinstance(row, dict):
                bad.append(f"line {number}: a JSON object was expected, got {type(row).__name__}")
                continue
            rows.append(row)
        if bad:
            raise DataError(_problems(f"{metadata} has lines that are not JSON objects", bad))
    else:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows:
        raise DataError(f"{metadata} has no rows")
    return rows


def _text_column(metadata: Path, columns: list[str], text_column: str | None) -> str:
    if "file_name" not in columns:
        raise DataError(f"{metadata} lacks the column 'file_name' (the image of each row); "
                        f"its columns are {columns}")
    if text_column is not None:
        if text_column not in columns:
            raise DataError(f"{metadata} lacks the column text_column={text_column!r}; its columns are {columns}")
        return text_column
    for name in TEXT_COLUMNS:
        if name in columns:
            return name
    raise DataError(f"{metadata} has no text column: expected one of {list(TEXT_COLUMNS)} "
                    f"(or pass text_column=...); its columns are {columns}")


def _check_rows(metadata: Path, rows: list[dict[str, Any]], text_column: str) -> None:
    bad = []
    for number, row in enumerate(rows, start=1):
        missing = [c for c in ("file_name", text_column) if not isinstance(row.get(c), str) or not row[c].strip()]
        if missing:
            bad.append(f"row {number}: no {' or '.join(missing)} ({json.dumps(row)[:80]})")
    if bad:
        raise DataError(_problems(f"{metadata} has rows without a file name or text", bad))


def _rgb_record(image: Image.Image) -> dict[str, Any] | None:
    """PNG bytes of ``image`` correctly converted to RGB, or None where ``convert("RGB")`` is right.

    ``convert("RGB")`` clips 16-bit and 32-bit pixels at 255 (a 16-bit PNG turns white) and drops
    transparency (transparent pixels show whatever colour they store). Here integer modes are
    scaled from 16 bits (values <= 255 kept), floats from [0, 1], and alpha is composited on white.
    Raises ValueError for pixel values with no known range and modes with no RGB conversion.
    """
    from grounding_kit.world.storage import png_record

    mode = image.mode
    if mode in ("RGB", "L", "1", "CMYK", "YCbCr") or (mode == "P" and "transparency" not in image.info):
        image.convert("RGB")  # raises for a broken palette
        return None
    if mode.startswith("I") or mode == "F":
        values = np.asarray(image, dtype=np.float64)
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if mode == "F" and 0.0 <= low and high <= 1.0:
            scaled = values * 255.0
        elif mode != "F" and 0 <= low and high <= 255:
            scaled = values
        elif mode != "F" and 0 <= low and high <= 65535:
            scaled = values / 257.0  # 16 bits to 8: 65535 -> 255
        else:
            raise ValueError(f"mode {mode} pixels span [{low:g}, {high:g}], outside the 8-bit, 16-bit "
                             "or [0, 1] ranges; save it as an 8-bit RGB image")
        gray = Image.fromarray(np.clip(np.round(scaled), 0, 255).astype(np.uint8), mode="L")
        return png_record(gray.convert("RGB"))
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or mode == "P":
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return png_record(Image.alpha_composite(white, rgba).convert("RGB"))
    try:
        return png_record(image.convert("RGB"))
    except ValueError as err:
        raise ValueError(f"mode {mode} has no conversion to RGB ({err}); save it as an 8-bit RGB image") from None


def _check_images(folder: Path, rows: list[dict[str, Any]], max_pixels: int) -> dict[int, dict[str, Any]]:
    """Check every row's image; return {row index: PNG record} for images converted by :func:`_rgb_record`."""
    missing, broken, too_big = [], [], []
    converted: dict[int, dict[str, Any]] = {}
    for number, row in enumerate(rows, start=1):
        file = folder / row["file_name"]
        where = f"row {number}: {row['file_name']}"
        if not file.is_file():
            missing.append(where)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(file) as image:
                    width, height = image.size
                    if width * height > max_pixels:
                        too_big.append(f"{where} is {width} x {height} = {width * height:,} pixels")
                        continue
                    image.load()
                    record = _rgb_record(image)
                    if record is not None:
                        converted[number - 1] = record
        except Image.DecompressionBombError as err:
            too_big.append(f"{where}: {err}")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            broken.append(f"{where}: {type(err).__name__}: {err}")
    messages = []
    if missing:
        messages.append(_problems(f"image files missing from {folder}", missing))
    if broken:
        messages.append(_problems("images that do not decode", broken))
    if too_big:
        messages.append(_problems(f"images over max_pixels={max_pixels:,}", too_big))
    if messages:
        raise DataError("\n".join(messages))
    return converted


def _class_label(values: list[Any], preferred: list[str] | None = None):
    """A ClassLabel over ``values`` (the preferred vocabulary when it covers them) and the ids."""
    from datasets import ClassLabel

    names = [str(v) for v in values]
    if preferred is not None and set(names) <= set(preferred):
        vocabulary = list(preferred)
    else:
        vocabulary = [str(v) for v in sorted(set(values), key=lambda v: (str(type(v)), v))]
        vocabulary = list(dict.fromkeys(vocabulary))
    return ClassLabel(names=vocabulary), [vocabulary.index(name) for name in names]


def _folder_dataset(folder: Path, rows, columns, text_column: str, label_column: str,
                    converted: dict[int, dict[str, Any]]):
    from datasets import Dataset, Features, Image as ImageFeature, Value

    images = [converted.get(i) or {"bytes": None, "path": str(folder / row["file_name"])} for i, row in enumerate(rows)]
    data: dict[str, list[Any]] = {"image": images,
                                  "text": [row[text_column].strip() for row in rows]}
    features: dict[str, Any] = {"image": ImageFeature(mode="RGB"), "text": Value("string")}
    is_vqa = text_column == "question" and "answer" in columns
    labels_from = "answer" if is_vqa else label_column if label_column in columns else None
    if labels_from is not None:
        values = [row.get(labels_from) for row in rows]
        unlabelled = [f"row {i}: {row['file_name']}" for i, (row, v) in enumerate(zip(rows, values), 1)
                      if v is None or (isinstance(v, str) and not v.strip())]
        if unlabelled:
            raise DataError(_problems(f"rows without a {labels_from!r} value", unlabelled))
        features["label"], data["label"] = _class_label(values, VQA_ANSWERS if is_vqa else None)
    for name in columns:
        if name in (text_column, "label") or name in data:
            continue
        values = [row.get(name) for row in rows]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            data[name], features[name] = [float(v) for v in values], Value("float64")
        else:
            data[name] = ["" if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]
            features[name] = Value("string")
    return Dataset.from_dict(data, features=Features(features))


# ---------------------------------------------------------------- hub samples


def _first_text(value: Any) -> str:
    """A caption from a string, a list of strings or a list of {"raw"/"caption": ...} dicts."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value:
        return _first_text(value[0])
    if isinstance(value, dict):
        for key in ("raw", "caption", "text", "answer"):
            if key in value:
                return _first_text(value[key])
    raise ValueError(f"no caption found in {str(value)[:80]}")


def _vqa_answer(row: dict[str, Any]) -> str:
    if row.get("multiple_choice_answer"):
        return str(row["multiple_choice_answer"])
    answers = [a["answer"] if isinstance(a, dict) else str(a) for a in row.get("answers") or []]
    if not answers:
        raise ValueError("the row has no multiple_choice_answer and no answers")
    return Counter(answers).most_common(1)[0][0]


# name -> (hub repository, default split, offline alternative, row -> (text, answer or None))
HUB_DATASETS: dict[str, tuple[str, str, str, Callable[[dict], tuple[str, str | None]]]] = {
    "vqav2": ("lmms-lab/VQAv2", "validation", 'gk.make_task("vqa")',
              lambda row: (row["question"], _vqa_answer(row))),
    "coco-captions": ("lmms-lab/COCO-Caption2017", "val", 'gk.make_task("match")',
                      lambda row: (_first_text(row.get("answer") or row.get("captions") or row.get("caption")), None)),
    "flickr30k": ("lmms-lab/flickr30k", "test", 'gk.make_task("match")',
                  lambda row: (_first_text(row.get("caption") or row.get("answer") or row.get("sentences")), None)),
}


def load_hub(name: str, split: str | None = None, n: int = 100):
    """Stream the first ``n`` rows of a named hub dataset into the world's columns.

    ``"vqav2"`` (lmms-lab/VQAv2, split "validation"): ``text`` is the question, ``answer`` the
    most common human answer, ``label`` a ClassLabel over the answers in the sample.
    ``"coco-captions"`` (lmms-lab/COCO-Caption2017, "val") and ``"flickr30k"``
    (lmms-lab/flickr30k, "test"): ``text`` is the image's first caption.

    Without a network it fails within seconds (HubUnavailable, a RuntimeError) naming the offline alternative,
    ``gk.make_task(...)``.
    """
    check_choice("name", name, tuple(HUB_DATASETS))
    n = check_positive_int("n", n)
    repo, default_split, offline, extract = HUB_DATASETS[name]
    require_hub(f"{name} ({repo})", offline)
    from datasets import Dataset, Features, Image as ImageFeature, Value, load_dataset

    stream = load_dataset(repo, split=split or default_split, streaming=True)
    images, texts, answers = [], [], []
    for row in stream.take(n):
        text, ans = extract(row)
        images.append(row["image"])
        texts.append(text)
        answers.append(ans)
    data: dict[str, Any] = {"image": images, "text": texts, "source": [f"hf:{repo}"] * len(texts)}
    features: dict[str, Any] = {"image": ImageFeature(mode="RGB"), "text": Value("string"),
                                "source": Value("string")}
    if name == "vqav2":
        features["label"], data["label"] = _class_label(answers)
        data["answer"], features["answer"] = answers, Value("string")
    return Dataset.from_dict(data, features=Features(features))


# ---------------------------------------------------------------- the gallery

# skimage.data function -> caption; all ship inside scikit-image (no download)
GALLERY: dict[str, str] = {
    "astronaut": "a photo of an astronaut in an orange spacesuit in front of a flag",
    "coffee": "a photo of a cup of coffee on a saucer",
    "chelsea": "a photo of a tabby cat",
    "rocket": "a photo of a rocket on its launch pad",
    "camera": "a black and white photo of a man with a camera on a tripod",
    "coins": "a black and white photo of old coins",
    "horse": "a black silhouette of a horse",
    "hubble_deep_field": "a photo of many galaxies in deep space",
    "immunohistochemistry": "a microscope image of stained tissue",
    "moon": "a black and white photo of the surface of the moon",
    "page": "a scan of a page of printed text",
    "retina": "a photo of the retina of a human eye",
    "colorwheel": "a colour wheel",
    "brick": "a photo of a brick wall",
    "grass": "a photo of grass",
    "stereo_motorcycle": "a photo of a motorcycle",
}


def _to_rgb_square(array: np.ndarray, size: int) -> Image.Image:
    """A square RGB image: the array scaled to uint8, centre-cropped and resized to ``size``."""
    if array.dtype == bool:
        array = np.where(array, 255, 0).astype(np.uint8)  # False marks the shape: black on white
    elif array.dtype != np.uint8:
        array = (255 * (array - array.min()) / max(float(np.ptp(array)), 1e-12)).astype(np.uint8)
    image = Image.fromarray(array).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)


def load_gallery(size: int = 224):
    """Real photos that ship inside scikit-image (``skimage.data``), with captions the kit wrote.

    For demos with a real CLIP: each image is its own class, so zero-shot retrieval of the
    right caption is a 16-way choice.

    Returns
    -------
    datasets.Dataset with ``image`` (``size`` x ``size`` RGB, centre-cropped), ``text`` (the
    caption), ``label`` (ClassLabel over the gallery names) and ``name``.
    """
    import skimage.data
    from datasets import ClassLabel, Dataset, Features, Image as ImageFeature, Value

    from grounding_kit.world.storage import png_record

    size = check_positive_int("size", size, minimum=16)
    names = list(GALLERY)
    images = []
    for name in names:
        array = getattr(skimage.data, name)()
        if isinstance(array, tuple):  # stereo_motorcycle: (left, right, disparity)
            array = array[0]
        images.append(png_record(_to_rgb_square(np.asarray(array), size)))
    features = Features({"image": ImageFeature(), "text": Value("string"),
                         "label": ClassLabel(names=names), "name": Value("string")})
    return Dataset.from_dict({"image": images, "text": [GALLERY[n] for n in names],
                              "label": list(range(len(names))), "name": names}, features=features)
