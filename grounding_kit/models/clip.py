"""``load_clip``: one CLIP object over the embedded tiny model, open_clip and transformers.

Whatever the source, :class:`ClipModel` encodes texts and images into L2-normalised (N, D)
tensors and scores them with CLIP's scaled cosine.
"""

from __future__ import annotations

import json
import os
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from tqdm.auto import tqdm

from grounding_kit.core.hashing import weights_hash
from grounding_kit.models.hub_cache import (OPEN_CLIP_FILES, TRANSFORMERS_FILES, cached_file, cached_snapshot,
                                             hub_cache_dir, hub_offline, require_online)
from grounding_kit.core.paths import configs_dir
from grounding_kit.core.validation import describe
from grounding_kit.models._internal import PROGRESS_MIN, check_safetensors, checkpoint_errors, config_model_type, rgb
from grounding_kit.models.registry import CLIP_LOADERS, LOCAL_DIR, OFFLINE_CLIP_DEFAULT, TINY_CLIP, embedded_path, is_path_like, load_by_name, \
    model_folder, parse_model_name
from grounding_kit.models.tokenizer import WordTokenizer

OPEN_CLIP_CONFIG = "open_clip_config.json"
WEIGHTS = "model.safetensors"
VOCAB = "vocab.json"


class ClipModel:
    """A CLIP: two encoders into one space and a logit scale.

    Attributes
    ----------
    name : the name it was loaded by.
    module : the underlying ``torch.nn.Module`` (open_clip model or transformers ``CLIPModel``).
    preprocess : PIL image -> (3, H, W) tensor, the model's own evaluation transform.
    device : torch.device of the weights.
    embed_dim : D, the size of the joint space.
    logit_scale : float, CLIP's learned temperature ``s`` (``similarity = s * cos``).
    tokenizer : the text tokenizer where the kit knows it (the tiny CLIP's
        :class:`~grounding_kit.models.tokenizer.WordTokenizer`), else None.
    """

    def __init__(self, name: str, module: torch.nn.Module, preprocess: Callable[[Any], torch.Tensor],
                 encode_text_batch: Callable[[list[str]], torch.Tensor],
                 encode_image_batch: Callable[[torch.Tensor], torch.Tensor],
                 logit_scale: float, device: torch.device) -> None:
        self.name = name
        self.module = module.eval()
        self.preprocess = preprocess
        self._encode_text_batch = encode_text_batch
        self._encode_image_batch = encode_image_batch
        self.logit_scale = float(logit_scale)
        self.device = device
        self.tokenizer: Any = None
        self.embed_dim = int(self.encode_texts(["a"]).shape[1])
        self._weights_hash: str | None = None

    def __repr__(self) -> str:
        return f"ClipModel(name={self.name!r}, embed_dim={self.embed_dim}, device={self.device})"

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str], batch_size: int = 256, progress: bool | None = None) -> torch.Tensor:
        """L2-normalised text embeddings, (N, D) on CPU."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"texts must be a list of strings, got {describe(texts)}")
        return self._batched(list(texts), batch_size, self._encode_text_batch, "texts", progress)

    @torch.no_grad()
    def encode_images(self, images: Sequence[Any], batch_size: int = 64, progress: bool | None = None) -> torch.Tensor:
        """L2-normalised image embeddings of PIL images, (N, D) on CPU."""
        if not hasattr(images, "__len__") or isinstance(images, (str, bytes)):
            raise TypeError(f"images must be a list of PIL images, got {describe(images)}")

        def encode(batch: list[Any]) -> torch.Tensor:
            pixels = torch.stack([self.preprocess(rgb(img)) for img in batch]).to(self.device)
            return self._encode_image_batch(pixels)

        return self._batched(list(images), batch_size, encode, "images", progress)

    def _batched(self, items: list[Any], batch_size: int, encode: Callable[[list[Any]], torch.Tensor],
                 what: str, progress: bool | None) -> torch.Tensor:
        if not items:
            return torch.empty(0, self.embed_dim)
        show = len(items) >= PROGRESS_MIN if progress is None else progress
        chunks = []
        for start in tqdm(range(0, len(items), batch_size), desc=f"encoding {what}", disable=not show):
            out = encode(items[start:start + batch_size]).float()
            chunks.append(torch.nn.functional.normalize(out, dim=-1).cpu())
        return torch.cat(chunks)

    def similarity(self, texts: Sequence[str], images: Sequence[Any]) -> torch.Tensor:
        """Scaled cosine logits, (Nt, Ni): ``logit_scale * cos(t_i, v_j)``."""
        return self.scores(self.encode_texts(texts), self.encode_images(images))

    def scores(self, text_emb: Any, image_emb: Any) -> torch.Tensor:
        """CLIP's logits of embeddings already computed: (Nt, D), (Ni, D) -> (Nt, Ni),
        ``logit_scale * <t_i, v_j>`` (the embeddings of ``encode_*`` are unit vectors), in the wider
        of the two inputs' float dtypes (numpy arrays or torch tensors)."""
        text, image = torch.as_tensor(text_emb), torch.as_tensor(image_emb)
        if not (text.is_floating_point() and image.is_floating_point()):
            raise TypeError(f"text_emb and image_emb must be float arrays, got {describe(text_emb)} and "
                            f"{describe(image_emb)}")
        dtype = torch.promote_types(text.dtype, image.dtype)
        text, image = text.to(dtype), image.to(dtype)
        if text.ndim != 2 or image.ndim != 2 or text.shape[1] != image.shape[1]:
            raise ValueError(f"text_emb and image_emb must be (Nt, D) and (Ni, D) with the same D, got "
                             f"{describe(text_emb)} and {describe(image_emb)}")
        return self.logit_scale * text @ image.T

    def weights_hash(self) -> str:
        """The model's identity in caches (computed once): ``core.hashing.weights_hash`` of its module,
        every parameter and buffer by name, dtype, shape and bytes."""
        if self._weights_hash is None:
            self._weights_hash = weights_hash(self.module)
        return self._weights_hash


