"""``load_clip``: one CLIP object over the embedded tiny model, open_clip and transformers.

Whatever the source, :class:`ClipModel` encodes texts and images into L2-normalised (N, D)
tensors and scores them with CLIP's scaled cosine.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from tqdm.auto import tqdm

from ..hub import require_hub
from ..paths import configs_dir
from ..validation import describe
from .registry import OFFLINE_CLIP_DEFAULT, TINY_CLIP, embedded_path
from .tokenizer import WordTokenizer

PROGRESS_MIN = 256  # show a progress bar from this many inputs on


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
            pixels = torch.stack([self.preprocess(_rgb(img)) for img in batch]).to(self.device)
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
        return self.logit_scale * self.encode_texts(texts) @ self.encode_images(images).T

    def weights_hash(self) -> str:
        """A SHA-256 prefix of every weight tensor (computed once): the model's identity in caches."""
        if self._weights_hash is None:
            digest = hashlib.sha256()
            for key, tensor in sorted(self.module.state_dict().items()):
                digest.update(key.encode())
                digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
            self._weights_hash = digest.hexdigest()[:16]
        return self._weights_hash


def _rgb(image: Any) -> Any:
    if not hasattr(image, "convert"):
        raise TypeError(f"expected a PIL image, got {describe(image)}")
    return image if image.mode == "RGB" else image.convert("RGB")


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# --- open_clip ---------------------------------------------------------------------------------

def _from_open_clip(name: str, model: torch.nn.Module, preprocess: Callable, tokenizer: Callable,
                    device: torch.device) -> ClipModel:
    model = model.to(device)
    return ClipModel(
        name, model, preprocess,
        encode_text_batch=lambda texts: model.encode_text(tokenizer(texts).to(device)),
        encode_image_batch=lambda pixels: model.encode_image(pixels),
        logit_scale=float(model.logit_scale.detach().exp()), device=device)


def register_tiny_config() -> str:
    """Register the embedded architecture JSON(s) with open_clip; return the tiny CLIP's arch name."""
    import open_clip

    open_clip.add_model_config(configs_dir())
    return TINY_CLIP


def tiny_tokenizer(folder: Path) -> WordTokenizer:
    return WordTokenizer.load(Path(folder) / "vocab.json")


def load_tiny_clip(folder: Path | None = None, device: str | torch.device | None = None,
                   name: str = TINY_CLIP) -> ClipModel:
    """The embedded tiny CLIP from ``folder`` (``model.safetensors`` + ``vocab.json``)."""
    import open_clip

    folder = Path(folder) if folder is not None else embedded_path(TINY_CLIP)
    weights = folder / "model.safetensors"
    if not weights.exists():
        raise FileNotFoundError(f"no weights for {name!r} at {weights}; "
                                "rebuild them with `grounding-kit train tiny-clip`")
    model, _, preprocess = open_clip.create_model_and_transforms(register_tiny_config(), pretrained=str(weights))
    return _from_open_clip(name, model, preprocess, tiny_tokenizer(folder), _device(device))


def _load_open_clip(name: str, arch: str, pretrained: str | None, device: torch.device) -> ClipModel:
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=pretrained, device=device)
    tokenizer = open_clip.get_tokenizer(arch)
    return _from_open_clip(name, model, preprocess, tokenizer, device)


# --- transformers ------------------------------------------------------------------------------

def _load_transformers_clip(name: str, source: str, device: torch.device, local: bool) -> ClipModel:
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    model = CLIPModel.from_pretrained(source, local_files_only=local).to(device)
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
    processor = CLIPImageProcessor.from_pretrained(source, local_files_only=local)
    max_length = model.config.text_config.max_position_embeddings

    def encode_text(texts: list[str]) -> torch.Tensor:
        tokens = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return model.get_text_features(**tokens.to(device)).pooler_output

    def preprocess(image: Any) -> torch.Tensor:
        return processor(images=image, return_tensors="pt")["pixel_values"][0]

    return ClipModel(name, model, preprocess, encode_text_batch=encode_text,
                     encode_image_batch=lambda pixels: model.get_image_features(pixel_values=pixels).pooler_output,
                     logit_scale=float(model.logit_scale.detach().exp()), device=device)


