"""Hub models from the local Hugging Face cache first, the hub second, a one-line refusal last.

A hub name (``hf-hub:org/repo``, ``org/name``, ``ARCH/TAG``) whose files were downloaded once
sits in the Hugging Face cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else
``~/.cache/huggingface/hub``; open_clip's pretrained tags live there too). The loaders read it
from there without touching the network, with or without ``HF_HUB_OFFLINE=1``. Only a name whose
files are absent needs the hub; when the hub is out of reach (or ``HF_HUB_OFFLINE=1`` forbids
it) :func:`require_online` refuses within seconds, in one line that names the notebook's own fix.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from grounding_kit.core.hub import HubUnavailable

OPEN_CLIP_FILES = (("open_clip_config.json",), ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"))
TRANSFORMERS_FILES = (("config.json",), ("model.safetensors", "pytorch_model.bin"))


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment now (``HF_HUB_CACHE``, else
    ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``): a notebook may set them after import."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def cached_file(repo_id: str, filenames: Sequence[str]) -> Path | None:
    """The first of ``filenames`` of ``repo_id`` (main revision) in the local cache, else None."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        try:
            found = try_to_load_from_cache(repo_id, filename, cache_dir=str(hub_cache_dir()))
        except ValueError:  # not a valid repository id: nothing of it can be cached
            return None
        if isinstance(found, str):
            return Path(found)
    return None


def cached_snapshot(repo_id: str, files: Sequence[Sequence[str]]) -> Path | None:
    """The cached snapshot folder of ``repo_id`` that holds one of each group of ``files``
    (e.g. a config and one of its weight files), else None."""
    found = [cached_file(repo_id, group) for group in files]
    if any(path is None for path in found):
        return None
    return found[0].parent  # type: ignore[union-attr]


def require_online(name: str, fix: str) -> None:
    """Raise :class:`HubUnavailable` within seconds when ``name``'s files are not cached and the
    hub is out of reach; ``fix`` is the notebook's own offline line (e.g. ``MODEL = "tiny-shapes"``)."""
    from grounding_kit.core.hub import check_hub

    verdict = check_hub()
    if not verdict.ok:
        raise HubUnavailable(f"cannot load {name!r}: its files are not in the local Hugging Face cache "
                             f"({hub_cache_dir()}) and the model hub is out of reach ({verdict.reason}). "
                             f"Use the kit's offline model: {fix}")


@contextmanager
def hub_offline() -> Iterator[None]:
    """huggingface_hub in offline mode inside the block (cached files only, no request), for
    libraries that take no ``local_files_only`` (open_clip's pretrained tags)."""
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before