# --- open_clip ---------------------------------------------------------------------------------

def _from_open_clip(name: str, model: torch.nn.Module, preprocess: Callable, tokenizer: Callable,
                    device: torch.device) -> ClipModel:
    model = model.to(device)
    clip = ClipModel(
        name, model, preprocess,
        encode_text_batch=lambda texts: model.encode_text(tokenizer(texts).to(device)),
        encode_image_batch=lambda pixels: model.encode_image(pixels),
        logit_scale=float(model.logit_scale.detach().exp()), device=device)
    clip.tokenizer = tokenizer
    return clip


def register_tiny_config(name: str = TINY_CLIP) -> str:
    """Register the tiny CLIP's recipe architectures (``grounding_kit/configs/*.json``: ``tiny-shapes``,
    the current one, and ``tiny-shapes-v1``, version 1's) with open_clip, for training; return
    ``name``. Trained folders carry their own config."""
    import open_clip

    open_clip.add_model_config(configs_dir())
    if name not in open_clip.list_models():
        raise ValueError(f"register_tiny_config: no architecture {name!r} in {configs_dir()}")
    return name


def save_open_clip_folder(folder: str | Path, model: torch.nn.Module, model_cfg: dict[str, Any],
                          tokenizer: WordTokenizer | None = None) -> Path:
    """Save an open_clip model as a self-describing folder that ``local-dir:FOLDER`` loads.

    Writes ``open_clip_config.json`` (``model_cfg`` and the model's ``preprocess_cfg``, the
    layout of open_clip's hub models), ``model.safetensors`` and, for a word-level
    :class:`~grounding_kit.models.tokenizer.WordTokenizer`, its ``vocab.json``.

    Returns
    -------
    The folder.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    preprocess_cfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
    config = {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg}
    (folder / OPEN_CLIP_CONFIG).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(folder / WEIGHTS))
    if tokenizer is not None:
        tokenizer.save(folder / VOCAB)
    return folder


def _check_open_clip_folder(folder: Path) -> None:
    """Refuse a folder open_clip would read as a random model or fail on deep inside."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no open_clip folder at {folder}")
    config_path = folder / OPEN_CLIP_CONFIG
    if not config_path.is_file():
        raise FileNotFoundError(f"{folder} has no {OPEN_CLIP_CONFIG}; an open_clip local-dir folder holds the "
                                "config beside its weights")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{config_path} is not a JSON open_clip config ({err})") from None
    model_cfg = config.get("model_cfg") if isinstance(config, dict) else None
    if not isinstance(model_cfg, dict) or not {"embed_dim", "vision_cfg", "text_cfg"} <= set(model_cfg):
        raise ValueError(f"{config_path} is not an open_clip config: expected a 'model_cfg' object with "
                         "'embed_dim', 'vision_cfg' and 'text_cfg'")
    weights = sorted(path for pattern in ("*.safetensors", "*.bin", "*.pth") for path in folder.glob(pattern))
    if not weights:
        raise FileNotFoundError(f"{folder} has {OPEN_CLIP_CONFIG} but no weights (*.safetensors, *.bin, *.pth); "
                                "open_clip would build a RANDOM model from it")
    for path in weights:
        if path.suffix == ".safetensors":
            check_safetensors(path, f"weights matching {config_path}")