# --- the one entry point -----------------------------------------------------------------------

def load_clip(name: str = TINY_CLIP, device: str | torch.device | None = None, *,
              pretrained: str | None = None) -> ClipModel:
    """Load a CLIP by name; every source gives the same :class:`ClipModel` interface.

    Parameters
    ----------
    name : one of
        - ``"tiny-shapes"``: the embedded tiny CLIP trained on the grounding world (offline);
        - ``"ARCH/TAG"``, e.g. ``"ViT-B-32/laion2b_s34b_b79k"``: open_clip architecture and
          pretrained tag (model hub); ``"ARCH"`` alone builds random weights (with a warning)
          unless ``pretrained`` names a tag or a local checkpoint file;
        - ``"hf-hub:org/repo"`` (open_clip from the hub) or ``"local-dir:/folder"`` (open_clip folder);
        - a transformers CLIP: ``"openai/clip-vit-base-patch32"`` or a local ``save_pretrained`` folder.
    device : where to put the weights (default: CUDA if available, else CPU).
    pretrained : open_clip pretrained tag or local checkpoint path, for an ``"ARCH"`` name.

    Raises
    ------
    RuntimeError within seconds if a hub model is asked for and the hub is out of reach.
    ValueError for a name no source knows.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {describe(name)}")
    dev = _device(device)
    if name == TINY_CLIP:
        return load_tiny_clip(device=dev)
    import open_clip

    arch_names = set(open_clip.list_models())
    if name.startswith("local-dir:"):
        return _load_open_clip(name, name, None, dev)
    if name.startswith("hf-hub:"):
        require_hub(name, OFFLINE_CLIP_DEFAULT)
        return _load_open_clip(name, name, None, dev)
    if name in arch_names:
        if pretrained is None:
            warnings.warn(f"load_clip({name!r}) with pretrained=None builds RANDOM weights; "
                          f"pass e.g. {name + '/' + (open_clip.list_pretrained_tags_by_model(name) or ['TAG'])[0]!r} "
                          "for a trained model", UserWarning, stacklevel=2)
        elif not Path(pretrained).exists():
            require_hub(f"{name}/{pretrained}", OFFLINE_CLIP_DEFAULT)
        return _load_open_clip(name, name, pretrained, dev)
    arch, _, tag = name.partition("/")
    if tag and arch in arch_names:
        if not Path(tag).exists():
            require_hub(name, OFFLINE_CLIP_DEFAULT)
        return _load_open_clip(name, arch, tag, dev)
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "open_clip_config.json").exists():
            return _load_open_clip(name, f"local-dir:{path}", None, dev)
        if (path / "config.json").exists():
            return _load_transformers_clip(name, str(path), dev, local=True)
        if (path / "model.safetensors").exists() and (path / "vocab.json").exists():
            return load_tiny_clip(path, dev, name=name)
        raise FileNotFoundError(f"{path} holds no CLIP: expected config.json (transformers), "
                                "open_clip_config.json (open_clip) or model.safetensors + vocab.json (tiny)")
    if path.exists() or name.startswith((".", "/", "~")):
        raise FileNotFoundError(f"no CLIP folder at {path}; a checkpoint file needs an architecture: "
                                f"load_clip('ViT-B-32', pretrained={name!r})")
    if name.count("/") == 1:
        require_hub(name, OFFLINE_CLIP_DEFAULT)
        return _load_transformers_clip(name, name, dev, local=False)
    raise ValueError(f"unknown CLIP name {name!r}; expected {TINY_CLIP!r}, an open_clip architecture "
                     f"(e.g. 'ViT-B-32/laion2b_s34b_b79k'), 'hf-hub:org/repo', a transformers name "
                     f"('org/name') or a local folder")
