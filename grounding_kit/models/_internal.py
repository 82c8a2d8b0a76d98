"""Private helpers shared by the CLIP and VQA loaders: names, images, configs, checkpoint files."""

from __future__ import annotations

import json
import pickle
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from grounding_kit.core.validation import describe

PROGRESS_MIN = 256  # show a progress bar from this many inputs on


def model_device(device: Any, name: str = "device") -> Any:
    """The kit's one device rule for every loader and fit (``load_clip``, ``load_vqa``,
    ``load_head`` / ``Head.from_pretrained``, ``fit_head``): ``device=None`` is the CPU, so the same
    call gives the same numbers on every machine; a GPU is an explicit choice (``"cuda"``).

    Raises ``TypeError`` / ``ValueError`` as :func:`~grounding_kit.core.devices.check_device` does
    (an unknown device name, or one this machine lacks).
    """
    from grounding_kit.core.devices import check_device

    return check_device("cpu" if device is None else device, name)


def check_model_name(name: Any, loader: str) -> str:
    """``name`` if it is a non-blank string; ``''`` is never read as the current folder."""
    if not isinstance(name, str):
        raise TypeError(f"{loader}: name must be a string, got {describe(name)}")
    if not name.strip():
        raise ValueError(f"{loader}: name={name!r} is blank; give a model name (see grounding_kit.list_models()) "
                         "or a folder path ('./' for the current folder)")
    return name


def rgb(image: Any) -> Any:
    """A PIL image in RGB mode, or ``TypeError`` for anything that is not a PIL image."""
    if not hasattr(image, "convert"):
        raise TypeError(f"expected a PIL image, got {describe(image)}")
    return image if image.mode == "RGB" else image.convert("RGB")


def config_model_type(folder: Path) -> str:
    """``model_type`` of a transformers ``config.json`` in ``folder`` ('' when it names none)."""
    path = Path(folder) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a JSON model config ({err})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} is not a JSON model config (a {type(config).__name__}, not an object)")
    return str(config.get("model_type", ""))


def _checkpoint_failures() -> tuple[type[BaseException], ...]:
    """Exception types that mean "this file is not a readable checkpoint"."""
    failures: list[type[BaseException]] = [pickle.UnpicklingError, EOFError, UnicodeDecodeError]
    try:
        from safetensors import SafetensorError

        failures.append(SafetensorError)
    except ImportError:  # pragma: no cover - safetensors is a dependency
        pass
    return tuple(failures)


#: fragments of torch / safetensors / transformers messages about an unreadable or foreign checkpoint
_CHECKPOINT_MESSAGES = ("invalid load key", "PytorchStreamReader", "failed finding central directory",
                        "Error while deserializing header", "HeaderTooLarge", "HeaderTooSmall",
                        "Weights only load failed", "Unable to load weights", "not a zip file",
                        "Error(s) in loading state_dict", "size mismatch", "MetadataIncompleteBuffer",
                        "InvalidHeader")


@contextmanager
def checkpoint_errors(path: Path | str, expected: str, any_error: bool = False) -> Iterator[None]:
    """Turn a failure to read the checkpoint ``path`` into ``ValueError`` naming the file.

    ``expected`` says what the file should have been (e.g. "weights of the open_clip
    architecture 'ViT-B-32'"). With ``any_error``, every exception inside the block is such a
    failure (for blocks that only read the file into a known architecture). The message never
    suggests ``weights_only=False``: a file that torch's safe loader refuses is not loaded.
    """
    try:
        yield
    except Exception as err:
        readable = not (any_error or isinstance(err, _checkpoint_failures())
                        or any(fragment in str(err) for fragment in _CHECKPOINT_MESSAGES))
        if readable:
            raise
        raise ValueError(f"{path} is not a checkpoint the kit can read: expected {expected} "
                         f"({type(err).__name__}: {_first_line(err)})") from None


def check_safetensors(path: Path, expected: str) -> None:
    """Read the header of a ``.safetensors`` file (cheap), or raise ``ValueError`` naming it."""
    from safetensors import safe_open

    with checkpoint_errors(path, expected, any_error=True):
        with safe_open(str(path), framework="pt") as handle:
            handle.keys()


def _first_line(err: BaseException) -> str:
    """The first line of an error message, without advice to load untrusted pickles."""
    line = (str(err).strip().splitlines() or [""])[0]
    return line.replace("weights_only=False", "an unsafe load")[:300]
