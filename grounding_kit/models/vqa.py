"""``load_vqa``: question answering over the embedded tiny ViLT and transformers checkpoints.

:class:`VqaModel` answers row-aligned (image, question) pairs. ViLT is single-stream (the
question tokens and image patches attend to each other from the first layer on), so its pair
logits have no factorization; for the EMAP engine it exposes ``pair_inputs`` (each question
tokenized once, each image preprocessed once) and ``pair_model`` (a generic pair model).

Labels and predictions meet as answer strings. A task's labels index its answer vocabulary
(``world.VQA_ANSWERS`` for the grounding world); a ViLT's classifier indexes its own
(``config.id2label``: 15 answers for the tiny ViLT, 3,129 for ``dandelin/vilt-b32-finetuned-vqa``).
:class:`VqaModel` maps each label answer to the model's own index once, at load time, and every
score it gives (``logits``, ``pair_model``, ``answer``) is over the label answers, in their order:
``logits[:, a]`` is the model's logit for the string ``answers[a]``, gathered from its vocabulary.
An answer the model's vocabulary lacks is refused by name when the model is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from tqdm.auto import tqdm

from grounding_kit.models.features import Features
from grounding_kit.models.hub_cache import TRANSFORMERS_FILES, cached_snapshot, hub_cache_dir, require_online
from grounding_kit.core.validation import check_consistent_length, check_positive_int, describe
from grounding_kit.models._internal import PROGRESS_MIN, checkpoint_errors, config_model_type, rgb
from grounding_kit.models.registry import OFFLINE_VQA_DEFAULT, TINY_VQA, VQA_LOADERS, embedded_path, load_by_name, model_folder

BLIP_QUESTION_TOKENS = 32  # questions are padded or cut to this many tokens for BLIP


class _PairModel:
    """A VQA model as a generic pair model: ``f(input_ids (B, L), pixels (B, 4, H, W)) -> (B, A)``.

    ``pixels`` holds the normalised RGB channels and the pixel mask as a fourth channel, so one
    tensor carries images of any size padded to a common one. Pairs run in batches, no gradients.
    """

    structure = "generic"

    def __init__(self, module: torch.nn.Module, pad_id: int, n_answers: int, batch_size: int = 64) -> None:
        self.module = module
        self.pad_id = pad_id
        self.n_answers = n_answers  # A, the label answers the logits score
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        check_consistent_length(text_batch=input_ids, image_batch=pixels)
        if input_ids.ndim != 2 or pixels.ndim != 4 or pixels.shape[1] != 4:
            raise ValueError(f"expected input_ids (B, L) and pixels (B, 4, H, W) from pair_inputs; got "
                             f"{describe(input_ids)} and {describe(pixels)}")
        device = next(self.module.parameters()).device
        out = [self.batch_logits(input_ids[start:start + self.batch_size].to(device),
                                 pixels[start:start + self.batch_size].to(device)).float().cpu()
               for start in range(0, len(input_ids), self.batch_size)]
        return torch.cat(out) if out else torch.empty(0, self.n_answers)

    def batch_logits(self, ids: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ViltPairModel(_PairModel):
    """ViLT's VQA classifier logits over the label answers (single stream: no factorization).

    ``answer_ids`` (A,) holds each label answer's index in the model's own vocabulary
    (``config.id2label``); the logits (B, A) are the classifier's (B, V) gathered at those indices,
    so ``logits[:, a]`` scores label answer ``a`` whatever the model's vocabulary.
    """

    def __init__(self, module: torch.nn.Module, pad_id: int, answer_ids: torch.Tensor, batch_size: int = 64) -> None:
        super().__init__(module, pad_id, len(answer_ids), batch_size)
        self.answer_ids = answer_ids

    def batch_logits(self, ids: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        return self._answers(self.module.classifier(self._encode(ids, pixels).pooler_output))

    def _answers(self, vocabulary_logits: torch.Tensor) -> torch.Tensor:
        """(B, V) logits over the model's vocabulary -> (B, A) over the label answers."""
        return vocabulary_logits.index_select(-1, self.answer_ids.to(vocabulary_logits.device))

    def _encode(self, ids: torch.Tensor, pixels: torch.Tensor) -> Any:
        # ViLT's visual embedding shuffles the image patches with torch.multinomial on the CPU
        # generator; a fixed seed per call makes the logits a function of the inputs alone (the
        # same pairs give bit-identical logits in any process, e.g. on Dask workers).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return self.module.vilt(input_ids=ids, attention_mask=(ids != self.pad_id).long(),
                                    token_type_ids=torch.zeros_like(ids), pixel_values=pixels[:, :3],
                                    pixel_mask=pixels[:, 3].long())

    def batch_outputs(self, ids: torch.Tensor, pixels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(logits (B, A) over the label answers, pooled (B, D), image_tokens (B, P, D), patches (B, P, 2))``,
        with gradients.

        ``image_tokens`` are the last layer's states of the P image patches (after ViLT's image
        [CLS]) and ``patches[b, p]`` the (row, column) of the patch that token ``p`` holds (ViLT
        shuffles them); the training recipe's grounding losses read them.
        """
        out = self._encode(ids, pixels)
        vilt = self.module.vilt
        with torch.random.fork_rng(devices=[]):  # the same draw again, to see which patch each token holds
            torch.manual_seed(0)
            patches = vilt.embeddings.visual_embed(pixels[:, :3], pixels[:, 3].long(),
                                                   max_image_length=vilt.config.max_image_length)[2][0]
        return (self._answers(self.module.classifier(out.pooler_output)), out.pooler_output,
                out.last_hidden_state[:, ids.shape[1] + 1:], patches)


class BlipPairModel(_PairModel):
    """BLIP VQA (generative) scored over a closed list of candidate answers.

    ``logits[b, a]`` is the log-likelihood of answer ``a`` under BLIP's answer decoder given the
    question and the image (teacher forcing from the decoder's start token to the end token),
    as in BLIP's own ranking evaluation of VQA.
    """

    def __init__(self, module: torch.nn.Module, pad_id: int, candidates: torch.Tensor,
                 batch_size: int = 16) -> None:
        super().__init__(module, pad_id, len(candidates), batch_size)
        self.candidates = candidates.clone()
        self.candidates[:, 0] = module.decoder_start_token_id
        self.candidate_mask = (candidates != pad_id).long()

    def batch_logits(self, ids: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        module, n_answers = self.module, len(self.candidates)
        image = module.vision_model(pixel_values=pixels[:, :3]).last_hidden_state
        mask = (ids != self.pad_id).long()
        question = module.text_encoder(input_ids=ids, attention_mask=mask, encoder_hidden_states=image,
                                       encoder_attention_mask=torch.ones(image.shape[:2], dtype=torch.long,
                                                                         device=image.device)).last_hidden_state
        answers = self.candidates.to(ids.device).repeat(len(ids), 1)
        answer_mask = self.candidate_mask.to(ids.device).repeat(len(ids), 1)
        scores = module.text_decoder(input_ids=answers, attention_mask=answer_mask,
                                     encoder_hidden_states=question.repeat_interleave(n_answers, 0),
                                     encoder_attention_mask=mask.repeat_interleave(n_answers, 0),
                                     return_logits=True)  # (B * A, La - 1, V): predictions of tokens 1..
        token_logp = scores.log_softmax(-1).gather(-1, answers[:, 1:, None])[..., 0]
        return (token_logp * answer_mask[:, 1:]).sum(-1).view(len(ids), n_answers)


class VqaModel:
    """A VQA model scored over a closed list of label answers.

    Attributes
    ----------
    name : the name it was loaded by.
    module : the transformers model.
    answers : list of A answer strings, the ones a task's labels index (default the world's
        ``VQA_ANSWERS``); ``logits[:, a]`` scores ``answers[a]``, and a label ``y`` means ``answers[y]``.
    vocabulary : the model's own answer strings (a ViLT's ``config.id2label``, V of them; for BLIP
        the label answers); ``answers[a]`` is ``vocabulary[answer_ids[a]]``.
    answer_ids : (A,) long tensor, each label answer's index in ``vocabulary``.
    pair_model : generic pair model over :meth:`pair_inputs` (for EMAP), logits over ``answers``.
    device : torch.device of the weights.
    """

    def __init__(self, name: str, module: torch.nn.Module, processor: Any, device: torch.device,
                 pair_model: _PairModel, answers: list[str], max_length: int,
                 probabilities: Callable[[torch.Tensor], torch.Tensor], vocabulary: list[str] | None = None) -> None:
        self.name = name
        self.module = module.eval()
        self.processor = processor
        self.device = device
        self.pair_model = pair_model
        self.answers = list(answers)
        self.vocabulary = list(answers if vocabulary is None else vocabulary)
        self.answer_ids = torch.tensor([self.vocabulary.index(a) for a in self.answers], dtype=torch.long)
        self.max_length = max_length
        self._probabilities = probabilities

    def __repr__(self) -> str:
        return f"VqaModel(name={self.name!r}, answers={len(self.answers)}, device={self.device})"

    def encode_questions(self, questions: Sequence[str]) -> torch.Tensor:
        """Token ids (N, L), padded to the model's text length."""
        _check_questions(questions)
        return self.processor.tokenizer(list(questions), padding="max_length", truncation=True,
                                        max_length=self.max_length, return_tensors="pt")["input_ids"]

    def encode_images(self, images: Sequence[Any]) -> torch.Tensor:
        """Preprocessed images (N, 4, H, W): normalised RGB plus the pixel mask."""
        if isinstance(images, (str, bytes)) or not hasattr(images, "__len__"):
            raise TypeError(f"images must be a list of PIL images, got {describe(images)}")
        images = [rgb(img) for img in images]
        out = self.processor.image_processor(images, return_tensors="pt")
        pixels = out["pixel_values"]
        mask = out["pixel_mask"].float() if "pixel_mask" in out else pixels.new_ones(len(pixels), *pixels.shape[2:])
        return torch.cat([pixels, mask[:, None]], dim=1)

    def pair_inputs(self, images: Sequence[Any], questions: Sequence[str]) -> Features:
        """``Features(text=input_ids (N, L), image=pixels (N, 4, H, W))`` for :attr:`pair_model`.

        Pass them to the EMAP engine with ``pair_model``: all question x image pairs are then
        evaluated with each question tokenized once and each image preprocessed once.
        """
        _check_questions(questions)
        check_consistent_length(images=images, questions=questions)
        return Features(text=self.encode_questions(questions), image=self.encode_images(images))

    def logits(self, images: Sequence[Any], questions: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Logits (B, A) over the label :attr:`answers` of the row-aligned pairs ``(images[b], questions[b])``."""
        _check_questions(questions)
        check_consistent_length(images=images, questions=questions)
        batch_size = check_positive_int("batch_size", batch_size)
        chunks = []
        for start in tqdm(range(0, len(images), batch_size), desc="answering",
                          disable=len(images) < PROGRESS_MIN):
            inputs = self.pair_inputs(images[start:start + batch_size], questions[start:start + batch_size])
            chunks.append(self.pair_model(inputs.text, inputs.image))
        return torch.cat(chunks) if chunks else torch.empty(0, len(self.answers))

    def answer(self, images: Sequence[Any], questions: Sequence[str], top_k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``top_k`` label answers of each pair with their probabilities (softmax over the label
        answers for single-label models and BLIP, per-answer sigmoid for multi-label ViLT such as
        the hub's)."""
        top_k = min(check_positive_int("top_k", top_k), len(self.answers))
        probs = self._probabilities(self.logits(images, questions))
        values, index = probs.topk(top_k, dim=-1)
        return [[(self.answers[int(i)], round(float(p), 4)) for p, i in zip(row_p, row_i)]
                for row_p, row_i in zip(values, index)]


def _check_questions(questions: Any) -> None:
    if isinstance(questions, str) or not hasattr(questions, "__len__") or \
            not all(isinstance(q, str) for q in questions):
        raise TypeError(f"questions must be a list of strings, got {describe(questions)}")


def load_vilt(source: str | Path, device: torch.device, name: str, local: bool = True,
              answers: Sequence[str] | None = None) -> VqaModel:
    """A ViLT VQA model and its processor from a ``save_pretrained`` folder or a hub name.

    Probabilities are softmax for a model trained as single-label (``problem_type``), else
    sigmoid, ViLT's VQA objective.
    """
    from transformers import ViltForQuestionAnswering, ViltProcessor

    with checkpoint_errors(source, "a transformers ViLT VQA checkpoint (save_pretrained)"):
        module = ViltForQuestionAnswering.from_pretrained(str(source), local_files_only=local,
                                                          cache_dir=str(hub_cache_dir())).to(device)
    processor = ViltProcessor.from_pretrained(str(source), local_files_only=local, cache_dir=str(hub_cache_dir()))
    return wrap_vilt(name, module, processor, device, answers)


def wrap_vilt(name: str, module: torch.nn.Module, processor: Any, device: torch.device,
              answers: Sequence[str] | None = None) -> VqaModel:
    """A :class:`VqaModel` over a ``ViltForQuestionAnswering`` and its ``ViltProcessor``, scored over
    ``answers`` (default the world's ``VQA_ANSWERS``), each mapped into the model's ``id2label``.

    Raises
    ------
    ValueError naming the answers the model's vocabulary lacks.
    """
    config = module.config
    single = config.problem_type == "single_label_classification"
    vocabulary = [str(config.id2label[i]) for i in range(config.num_labels)]
    answers = label_answers(answers)
    index = {answer: i for i, answer in reversed(list(enumerate(vocabulary)))}  # the first of duplicates
    missing = [a for a in answers if a not in index]
    if missing:
        raise ValueError(f"{name}: the model's answer vocabulary ({len(vocabulary)} answers, config.id2label) lacks "
                         f"{missing} of the {len(answers)} answers the labels index; its scores cannot be compared "
                         "with such labels. Pass answers= with answers it has, or use a model that knows them "
                         f"(the world's: {TINY_VQA!r})")
    answer_ids = torch.tensor([index[a] for a in answers], dtype=torch.long)
    return VqaModel(name, module, processor, device,
                    ViltPairModel(module, processor.tokenizer.pad_token_id, answer_ids),
                    answers, int(config.max_position_embeddings),
                    (lambda x: x.softmax(-1)) if single else torch.sigmoid, vocabulary=vocabulary)


def load_blip(source: str | Path, device: torch.device, name: str, answers: Sequence[str],
              local: bool = True) -> VqaModel:
    """A BLIP VQA model scored over ``answers`` (softmax of the answers' log-likelihoods)."""
    from transformers import BlipForQuestionAnswering, BlipProcessor

    with checkpoint_errors(source, "a transformers BLIP VQA checkpoint (save_pretrained)"):
        module = BlipForQuestionAnswering.from_pretrained(str(source), local_files_only=local,
                                                          cache_dir=str(hub_cache_dir())).to(device)
    processor = BlipProcessor.from_pretrained(str(source), local_files_only=local, cache_dir=str(hub_cache_dir()))
    pad_id = processor.tokenizer.pad_token_id
    candidates = processor.tokenizer(list(answers), padding=True, return_tensors="pt")["input_ids"]
    return VqaModel(name, module, processor, device, BlipPairModel(module, pad_id, candidates), list(answers),
                    BLIP_QUESTION_TOKENS, lambda x: x.softmax(-1))


#: transformers ``model_type`` of the VQA folders ``load_vqa`` reads
VQA_MODEL_TYPES = ("vilt", "blip")


def load_vqa_folder(name: str, device: torch.device, answers: Sequence[str] | None = None,
                    folder: Path | None = None) -> VqaModel:
    """A ViLT or BLIP VQA ``save_pretrained`` folder; a folder of another architecture is refused."""
    folder = folder if folder is not None else model_folder(name)
    kind = config_model_type(folder)
    if kind == "vilt":
        return load_vilt(folder, device, name, answers=answers)
    if kind == "blip":
        return load_blip(folder, device, name, label_answers(answers))
    hint = f"; it is a CLIP: load it with gk.load_clip({name!r})" if kind == "clip" else ""
    raise ValueError(f"{folder} holds a {kind or 'untyped'!r} model (config.json model_type); load_vqa reads "
                     f"ViLT and BLIP VQA folders (model_type in {list(VQA_MODEL_TYPES)}){hint}")


def load_embedded_vqa(name: str, device: torch.device, answers: Sequence[str] | None = None) -> VqaModel:
    """The embedded tiny ViLT, ``data/models/tiny-shapes-vqa``."""
    folder = embedded_path(name)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"no weights for {name!r} at {folder}; rebuild them with `grounding-kit train tiny-vqa`")
    return load_vqa_folder(name, device, answers, folder=folder)


