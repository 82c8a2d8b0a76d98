"""Heads on (text, image) features: pair models ``f(text_batch, image_batch) -> (B, C) logits``.

=================  ===================================  ==========================================
kind               model                                structure (EMAP's fastest exact path)
=================  ===================================  ==========================================
additive           logistic regression on [t; v]        bilinear, rank 0: W_t t + W_v v + b
additive-mlp       f_t(t) + f_v(v), two MLPs            bilinear, rank 0: only the two biases
interactive        MLP on [t; v] (one hidden layer)     first-layer-linear
product            MLP on [t * v; t; v]                 generic (t * v mixes the modalities before
                                                        the first nonlinearity)
bilinear           t^T W_c v (rank R) + linear terms    bilinear, rank R
clip-zero-shot     [0, a * cos(t, v) + b]               bilinear, rank D
=================  ===================================  ==========================================

``clip-zero-shot`` learns no features: its two scalars (the temperature ``a`` and the threshold
``b``) are only calibrated on the labels of a two-class (no/yes) match task.

:func:`fit_head` trains any kind with Adam on minibatches, keeps a validation split, stops early
when the validation loss stops improving and restores the best epoch. Labels are class ids
(N,) or multi-hot floats (N, C) (e.g. VQA answers; binary cross-entropy).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from grounding_kit.models.features import Features
from grounding_kit.models.contract import BILINEAR, FIRST_LAYER_LINEAR, GENERIC, BilinearFactors
from grounding_kit.core.threads import single_thread
from grounding_kit.models._internal import model_device
from grounding_kit.core.validation import NotFittedError, check_choice, check_consistent_length, check_finite, check_fraction, \
    check_labels, check_positive_int, describe, seed_int

HEAD_KINDS = ("additive", "additive-mlp", "interactive", "product", "bilinear", "clip-zero-shot")
HEAD_FORMAT = "grounding_kit.Head"
HEAD_CONFIG = "config.json"
HEAD_WEIGHTS = "model.safetensors"
#: the attributes :meth:`Head.fit` sets (and :meth:`Head.from_pretrained` reads from ``config.json``)
FITTED_ATTRIBUTES = ("text_dim_", "image_dim_", "n_classes_", "multilabel_", "history_")


class Head(nn.Module):
    """Base class: a pair model on features, built on its first :meth:`fit`.

    Attributes
    ----------
    hidden, rank : the hyperparameters it was made with.

    Fitted attributes (as in scikit-learn, they exist only after :meth:`fit`, or on a head loaded
    with :meth:`from_pretrained` / :func:`load_head`; before, reading one raises
    :class:`~grounding_kit.core.validation.NotFittedError`):

    text_dim_, image_dim_, n_classes_ : the shapes it was fitted on.
    multilabel_ : whether it was fitted on multi-hot labels (binary cross-entropy).
    history_ : dict with per-epoch ``train_loss`` and ``val_loss``, ``best_epoch``, ``val_accuracy``.

    A fitted head saves as a folder, ``head.save_pretrained(folder)`` (``config.json`` with the
    kind, dimensions and hyperparameters, and ``model.safetensors``), and loads with
    :meth:`Head.from_pretrained` or :func:`load_head`.
    """

    kind = ""
    structure = GENERIC
    default_lr = 3e-3

    def __init__(self, hidden: int = 256, rank: int = 16) -> None:
        super().__init__()
        self.hidden = check_positive_int("hidden", hidden)
        self.rank = check_positive_int("rank", rank)

    def __getattr__(self, name: str) -> Any:
        if name in FITTED_ATTRIBUTES:  # only reached when fit has not set it
            raise NotFittedError(f"{type(self).__name__}.{name} does not exist yet: this {self.kind!r} head is "
                                 f"not fitted; call fit (fit_head({self.kind!r}, feats, labels) or "
                                 "head.fit(feats, labels)) or load a saved head with Head.from_pretrained(folder)")
        return super().__getattr__(name)

    def __repr__(self) -> str:
        shape = (f"text_dim={self.text_dim_}, image_dim={self.image_dim_}, n_classes={self.n_classes_}"
                 if self.is_fitted else "not fitted")
        return f"{type(self).__name__}(kind={self.kind!r}, structure={self.structure!r}, {shape})"

    # --- what each kind defines ----------------------------------------------------------------
    def build(self) -> None:
        """Create the layers for ``text_dim``, ``image_dim``, ``n_classes``."""
        raise NotImplementedError

    def logits(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def check_shapes(self, text_dim: int, image_dim: int, n_classes: int, multilabel: bool) -> None:
        """Raise ValueError if this kind cannot be fitted on such features and labels."""

    # --- the pair-model protocol ---------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        """Whether every fitted attribute (``FITTED_ATTRIBUTES``) exists."""
        return all(name in self.__dict__ for name in FITTED_ATTRIBUTES)

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} ({self.kind!r} head) is not fitted yet; call fit first: "
                                 f"fit_head({self.kind!r}, feats, labels) or head.fit(feats, labels)")

    def _set_fitted(self, text_dim: int, image_dim: int, n_classes: int, multilabel: bool) -> None:
        self.text_dim_, self.image_dim_, self.n_classes_, self.multilabel_ = text_dim, image_dim, n_classes, multilabel

    def _forget_fitted(self) -> None:
        for name in FITTED_ATTRIBUTES:
            self.__dict__.pop(name, None)

    def _checked(self, text: Any, image: Any) -> tuple[torch.Tensor, torch.Tensor]:
        self._require_fitted()
        text, image = as_matrix("text", text, self.text_dim_), as_matrix("image", image, self.image_dim_)
        check_consistent_length(text=text, image=image)
        device = next(self.parameters()).device
        return text.to(device), image.to(device)

    def forward(self, text: Any, image: Any) -> torch.Tensor:
        """Logits (B, C) of the row-aligned pairs ``(text[b], image[b])``."""
        return self.logits(*self._checked(text, image))

    @torch.no_grad()
    def predict(self, feats: Features) -> torch.Tensor:
        """Predicted class ids (N,) of the N pairs in ``feats``."""
        return self(feats.text, feats.image).argmax(-1).cpu()

    # --- saving and loading ---------------------------------------------------------------------
    def save_pretrained(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Save the fitted head as ``folder/config.json`` + ``folder/model.safetensors``.

        ``config.json`` holds the kind, the fitted dimensions, the hyperparameters and the
        fitting history; :meth:`from_pretrained` rebuilds the same head from the folder.

        Parameters
        ----------
        folder : a new or empty folder; an existing folder with files in it only with ``overwrite``.
        overwrite : replace the saved head in an existing folder.

        Returns
        -------
        The folder.

        Raises
        ------
        NotFittedError for a head that is not fitted; FileExistsError for an existing folder with
        files in it (unless ``overwrite=True``); NotADirectoryError when ``folder`` is a file;
        TypeError / ValueError for a folder argument that is not a path or is blank.
        """
        from safetensors.torch import save_file

        self._require_fitted()
        folder = check_folder_arg(folder)
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"{folder} is a file; save_pretrained writes a folder")
        if folder.is_dir() and any(folder.iterdir()) and not overwrite:
            raise FileExistsError(f"{folder} exists and is not empty; save_pretrained(folder, overwrite=True) replaces "
                                  "the saved head in it, or choose a new folder")
        folder.mkdir(parents=True, exist_ok=True)
        config = {"format": HEAD_FORMAT, "kind": self.kind, "structure": self.structure,
                  "hidden": self.hidden, "rank": self.rank, "text_dim": self.text_dim_,
                  "image_dim": self.image_dim_, "n_classes": self.n_classes_, "multilabel": self.multilabel_,
                  "history": self.history_}
        (folder / HEAD_CONFIG).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
        save_file({k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, str(folder / HEAD_WEIGHTS))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | torch.device | None = None) -> "Head":
        """The head saved in ``folder`` by :meth:`save_pretrained`, fitted and in eval mode.

        Its fitted attributes (``text_dim_``, ``image_dim_``, ``n_classes_``, ``multilabel_``,
        ``history_``) are read from the saved ``config.json``. Called on a subclass (e.g.
        ``AdditiveHead.from_pretrained``), the saved kind must be that subclass's.

        Parameters
        ----------
        folder : the saved folder (``config.json`` + ``model.safetensors``).
        device : where to put the weights; None is the CPU, as for every loader of the kit
            (:func:`~grounding_kit.models._internal.model_device`).

        Raises
        ------
        FileNotFoundError for a missing folder or file; ValueError for a folder that holds no saved
        head (e.g. a CLIP or ViLT folder), weights that are not this head's (the file is named) or a
        head of another kind than ``cls``.
        """
        return _load_head(folder, device, cls)

    # --- fitting -------------------------------------------------------------------------------
    def fit(self, feats: Features, labels: Any, *, epochs: int = 200, lr: float | None = None,
            weight_decay: float = 1e-4, val_fraction: float = 0.2, patience: int = 20,
            batch_size: int = 256, seed: int = 0, progress: bool = True,
            n_classes: int | None = None, device: str | torch.device | None = None) -> "Head":
        """Fit on ``feats`` (N pairs) and ``labels`` ((N,) ids or (N, C) multi-hot); return self.

        Sets the fitted attributes (``text_dim_``, ``image_dim_``, ``n_classes_``, ``multilabel_``,
        ``history_``); refitting replaces them. ``device`` as for :func:`fit_head`.
        """
        if not isinstance(feats, Features):
            raise TypeError(f"feats must be a grounding_kit.Features, got {describe(feats)}")
        text, image = as_matrix("feats.text", feats.text), as_matrix("feats.image", feats.image)
        targets, n_found, multilabel = as_targets(labels)
        check_consistent_length(**{"feats": text, "labels": targets})
        check_learnable(targets, multilabel)
        epochs, patience = check_positive_int("epochs", epochs), check_positive_int("patience", patience)
        batch_size = check_positive_int("batch_size", batch_size)
        seed = seed_int(seed)
        val_fraction = check_fraction("val_fraction", val_fraction, high=0.9)
        if n_classes is not None and check_positive_int("n_classes", n_classes, minimum=2) < n_found:
            raise ValueError(f"n_classes={n_classes} but labels hold class ids up to {n_found - 1}")
        n_classes = max(n_found, n_classes or 0, 2)
        self.check_shapes(text.shape[1], image.shape[1], n_classes, multilabel)
        dev = model_device(device)
        text, image, targets = text.to(dev), image.to(dev), targets.to(dev)

        self._forget_fitted()
        self._set_fitted(text.shape[1], image.shape[1], n_classes, multilabel)
        try:
            with single_thread():
                return self._fit(text, image, targets, epochs=epochs, lr=lr, weight_decay=weight_decay,
                                 val_fraction=val_fraction, patience=patience, batch_size=batch_size, seed=seed,
                                 progress=progress)
        except BaseException:
            self._forget_fitted()  # an interrupted fit leaves no half-fitted head
            raise

    def _fit(self, text: torch.Tensor, image: torch.Tensor, targets: torch.Tensor, *, epochs: int,
             lr: float | None, weight_decay: float, val_fraction: float, patience: int, batch_size: int,
             seed: int, progress: bool) -> "Head":
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.build()
        self.to(text.device)
        targets = targets.to(text.device)
        order = torch.randperm(len(text), generator=generator).to(text.device)
        n_val = int(round(val_fraction * len(text))) if len(text) >= 10 else 0
        val, train = order[:n_val], order[n_val:]
        loss_fn = nn.BCEWithLogitsLoss() if self.multilabel_ else nn.CrossEntropyLoss()
        optimizer = torch.optim.AdamW(self.parameters(), lr=lr or self.default_lr, weight_decay=weight_decay)

        history: dict[str, Any] = {"train_loss": [], "val_loss": []}
        best, best_state, waited = float("inf"), None, 0
        bar = tqdm(range(epochs), desc=f"fitting {self.kind} head", disable=not progress)
        for epoch in bar:
            self.train()
            shuffled = train[torch.randperm(len(train), generator=generator).to(text.device)]
            total = 0.0
            for start in range(0, len(shuffled), batch_size):
                rows = shuffled[start:start + batch_size]
                loss = loss_fn(self.logits(text[rows], image[rows]), targets[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(rows)
            history["train_loss"].append(total / max(1, len(train)))
            if n_val:
                with torch.no_grad():
                    val_loss = loss_fn(self.logits(text[val], image[val]), targets[val]).item()
                history["val_loss"].append(val_loss)
                bar.set_postfix(val_loss=f"{val_loss:.4f}")
                if val_loss < best - 1e-5:
                    best, best_state, waited = val_loss, copy.deepcopy(self.state_dict()), 0
                    history["best_epoch"] = epoch
                else:
                    waited += 1
                    if waited >= patience:
                        break
        self.eval()
        if best_state is not None:
            self.load_state_dict(best_state)
        if n_val:
            with torch.no_grad():
                predicted = self.logits(text[val], image[val]).argmax(-1)
            truth = targets[val].argmax(-1) if self.multilabel_ else targets[val]
            history["val_accuracy"] = float((predicted == truth).float().mean())
        history.setdefault("best_epoch", len(history["train_loss"]) - 1)
        self.history_ = history
        return self


def as_matrix(name: str, value: Any, width: int | None = None) -> torch.Tensor:
    """``value`` as a finite float (N, D) tensor; ``width`` checks D.

    Raises ``TypeError`` for anything but a floating torch tensor or numpy array, ``ValueError``
    for a wrong shape or NaN/inf.
    """
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    expected = f"(N, {width})" if width else "(N, D)"
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise TypeError(f"{name} must be a float tensor of shape {expected}, got {describe(value)}")
    if value.ndim != 2:
        raise ValueError(f"{name} must be a float tensor of shape {expected}, got {describe(value)}")
    if width is not None and value.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}) as in fitting, got {describe(value)}")
    check_finite(name, value)
    return value.float()


