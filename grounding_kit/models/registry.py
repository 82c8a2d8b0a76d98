"""The loader registry: ordered (matches, load) entries for ``load_clip`` and ``load_vqa``.

Each :class:`LoaderEntry` says which names it reads (``matches``) and which function loads them
(``load``, a ``"module:function"`` path imported on first use, so this module and
``list_models()`` stay light: no torch, no open_clip). The loaders try the entries in order and
use the first that matches, as open_clip's factory reads ``hf-hub:`` / ``local-dir:`` / built-in
names. ``list_models()`` is derived from the entries' example names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grounding_kit.core.paths import models_dir

TINY_CLIP = "tiny-shapes"
TINY_VQA = "tiny-shapes-vqa"

# the notebooks' own offline lines (the model variable of the set-up cell), named by the hub refusals
OFFLINE_CLIP_DEFAULT = f'MODEL = "{TINY_CLIP}" (gk.load_clip("{TINY_CLIP}"))'
OFFLINE_VQA_DEFAULT = f'MODEL = "{TINY_VQA}" (VQA_MODEL in notebook 04; gk.load_vqa("{TINY_VQA}"))'

LOCAL_DIR = "local-dir:"
HF_HUB = "hf-hub:"


@dataclass(frozen=True)
class LoaderEntry:
    """One kind of model name a loader reads.

    Attributes
    ----------
    source : what the entry reads, in words (shown by error messages).
    matches : ``matches(name) -> bool``, cheap (no model import beyond a name list).
    load : ``"module:function"`` of ``function(name, device, **options) -> model``.
    names : example names ``list_models()`` shows for this entry.
    online : whether loading needs the model hub.
    """

    source: str
    matches: Callable[[str], bool]
    load: str
    names: tuple[str, ...] = ()
    online: bool = False

    def loader(self) -> Callable:
        """The load function (its module imported now)."""
        module, _, function = self.load.partition(":")
        return getattr(importlib.import_module(module), function)


def find_entry(entries: tuple[LoaderEntry, ...], name: str) -> LoaderEntry | None:
    """The first entry of ``entries`` that matches ``name`` (None when none does)."""
    return next((entry for entry in entries if entry.matches(name)), None)


@dataclass(frozen=True)
class ModelName:
    """A model name as the loaders read it (:func:`parse_model_name`): the one input contract of
    ``load_clip`` and ``load_vqa`` for names and their prefixes.

    Attributes
    ----------
    text : the name as given.
    prefix : ``"local-dir:"`` (a folder, open_clip's spelling), ``"hf-hub:"`` (a hub repository,
        open_clip's spelling) or ``""``.
    body : the name without its prefix.
    """

    text: str
    prefix: str
    body: str

    @property
    def path(self) -> Path | None:
        """The folder or file the name means (None for an ``hf-hub:`` name)."""
        return None if self.prefix == HF_HUB else Path(self.body).expanduser()

    @property
    def is_path(self) -> bool:
        """Meant as a file or folder path: ``local-dir:``, an existing path, or one that starts with
        ``.``, ``/`` or ``~``."""
        return self.prefix == LOCAL_DIR or (self.path is not None and (self.path.exists()
                                                                       or self.body.startswith((".", "/", "~"))))

    def has_file(self, filename: str) -> bool:
        """Whether the name is a folder holding ``filename``."""
        return self.path is not None and (self.path / filename).is_file()


def parse_model_name(name: Any, loader: str = "load_clip") -> ModelName:
    """``name`` read once for every loader: its prefix split off and its folder resolved.

    Raises
    ------
    TypeError for a name that is not a string; ValueError for a blank name or a prefix with
    nothing after it (``"local-dir:"``, ``"hf-hub:"``), naming ``loader``.
    """
    from grounding_kit.models._internal import check_model_name

    check_model_name(name, loader)
    prefix = next((p for p in (LOCAL_DIR, HF_HUB) if name.startswith(p)), "")
    body = name[len(prefix):]
    if prefix and not body.strip():
        what = ("names no folder; write 'local-dir:FOLDER' ('local-dir:./' for the current folder)"
                if prefix == LOCAL_DIR else "names no repository; write 'hf-hub:org/repo'")
        raise ValueError(f"{loader}: {name!r} {what}")
    return ModelName(name, prefix, body)


def load_by_name(entries: tuple[LoaderEntry, ...], loader: str, name: str, device: Any, *, no_model: str,
                 missing: str, unknown: str, **options: Any) -> Any:
    """Check ``name`` (:func:`parse_model_name`) and ``device`` (the kit's one device rule,
    :func:`~grounding_kit.models._internal.model_device`), then load with the first matching entry.

    When none matches, the error says why: ``no_model`` for a folder without a model
    (FileNotFoundError), ``missing`` for a path that does not exist (FileNotFoundError), ``unknown``
    for any other name (ValueError); each is formatted with ``path`` (the folder, prefix removed)
    and ``name``.
    """
    from grounding_kit.models._internal import model_device

    parsed = parse_model_name(name, loader)
    dev = model_device(device)
    from grounding_kit.core.hub import HubUnavailable

    entry = find_entry(entries, name)
    if entry is not None:
        try:
            return entry.loader()(name, dev, **options)
        except HubUnavailable as err:  # one line, without the kit's frames
            raise HubUnavailable(str(err)) from None
    path = parsed.path
    if path is not None and path.is_dir():
        raise FileNotFoundError(no_model.format(path=path, name=name))
    if parsed.is_path:
        raise FileNotFoundError(missing.format(path=path, name=name))
    raise ValueError(unknown.format(path=path, name=name))


def is_path_like(name: str) -> bool:
    """Whether ``name`` is meant as a file or folder path (:attr:`ModelName.is_path`)."""
    return parse_model_name(name).is_path


def _folder_with(filename: str) -> Callable[[str], bool]:
    return lambda name: parse_model_name(name).has_file(filename)


def _hub_name(name: str) -> bool:
    """``org/name`` that is not a local path."""
    parsed = parse_model_name(name)
    return not parsed.prefix and name.count("/") == 1 and not parsed.is_path


def _open_clip_architecture(name: str) -> bool:
    """``ARCH`` or ``ARCH/TAG`` with ARCH one of open_clip's built-in architectures."""
    import open_clip

    return not parse_model_name(name).prefix and name.partition("/")[0] in set(open_clip.list_models())


def _tiny(model: str) -> Callable[[str], bool]:
    return lambda name: name == model


def model_folder(name: str) -> Path:
    """The folder a local model name means (``local-dir:`` removed, ``~`` expanded)."""
    path = parse_model_name(name).path
    if path is None:
        raise ValueError(f"{name!r} names a hub repository, not a folder")
    return path


CLIP_MODULE = "grounding_kit.models.clip"
VQA_MODULE = "grounding_kit.models.vqa"

CLIP_LOADERS: tuple[LoaderEntry, ...] = (
    LoaderEntry("the embedded tiny CLIP (an open_clip local-dir folder in data/models)", _tiny(TINY_CLIP),
                f"{CLIP_MODULE}:load_embedded_clip", names=(TINY_CLIP,)),
    LoaderEntry("an open_clip folder (open_clip_config.json beside the weights), as 'local-dir:FOLDER' or "
                "the folder's path", lambda name: parse_model_name(name).prefix == LOCAL_DIR or _folder_with("open_clip_config.json")(name),
                f"{CLIP_MODULE}:load_open_clip_folder"),
    LoaderEntry("an open_clip architecture 'ARCH' or 'ARCH/TAG'", _open_clip_architecture,
                f"{CLIP_MODULE}:load_open_clip_architecture",
                names=("ViT-B-32/laion2b_s34b_b79k", "ViT-B-16/openai"), online=True),
    LoaderEntry("open_clip from the model hub, 'hf-hub:org/repo'", lambda name: parse_model_name(name).prefix == HF_HUB,
                f"{CLIP_MODULE}:load_open_clip_hub", names=("hf-hub:timm/ViT-B-16-SigLIP",), online=True),
    LoaderEntry("a transformers CLIP folder (save_pretrained: config.json)", _folder_with("config.json"),
                f"{CLIP_MODULE}:load_transformers_clip_folder"),
    LoaderEntry("a transformers CLIP from the model hub, 'org/name'", _hub_name,
                f"{CLIP_MODULE}:load_transformers_clip_hub", names=("openai/clip-vit-base-patch32",), online=True),
)

VQA_LOADERS: tuple[LoaderEntry, ...] = (
    LoaderEntry("the embedded tiny ViLT (a transformers folder in data/models)", _tiny(TINY_VQA),
                f"{VQA_MODULE}:load_embedded_vqa", names=(TINY_VQA,)),
    LoaderEntry("a transformers ViLT or BLIP VQA folder (save_pretrained: config.json)", _folder_with("config.json"),
                f"{VQA_MODULE}:load_vqa_folder"),
    LoaderEntry("an open_clip CLIP folder (refused: a CLIP answers no questions)", _folder_with("open_clip_config.json"),
                f"{VQA_MODULE}:refuse_clip_folder"),
    LoaderEntry("a ViLT or BLIP VQA model from the model hub, 'org/name'", _hub_name, f"{VQA_MODULE}:load_vqa_hub",
                names=("dandelin/vilt-b32-finetuned-vqa", "Salesforce/blip-vqa-base"), online=True),
)


def embedded_path(name: str) -> Path:
    """The shipped folder of an embedded model (``data/models/<name>``)."""
    return models_dir() / name


def list_models() -> dict[str, list[str]]:
    """Model names the loaders accept, by kind.

    Returns
    -------
    dict with keys ``"clip"`` and ``"vqa"`` (embedded, offline) and ``"clip-online"`` and
    ``"vqa-online"`` (suggestions that need the model hub). Any open_clip architecture/tag,
    ``hf-hub:`` name, transformers CLIP/ViLT/BLIP name or local folder also works.
    """
    def names(entries: tuple[LoaderEntry, ...], online: bool) -> list[str]:
        return [name for entry in entries if entry.online == online for name in entry.names]

    return {"clip": names(CLIP_LOADERS, False), "vqa": names(VQA_LOADERS, False),
            "clip-online": names(CLIP_LOADERS, True), "vqa-online": names(VQA_LOADERS, True)}