def refuse_clip_folder(name: str, device: torch.device, answers: Sequence[str] | None = None) -> VqaModel:
    """Refuse an open_clip folder: a CLIP scores image-text pairs, it answers no questions."""
    raise ValueError(f"{model_folder(name)} holds an open_clip CLIP (open_clip_config.json), not a VQA model; "
                     f"load it with gk.load_clip({name!r}), or give load_vqa a ViLT or BLIP folder")


def load_vqa_hub(name: str, device: torch.device, answers: Sequence[str] | None = None) -> VqaModel:
    """A ViLT (or, with "blip" in the name, BLIP) VQA model from the hub, ``org/name``: from the
    local Hugging Face cache when its config and weights are there (``local_files_only``, no
    network), else downloaded (:mod:`~grounding_kit.models.hub_cache`)."""
    local = cached_snapshot(name, TRANSFORMERS_FILES) is not None
    if not local:
        require_online(name, OFFLINE_VQA_DEFAULT)
    if "blip" in name.lower():
        return load_blip(name, device, name, label_answers(answers), local=local)
    return load_vilt(name, device, name, local=local, answers=answers)


def load_vqa(name: str = TINY_VQA, device: str | torch.device | None = None, *,
             answers: Sequence[str] | None = None) -> VqaModel:
    """Load a VQA model by name (the first matching entry of ``registry.VQA_LOADERS``).

    Parameters
    ----------
    name : ``"tiny-shapes-vqa"`` (embedded ViLT trained on the grounding world, offline), a local
        ``save_pretrained`` folder of a ViLT or BLIP VQA model, or a hub name such as
        ``"dandelin/vilt-b32-finetuned-vqa"`` or ``"Salesforce/blip-vqa-base"`` (model hub).
    device : ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a ``torch.device``; None is the CPU,
        as for every loader of the kit and ``fit_head`` (the same call gives the same numbers on
        every machine; a GPU is an explicit ``device="cuda"``).
    answers : the answer strings a task's labels index (default: the grounding world's
        ``VQA_ANSWERS``). Every score the model gives is over these, in this order: a ViLT's own
        vocabulary (``id2label``) is mapped onto them by string (one it lacks is refused, by name);
        a generative BLIP is scored over them as candidates.

    Raises
    ------
    TypeError for a name that is not a string or answers that are not strings; ValueError for a
    blank or unknown name, an unknown or absent device, a folder of another architecture (e.g. a
    CLIP), a file that is not a checkpoint (the file is named) or label answers the model's
    vocabulary lacks (named); FileNotFoundError for a missing folder or one without a
    model; HubUnavailable (a RuntimeError) within seconds, in one line naming the offline fix, for a hub name whose
    files are not in the local Hugging Face cache when the hub is out of reach (a cached one
    loads offline, also with ``HF_HUB_OFFLINE=1``).
    """
    return load_by_name(
        VQA_LOADERS, "load_vqa", name, device, answers=answers,
        no_model="{path} holds no VQA model: expected config.json (with model_type 'vilt' or 'blip') beside the "
                 "weights and the processor files of a transformers save_pretrained folder",
        missing="no VQA model folder at {path}; expected a folder with config.json beside the weights "
                "(a transformers save_pretrained folder)",
        unknown=f"unknown VQA name {{name!r}}; expected {TINY_VQA!r}, a ViLT or BLIP folder or a hub name like "
                "'dandelin/vilt-b32-finetuned-vqa'")


def label_answers(answers: Sequence[str] | None) -> list[str]:
    """``answers`` as a list of distinct strings; None is the world's ``VQA_ANSWERS``."""
    if answers is None:
        from grounding_kit.world import VQA_ANSWERS

        return list(VQA_ANSWERS)
    if isinstance(answers, str) or not answers or not all(isinstance(a, str) for a in answers):
        raise TypeError(f"answers must be a non-empty list of strings, got {describe(answers)}")
    if len(set(answers)) < len(answers):
        raise ValueError(f"answers must be distinct strings; {sorted({a for a in answers if list(answers).count(a) > 1})} "
                         "appear more than once")
    return list(answers)