def load_open_clip_folder(name: str, device: torch.device, pretrained: str | None = None,
                          folder: Path | None = None) -> ClipModel:
    """An open_clip ``local-dir`` folder: ``open_clip_config.json`` beside the weights.

    The folder's ``vocab.json``, when present, is the kit's word-level tokenizer (the tiny
    CLIP's); otherwise open_clip's own tokenizer for the config.
    """
    import open_clip

    _no_pretrained(name, pretrained)
    folder = folder if folder is not None else model_folder(name)
    _check_open_clip_folder(folder)
    source = f"{LOCAL_DIR}{folder}"
    with checkpoint_errors(folder, f"weights matching {folder / OPEN_CLIP_CONFIG}"):
        model, _, preprocess = open_clip.create_model_and_transforms(source, device=device)
    vocab = folder / VOCAB
    tokenizer = WordTokenizer.load(vocab) if vocab.is_file() else open_clip.get_tokenizer(source)
    return _from_open_clip(name, model, preprocess, tokenizer, device)


def load_embedded_clip(name: str, device: torch.device, pretrained: str | None = None) -> ClipModel:
    """The embedded tiny CLIP, ``data/models/tiny-shapes`` (an open_clip local-dir folder)."""
    folder = embedded_path(name)
    if not (folder / WEIGHTS).is_file():
        raise FileNotFoundError(f"no weights for {name!r} at {folder / WEIGHTS}; "
                                "rebuild them with `grounding-kit train tiny-clip`")
    return load_open_clip_folder(name, device, pretrained, folder=folder)


def load_open_clip_hub(name: str, device: torch.device, pretrained: str | None = None) -> ClipModel:
    """An open_clip model from the hub, ``hf-hub:org/repo``: from the local Hugging Face cache when
    its config and weights are there (no network), else downloaded (:mod:`~grounding_kit.models.hub_cache`)."""
    import open_clip

    _no_pretrained(name, pretrained)
    snapshot = cached_snapshot(parse_model_name(name).body, OPEN_CLIP_FILES)
    if snapshot is not None:  # read as the open_clip folder it is
        return load_open_clip_folder(name, device, folder=snapshot)
    require_online(name, OFFLINE_CLIP_DEFAULT)
    cache = str(hub_cache_dir())
    model, _, preprocess = open_clip.create_model_and_transforms(name, device=device, cache_dir=cache)
    return _from_open_clip(name, model, preprocess, open_clip.get_tokenizer(name, cache_dir=cache), device)


