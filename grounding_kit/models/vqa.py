"""``load_vqa``: question answering over the embedded tiny ViLT and transformers checkpoints.

:class:`VqaModel` answers row-aligned (image, question) pairs. ViLT is single-stream (the
question tokens and image patches attend to each other from the first layer on), so its pair
logits have no factorization; for the EMAP engine it exposes ``pair_inputs`` (each question
tokenized once, each image preprocessed once) and ``pair_model`` (a generic pair model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from tqdm.auto import tqdm

from ..features import Features
from ..hub import require_hub
from ..validation import check_consistent_length, check_positive_int, describe
from .clip import PROGRESS_MIN, _device, _rgb
from .registry import OFFLINE_VQA_DEFAULT, TINY_VQA, embedded_path


class ViltPairModel:
    """ViLT as a generic pair model: ``f(input_ids (B, L), pixels (B, 4, H, W)) -> (B, A)``.

    ``pixels`` holds the normalised RGB channels and the pixel mask as a fourth channel, so one
    tensor carries an image of any size padded to a common one.
    """

    structure = "generic"

    def __init__(self, module: torch.nn.Module, pad_id: int, batch_size: int = 64) -> None:
        self.module = module
        self.pad_id = pad_id
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        check_consistent_length(text_batch=input_ids, image_batch=pixels)
        if input_ids.ndim != 2 or pixels.ndim != 4 or pixels.shape[1] != 4:
            raise ValueError(f"expected input_ids (B, L) and pixels (B, 4, H, W) from pair_inputs; got "
                             f"{describe(input_ids)} and {describe(pixels)}")
        device = next(self.module.parameters()).device
        out = []
        for start in range(0, len(input_ids), self.batch_size):
            ids = input_ids[start:start + self.batch_size].to(device)
            pix = pixels[start:start + self.batch_size].to(device)
            out.append(self.module(input_ids=ids, attention_mask=(ids != self.pad_id).long(),
                                   token_type_ids=torch.zeros_like(ids), pixel_values=pix[:, :3],
                                   pixel_mask=pix[:, 3].long()).logits.float().cpu())
        return torch.cat(out) if out else torch.empty(0, self.module.config.num_labels)


class VqaModel:
    """A VQA model over a closed answer vocabulary.

    Attributes
    ----------
    name : the name it was loaded by.
    module : the transformers model.
    answers : list of A answer strings; ``logits[:, a]`` scores ``answers[a]``.
    pair_model : generic pair model over :meth:`pair_inputs` (for EMAP).
    device : torch.device of the weights.
    """

    def __init__(self, name: str, module: torch.nn.Module, processor: Any, device: torch.device,
                 probabilities: Callable[[torch.Tensor], torch.Tensor] = torch.sigmoid) -> None:
        self.name = name
        self.module = module.eval()
        self.processor = processor
        self.device = device
        config = module.config
        self.answers = [config.id2label[i] for i in range(config.num_labels)]
        self.max_length = int(config.max_position_embeddings)
        self.pair_model = ViltPairModel(module, processor.tokenizer.pad_token_id)
        self._probabilities = probabilities

    def __repr__(self) -> str:
        return f"VqaModel(name={self.name!r}, answers={len(self.answers)}, device={self.device})"

    def encode_questions(self, questions: Sequence[str]) -> torch.Tensor:
        """Token ids (N, L), padded to the model's text length."""
        if isinstance(questions, str) or not all(isinstance(q, str) for q in questions):
            raise TypeError(f"questions must be a list of strings, got {describe(questions)}")
        return self.processor.tokenizer(list(questions), padding="max_length", truncation=True,
                                        max_length=self.max_length, return_tensors="pt")["input_ids"]

    def encode_images(self, images: Sequence[Any], batch_size: int = 256) -> torch.Tensor:
        """Preprocessed images (N, 4, H, W): normalised RGB plus the pixel mask."""
        if isinstance(images, (str, bytes)) or not hasattr(images, "__len__"):
            raise TypeError(f"images must be a list of PIL images, got {describe(images)}")
        images = [_rgb(img) for img in images]
        out = self.processor.image_processor(images, return_tensors="pt")
        return torch.cat([out["pixel_values"], out["pixel_mask"][:, None].float()], dim=1)

    def pair_inputs(self, images: Sequence[Any], questions: Sequence[str]) -> Features:
        """``Features(text=input_ids (N, L), image=pixels (N, 4, H, W))`` for :attr:`pair_model`.

        Pass them to the EMAP engine with ``pair_model``: all question x image pairs are then
        evaluated with each question tokenized once and each image preprocessed once.
        """
        check_consistent_length(images=images, questions=questions)
        return Features(text=self.encode_questions(questions), image=self.encode_images(images))

    def logits(self, images: Sequence[Any], questions: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Answer logits (B, A) of the row-aligned pairs ``(images[b], questions[b])``."""
        check_consistent_length(images=images, questions=questions)
        batch_size = check_positive_int("batch_size", batch_size)
        chunks = []
        for start in tqdm(range(0, len(images), batch_size), desc="answering",
                          disable=len(images) < PROGRESS_MIN):
            inputs = self.pair_inputs(images[start:start + batch_size], questions[start:start + batch_size])
            chunks.append(self.pair_model(inputs.text, inputs.image))
        return torch.cat(chunks) if chunks else torch.empty(0, len(self.answers))

    def answer(self, images: Sequence[Any], questions: Sequence[str], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``top_k`` answers of each pair with their probabilities (sigmoid, as ViLT's VQA head)."""
        top_k = min(check_positive_int("top_k", top_k), len(self.answers))
        probs = self._probabilities(self.logits(images, questions))
        values, index = probs.topk(top_k, dim=-1)
        return [[(self.answers[int(i)], round(float(p), 4)) for p, i in zip(row_p, row_i)]
                for row_p, row_i in zip(values, index)]


def load_vilt(source: str | Path, device: torch.device, name: str, local: bool = True) -> VqaModel:
    """A ViLT VQA model and its processor from a ``save_pretrained`` folder or a hub name."""
    from transformers import ViltForQuestionAnswering, ViltProcessor

    module = ViltForQuestionAnswering.from_pretrained(str(source), local_files_only=local).to(device)
    processor = ViltProcessor.from_pretrained(str(source), local_files_only=local)
    return VqaModel(name, module, processor, device)


def _model_type(folder: Path) -> str:
    import json

    return json.loads((folder / "config.json").read_text()).get("model_type", "")


def load_vqa(name: str = TINY_VQA, device: str | torch.device | None = None) -> VqaModel:
    """Load a VQA model by name.

    Parameters
    ----------
    name : ``"tiny-shapes-vqa"`` (embedded ViLT trained on the grounding world, offline), a local
        ``save_pretrained`` folder of a ViLT VQA model, or a hub name such as
        ``"dandelin/vilt-b32-finetuned-vqa"`` (needs the model hub).
    device : default CUDA if available, else CPU.

    Raises
    ------
    RuntimeError within seconds for a hub name when the hub is out of reach; FileNotFoundError
    for a missing embedded folder; ValueError for a folder or name of another kind.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {describe(name)}")
    dev = _device(device)
    if name == TINY_VQA:
        folder = embedded_path(TINY_VQA)
        if not (folder / "config.json").exists():
            raise FileNotFoundError(f"no weights for {name!r} at {folder}; "
                                    "rebuild them with `grounding-kit train tiny-vqa`")
        return load_vilt(folder, dev, name)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"{path} holds no transformers model (no config.json)")
        kind = _model_type(path)
        if kind != "vilt":
            raise ValueError(f"{path} holds a {kind!r} model; load_vqa reads ViLT VQA folders")
        return load_vilt(path, dev, name)
    if path.exists() or name.startswith((".", "/", "~")):
        raise FileNotFoundError(f"no VQA model folder at {path}")
    if name.count("/") == 1:
        require_hub(name, OFFLINE_VQA_DEFAULT)
        return load_vilt(name, dev, name, local=False)
    raise ValueError(f"unknown VQA name {name!r}; expected {TINY_VQA!r}, a ViLT folder or a hub name "
                     "like 'dandelin/vilt-b32-finetuned-vqa'")