def as_targets(labels: Any) -> tuple[torch.Tensor, int, bool]:
    """(targets, number of classes, multilabel) from class ids (N,) or multi-hot floats (N, C)."""
    array = check_labels(labels, call="fit_head(kind, feats, labels)")  # the kit's one labels contract
    if array.ndim == 2 and array.shape[1] >= 2:
        check_finite("labels", array.astype(float))
        if array.min() < 0 or array.max() > 1:
            raise ValueError(f"multi-hot labels must lie in [0, 1], got values in [{array.min()}, {array.max()}]")
        return torch.as_tensor(array, dtype=torch.float32), array.shape[1], True
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"labels must be class ids of shape (N,) or multi-hot floats of shape (N, C), "
                         f"got {describe(array)}")
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.mod(array, 1) == 0) or array.min() < 0:
        raise ValueError(f"labels must be non-negative integer class ids, got {describe(array)} "
                         f"with values like {array[:5].tolist()}")
    return torch.as_tensor(array.astype(np.int64)), int(array.max()) + 1, False


def check_folder_arg(folder: Any) -> Path:
    """``folder`` as a Path: ``TypeError`` for anything but a path, ``ValueError`` for a blank one."""
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a folder path, got {describe(folder)}")
    if not str(folder).strip():
        raise ValueError(f"folder={str(folder)!r} is blank; give a folder path ('./' for the current folder)")
    return Path(folder).expanduser()