def cached_tag_weights(arch: str, tag: str) -> tuple[bool, str | None]:
    """(whether the weights of open_clip's pretrained ``arch``/``tag`` are cached, the cache folder
    open_clip must be given to find them): the Hugging Face cache for a tag on the hub, open_clip's
    own (``~/.cache/clip``, None) for a tag downloaded from a URL."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(arch, tag) or {}
    if cfg.get("hf_hub"):
        repo, filename = os.path.split(cfg["hf_hub"])
        names = ([filename.replace(".bin", ".safetensors"), filename] if filename
                 else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"])
        return cached_file(repo, names) is not None, str(hub_cache_dir())
    url = cfg.get("url", "")
    return bool(url) and (Path("~/.cache/clip").expanduser() / os.path.basename(url)).is_file(), None


def load_open_clip_architecture(name: str, device: torch.device, pretrained: str | None = None) -> ClipModel:
    """An open_clip architecture: ``ARCH/TAG``, or ``ARCH`` with ``pretrained`` (a tag or a local
    checkpoint file); ``ARCH`` alone builds random weights, with a warning."""
    import open_clip

    arch, _, tag = name.partition("/")
    if tag and pretrained is not None:
        raise ValueError(f"load_clip({name!r}, pretrained={pretrained!r}) names the weights twice; "
                         f"use load_clip({arch!r}, pretrained=...) or load_clip({name!r})")
    weights = tag or pretrained
    if weights is None:
        warnings.warn(f"load_clip({name!r}) with pretrained=None builds RANDOM weights; "
                      f"pass e.g. {name + '/' + (open_clip.list_pretrained_tags_by_model(name) or ['TAG'])[0]!r} "
                      "for a trained model", UserWarning, stacklevel=3)
    elif not isinstance(weights, str) or not weights.strip():
        raise (TypeError if not isinstance(weights, str) else ValueError)(
            f"pretrained must be an open_clip tag or a checkpoint file path, got {weights!r}")
    elif Path(weights).expanduser().is_dir():
        raise ValueError(f"pretrained={weights!r} is a folder; pass a checkpoint file, or load the folder "
                         f"itself with load_clip({weights!r})")
    elif Path(weights).expanduser().is_file():
        weights = str(Path(weights).expanduser())
    elif is_path_like(weights) or weights not in open_clip.list_pretrained_tags_by_model(arch):
        if is_path_like(weights):
            raise FileNotFoundError(f"no checkpoint file at {weights}")
        raise ValueError(f"pretrained={weights!r} is neither a checkpoint file nor a tag of {arch!r}; "
                         f"tags: {open_clip.list_pretrained_tags_by_model(arch)}")
    cached, cache = (True, None) if weights is None or Path(weights).is_file() else cached_tag_weights(arch, weights)
    if not cached:
        require_online(f"{arch}/{weights}", OFFLINE_CLIP_DEFAULT)
    with checkpoint_errors(weights, f"weights of the open_clip architecture {arch!r}", any_error=weights is not None and Path(weights).is_file()), \
            (hub_offline() if cached else nullcontext()):  # cached weights: no request at all
        model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=weights, device=device,
                                                                      cache_dir=cache)
    return _from_open_clip(name, model, preprocess, open_clip.get_tokenizer(arch), device)


def _no_pretrained(name: str, pretrained: str | None) -> None:
    if pretrained is not None:
        raise ValueError(f"pretrained={pretrained!r} applies to an open_clip architecture name such as "
                         f"'ViT-B-32'; {name!r} names its weights itself")


# --- transformers ------------------------------------------------------------------------------

#: transformers ``model_type`` values a ``CLIPModel`` reads
CLIP_MODEL_TYPES = ("clip",)


def _transformers_clip(name: str, source: str, device: torch.device, local: bool) -> ClipModel:
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    cache = str(hub_cache_dir())
    with checkpoint_errors(source, "a transformers CLIP checkpoint (save_pretrained)"):
        model = CLIPModel.from_pretrained(source, local_files_only=local, cache_dir=cache).to(device)
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local, cache_dir=cache)
    processor = CLIPImageProcessor.from_pretrained(source, local_files_only=local, cache_dir=cache)
    max_length = model.config.text_config.max_position_embeddings

    def encode_text(texts: list[str]) -> torch.Tensor:
        tokens = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return model.get_text_features(**tokens.to(device)).pooler_output

    def preprocess(image: Any) -> torch.Tensor:
        return processor(images=image, return_tensors="pt")["pixel_values"][0]

    return ClipModel(name, model, preprocess, encode_text_batch=encode_text,
                     encode_image_batch=lambda pixels: model.get_image_features(pixel_values=pixels).pooler_output,
                     logit_scale=float(model.logit_scale.detach().exp()), device=device)


def load_transformers_clip_folder(name: str, device: torch.device, pretrained: str | None = None) -> ClipModel:
    """A transformers ``save_pretrained`` CLIP folder; a folder of another architecture is refused."""
    _no_pretrained(name, pretrained)
    folder = model_folder(name)
    kind = config_model_type(folder)
    if kind not in CLIP_MODEL_TYPES:
        hint = f"; it is a VQA model: load it with gk.load_vqa({name!r})" if kind in ("vilt", "blip") else ""
        raise ValueError(f"{folder} holds a {kind or 'untyped'!r} model (config.json model_type), not a CLIP "
                         f"(model_type in {list(CLIP_MODEL_TYPES)}){hint}")
    return _transformers_clip(name, str(folder), device, local=True)


def load_transformers_clip_hub(name: str, device: torch.device, pretrained: str | None = None) -> ClipModel:
    """A transformers CLIP from the hub, ``org/name``: from the local Hugging Face cache when its
    config and weights are there (``local_files_only``, no network), else downloaded."""
    _no_pretrained(name, pretrained)
    local = cached_snapshot(name, TRANSFORMERS_FILES) is not None
    if not local:
        require_online(name, OFFLINE_CLIP_DEFAULT)
    return _transformers_clip(name, name, device, local=local)


# --- the one entry point -----------------------------------------------------------------------

def load_clip(name: str = TINY_CLIP, device: str | torch.device | None = None, *,
              pretrained: str | None = None) -> ClipModel:
    """Load a CLIP by name; every source gives the same :class:`ClipModel` interface.

    The name is read by the first matching entry of ``registry.CLIP_LOADERS``.

    Parameters
    ----------
    name : one of
        - ``"tiny-shapes"``: the embedded tiny CLIP trained on the grounding world (offline);
        - ``"local-dir:/folder"`` or a folder with ``open_clip_config.json`` beside its weights
          (an open_clip folder, like the embedded one);
        - ``"ARCH/TAG"``, e.g. ``"ViT-B-32/laion2b_s34b_b79k"``: open_clip architecture and
          pretrained tag (model hub); ``"ARCH"`` alone builds random weights (with a warning)
          unless ``pretrained`` names a tag or a local checkpoint file;
        - ``"hf-hub:org/repo"``: open_clip from the hub;
        - a transformers CLIP: ``"openai/clip-vit-base-patch32"`` or a local ``save_pretrained`` folder.
    device : ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a ``torch.device``; None is the CPU,
        as for every loader of the kit and ``fit_head`` (the same call gives the same numbers on
        every machine; a GPU is an explicit ``device="cuda"``).
    pretrained : open_clip pretrained tag or local checkpoint path, for an ``"ARCH"`` name.

    Raises
    ------
    TypeError for a name that is not a string.
    ValueError for a blank or unknown name, an unknown or absent device, a folder or checkpoint of
    another architecture, or a file that is not a checkpoint (the file is named).
    FileNotFoundError for a missing folder or file, or a folder without a model.
    HubUnavailable (a RuntimeError) within seconds, in one line naming the offline fix, if a hub model whose files
    are not in the local Hugging Face cache is asked for and the hub is out of reach (a cached
    one loads offline, also with ``HF_HUB_OFFLINE=1``).
    """
    return load_by_name(
        CLIP_LOADERS, "load_clip", name, device, pretrained=pretrained,
        no_model=f"{{path}} holds no CLIP: expected {OPEN_CLIP_CONFIG} beside the weights (open_clip) or "
                 "config.json (transformers)",
        missing="no CLIP folder at {path}; a checkpoint file needs an architecture: "
                "load_clip('ViT-B-32', pretrained={name!r})",
        unknown=f"unknown CLIP name {{name!r}}; expected {TINY_CLIP!r}, an open_clip architecture "
                "(e.g. 'ViT-B-32/laion2b_s34b_b79k'), 'hf-hub:org/repo', 'local-dir:FOLDER', a "
                "transformers name ('org/name') or a local folder")