def check_learnable(targets: torch.Tensor, multilabel: bool) -> None:
    """Refuse labels a classifier cannot learn from: fewer than 2 pairs, or a single class."""
    if len(targets) < 2:
        raise ValueError(f"fit needs N >= 2 labelled pairs, got N={len(targets)}")
    distinct = torch.unique(targets, dim=0) if multilabel else torch.unique(targets)
    if len(distinct) < 2:
        what = "label row" if multilabel else f"class ({int(targets[0])})"
        raise ValueError(f"labels hold a single {what} for all N={len(targets)} pairs; a head learns to tell "
                         "classes apart and needs at least 2 different labels")


def mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out))


class _SumHead(Head):
    """f(t, v) = g_t(t) + g_v(v): no interaction, so EMAP is exact in O(N * C) (rank-0 bilinear)."""

    structure = BILINEAR

    def towers(self) -> tuple[nn.Module, nn.Module]:
        raise NotImplementedError

    def build(self) -> None:
        self.text_tower, self.image_tower = self.towers()

    def logits(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.text_tower(text) + self.image_tower(image)

    def bilinear_factors(self, text: Any, image: Any) -> BilinearFactors:
        self._require_fitted()
        text, image = (as_matrix("text", text, self.text_dim_).to(self._device()),
                       as_matrix("image", image, self.image_dim_).to(self._device()))
        return BilinearFactors(left=text.new_zeros(len(text), 0, self.n_classes_), right=image.new_zeros(len(image), 0),
                               text_bias=self.text_tower(text), image_bias=self.image_tower(image))

    def _device(self) -> torch.device:
        return next(self.parameters()).device


class AdditiveHead(_SumHead):
    """Logistic regression on [t; v] = W_t t + W_v v + b."""

    kind = "additive"
    default_lr = 1e-2

    def towers(self) -> tuple[nn.Module, nn.Module]:
        return nn.Linear(self.text_dim_, self.n_classes_), nn.Linear(self.image_dim_, self.n_classes_, bias=False)


class AdditiveMLPHead(_SumHead):
    """f_t(t) + f_v(v) with one-hidden-layer MLPs (width ``hidden``)."""

    kind = "additive-mlp"

    def towers(self) -> tuple[nn.Module, nn.Module]:
        return mlp(self.text_dim_, self.hidden, self.n_classes_), mlp(self.image_dim_, self.hidden, self.n_classes_)


class InteractiveHead(Head):
    """MLP on [t; v]: ``out(relu(A t + B v + c))``, hidden width ``hidden``."""

    kind = "interactive"
    structure = FIRST_LAYER_LINEAR

    def build(self) -> None:
        self.text_in = nn.Linear(self.text_dim_, self.hidden)
        self.image_in = nn.Linear(self.image_dim_, self.hidden, bias=False)
        self.out = nn.Linear(self.hidden, self.n_classes_)

    def logits(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.rest(self.text_in(text) + self.image_in(image))

    def first_layer(self, text: Any, image: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(text_hidden (N, H), image_hidden (N, H)); the first layer's bias sits in text_hidden."""
        self._require_fitted()
        device = self.out.weight.device
        return (self.text_in(as_matrix("text", text, self.text_dim_).to(device)),
                self.image_in(as_matrix("image", image, self.image_dim_).to(device)))

    def rest(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) from summed first-layer activations (B, H)."""
        return self.out(torch.relu(hidden))

    def relu_readout(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight (C, H), bias (C,)) with ``rest(h) = relu(h) @ weight.T + bias`` (see grounding_kit.models.contract)."""
        return self.out.weight, self.out.bias


class ProductHead(Head):
    """MLP on [t * v; t; v] (needs text and image features of the same width)."""

    kind = "product"

    def check_shapes(self, text_dim: int, image_dim: int, n_classes: int, multilabel: bool) -> None:
        if text_dim != image_dim:
            raise ValueError(f"the product head multiplies t * v, so text and image features need the same "
                             f"width; got text_dim={text_dim}, image_dim={image_dim}")

    def build(self) -> None:
        self.net = mlp(2 * self.text_dim_ + self.image_dim_, self.hidden, self.n_classes_)

    def logits(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([text * image, text, image], dim=-1))


class BilinearHead(Head):
    """``f(t, v)[c] = (L t)_c . (R v) + w_c . t + u_c . v + b_c`` with rank ``rank``."""

    kind = "bilinear"
    structure = BILINEAR
    default_lr = 1e-2

    def build(self) -> None:
        self.left = nn.Linear(self.text_dim_, self.rank * self.n_classes_, bias=False)
        self.right = nn.Linear(self.image_dim_, self.rank, bias=False)
        self.text_linear = nn.Linear(self.text_dim_, self.n_classes_)
        self.image_linear = nn.Linear(self.image_dim_, self.n_classes_, bias=False)

    def logits(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        f = self._factors(text, image)
        return torch.einsum("brc,br->bc", f.left, f.right) + f.text_bias + f.image_bias

    def _factors(self, text: torch.Tensor, image: torch.Tensor) -> BilinearFactors:
        return BilinearFactors(left=self.left(text).view(len(text), self.rank, self.n_classes_),
                               right=self.right(image), text_bias=self.text_linear(text),
                               image_bias=self.image_linear(image))

    def bilinear_factors(self, text: Any, image: Any) -> BilinearFactors:
        self._require_fitted()
        device = self.right.weight.device
        return self._factors(as_matrix("text", text, self.text_dim_).to(device),
                             as_matrix("image", image, self.image_dim_).to(device))


class ClipZeroShotHead(Head):
    """CLIP's own score as a match classifier: logits ``[0, a * cos(t, v) + b]``.

    No features are learned; fitting calibrates the temperature ``a`` and threshold ``b`` only.
    """

    kind = "clip-zero-shot"
    structure = BILINEAR
    default_lr = 0.05

    def check_shapes(self, text_dim: int, image_dim: int, n_classes: int, multilabel: bool) -> None:
        if text_dim != image_dim:
            raise ValueError(f"clip-zero-shot needs text and image features in one space (same width); "
                             f"got text_dim={text_dim}, image_dim={image_dim}")
        if n_classes != 2 or multilabel:
            raise ValueError(f"clip-zero-shot scores a match (class ids 0 = no, 1 = yes); got {n_classes} "
                             f"{'multi-hot ' if multilabel else ''}classes")

    def build(self) -> None:
        self.scale = nn.Parameter(torch.tensor(10.0))
        self.threshold = nn.Parameter(torch.tensor(0.0))

    def logits(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        f = self._factors(text, image)
        return torch.einsum("brc,br->bc", f.left, f.right) + f.text_bias

    def _factors(self, text: torch.Tensor, image: torch.Tensor) -> BilinearFactors:
        t, v = nn.functional.normalize(text, dim=-1), nn.functional.normalize(image, dim=-1)
        left = torch.stack([torch.zeros_like(t), self.scale * t], dim=-1)  # (N, D, 2)
        text_bias = torch.stack([torch.zeros(len(t), device=t.device),
                                 self.threshold.expand(len(t))], dim=-1)
        return BilinearFactors(left=left, right=v, text_bias=text_bias, image_bias=v.new_zeros(len(v), 2))

    def bilinear_factors(self, text: Any, image: Any) -> BilinearFactors:
        self._require_fitted()
        device = self.scale.device
        return self._factors(as_matrix("text", text, self.text_dim_).to(device),
                             as_matrix("image", image, self.image_dim_).to(device))


_HEADS: dict[str, type[Head]] = {cls.kind: cls for cls in (
    AdditiveHead, AdditiveMLPHead, InteractiveHead, ProductHead, BilinearHead, ClipZeroShotHead)}


def make_head(kind: str, *, hidden: int = 256, rank: int = 16) -> Head:
    """An unfitted head of ``kind`` (one of ``HEAD_KINDS``)."""
    check_choice("kind", kind, HEAD_KINDS)
    return _HEADS[kind](hidden=hidden, rank=rank)


def fit_head(kind: str, feats: Features, labels: Any, *, hidden: int = 256, rank: int = 16,
             epochs: int = 200, lr: float | None = None, weight_decay: float = 1e-4,
             val_fraction: float = 0.2, patience: int = 20, batch_size: int = 256, seed: int = 0,
             progress: bool = True, n_classes: int | None = None,
             device: str | torch.device | None = None) -> Head:
    """Fit a head of ``kind`` on features and labels; deterministic for a given ``seed``.

    Parameters
    ----------
    kind : one of ``HEAD_KINDS`` (see the module docstring).
    feats : Features with text (N, Dt) and image (N, Dv) float tensors (e.g. from ``embed``).
    labels : (N,) class ids, or (N, C) multi-hot floats (trained with binary cross-entropy).
    hidden : hidden width of the MLP heads. rank : rank R of the bilinear head.
    epochs, lr, weight_decay, batch_size : AdamW on shuffled minibatches (``lr`` default per kind).
    val_fraction, patience : held-out share of rows; stop after ``patience`` epochs without a
        better validation loss, and restore the best epoch.
    n_classes : C, when some classes are absent from ``labels``.
    device : where the head is fitted and kept; None is the CPU, as for every loader of the kit
        (:func:`~grounding_kit.models._internal.model_device`); ``"cuda"`` for a GPU.

    Returns
    -------
    Head, an ``nn.Module`` with ``head(text_batch, image_batch) -> (B, C)`` logits, ``predict``,
    ``structure`` and the fitted attributes (``history_``, ``n_classes_``, ...).

    Raises
    ------
    TypeError for features that are not a ``Features`` or labels of the wrong type; ValueError for
    a bad shape, non-finite values, single-class labels, an unknown kind or device.
    """
    return make_head(kind, hidden=hidden, rank=rank).fit(
        feats, labels, epochs=epochs, lr=lr, weight_decay=weight_decay, val_fraction=val_fraction,
        patience=patience, batch_size=batch_size, seed=seed, progress=progress, n_classes=n_classes,
        device=device)


def load_head(folder: str | Path, device: str | torch.device | None = None) -> Head:
    """A head saved with :meth:`Head.save_pretrained`, fitted and in eval mode: ``Head.from_pretrained(folder, device)``.

    Parameters
    ----------
    folder : the saved folder (``config.json`` + ``model.safetensors``).
    device : where to put the weights; None is the CPU, as for every loader of the kit.

    Raises
    ------
    FileNotFoundError for a missing folder or file; ValueError for a folder that holds no saved
    head (e.g. a CLIP or ViLT folder) or weights that are not this head's (the file is named).
    """
    return Head.from_pretrained(folder, device)


def _load_head(folder: str | Path, device: str | torch.device | None, cls: type[Head]) -> Head:
    from safetensors.torch import load_file

    from grounding_kit.models._internal import check_safetensors, checkpoint_errors

    folder = check_folder_arg(folder)
    for path in (folder, folder / HEAD_CONFIG, folder / HEAD_WEIGHTS):
        if not path.exists():
            raise FileNotFoundError(f"no saved head at {folder}: {path} is missing (save one with head.save_pretrained)")
    config_path = folder / HEAD_CONFIG
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{config_path} is not a JSON head config ({err})") from None
    if not isinstance(config, dict) or config.get("format") != HEAD_FORMAT:
        raise ValueError(f"{config_path} is not a saved grounding_kit head (format {HEAD_FORMAT!r}); "
                         "load CLIP folders with load_clip and VQA folders with load_vqa")
    check_choice("kind", config.get("kind"), HEAD_KINDS)
    if cls is not Head and _HEADS[config["kind"]] is not cls:
        raise ValueError(f"{config_path} holds a {config['kind']!r} head, not a {cls.kind!r} one; load it with "
                         "Head.from_pretrained(folder) or load_head(folder)")
    head = make_head(config["kind"], hidden=config["hidden"], rank=config["rank"])
    head._set_fitted(int(config["text_dim"]), int(config["image_dim"]), int(config["n_classes"]),
                     bool(config["multilabel"]))
    head.build()
    weights = folder / HEAD_WEIGHTS
    expected = f"the weights of a {config['kind']!r} head as described by {config_path}"
    check_safetensors(weights, expected)
    with checkpoint_errors(weights, expected, any_error=True):
        head.load_state_dict(load_file(str(weights)))
    head.history_ = dict(config.get("history") or {})
    return head.to(model_device(device)).eval()
