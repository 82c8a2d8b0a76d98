"""The EMAP estimate and the Monte Carlo arithmetic shared by the single-process and Dask paths.

``EmapEstimate`` holds the projection with the marginals it is built from. The Monte Carlo
estimate draws K partners per item (:func:`monte_carlo_draws`), averages each item's partner
pairs (:func:`partner_stats`) and combines the sampled marginals into the projection and its
standard errors (:func:`monte_carlo_combine`). Where the pairs are evaluated (one process,
:mod:`grounding_kit.analysis.streaming`, or a cluster, :mod:`grounding_kit.analysis.distributed`)
does not change a single draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch

from grounding_kit.core.validation import check_positive_int, seed_int
from grounding_kit.analysis.grids import warn_if_probabilities
from grounding_kit.analysis.pairs import PairEvaluator


@dataclass(frozen=True)
class EmapEstimate:
    """EMAP of a model on N pairs, with the marginals it is built from (CPU float64 tensors).

    An estimate behaves as its projection where an array is expected: ``np.asarray(est)`` and
    ``torch.as_tensor(est)`` give ``est.projection`` (N, C), so ``proj = gk.emap_model(head, feats)``
    can be used like ``proj = gk.emap(P)``.

    Attributes
    ----------
    projection : (N, C), ``f_hat(t_i, v_i) = text_marginal[i] + image_marginal[i] - grand_mean``
    stderr : (N, C) standard errors of ``projection`` (zeros when exact); NaN when partners=1
    text_marginal : (N, C), ``mean_j f(t_i, v_j)``, the text's partial dependence
    image_marginal : (N, C), ``mean_j f(t_j, v_i)``, the image's partial dependence
    grand_mean : (C,), ``mean_{j,k} f(t_j, v_k)``
    diagonal : (N, C), the model's own predictions ``f(t_i, v_i)``
    partners : partners averaged per item (N when exact)
    exact : whether every pair entered (closed form or full stream)
    method : "grid" (a ``GridModel``: means read from the grid), "bilinear closed form",
        "relu closed form", "first-layer-linear stream", "generic stream" or "monte carlo"
    """

    projection: torch.Tensor
    stderr: torch.Tensor
    text_marginal: torch.Tensor
    image_marginal: torch.Tensor
    grand_mean: torch.Tensor
    diagonal: torch.Tensor
    partners: int
    exact: bool
    method: str

    def interval(self, level: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
        """Normal-approximation interval ``projection -/+ z * stderr`` at ``level``."""
        z = math.sqrt(2.0) * torch.special.erfinv(torch.tensor(level, dtype=torch.float64))
        return self.projection - z * self.stderr, self.projection + z * self.stderr

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape (N, C) of the projection."""
        return tuple(self.projection.shape)

    def __len__(self) -> int:
        return int(self.projection.shape[0])

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The projection (N, C) as numpy (numpy 2's protocol): a view of ``projection`` unless a copy
        is asked for (``copy=True``) or needed for another ``dtype`` (refused with ``copy=False``)."""
        values = self.projection.numpy()
        if dtype is not None and np.dtype(dtype) != values.dtype:
            if copy is False:
                raise ValueError(f"converting an EmapEstimate's float64 projection to {np.dtype(dtype)} needs a copy")
            return values.astype(dtype)
        return values.copy() if copy else values

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        """DLPack export of the projection: what ``torch.as_tensor(est)`` reads (shares its memory)."""
        return self.projection.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple[Any, int]:
        return self.projection.__dlpack_device__()


def sample_partners(n: int, k: int, items: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(len(items), k) partners per item, drawn uniformly without replacement from all n."""
    keys = torch.rand(len(items), n, generator=generator)
    return keys.topk(k, dim=1, largest=False).indices


def check_partners(partners: int | None, n: int) -> None:
    """Refuse a Monte Carlo partner count that is not an int in [1, n] (None: the exact EMAP)."""
    if partners is not None:
        check_positive_int("partners", partners)
        if partners > n:
            raise ValueError(f"partners must be between 1 and N={n} (sampling without replacement), got {partners}")


def monte_carlo_block_size(ev: PairEvaluator, k: int) -> int:
    """Items per Monte Carlo block: about ``pairs_per_call`` pairs per side, at most 2**22 keys drawn."""
    return max(1, min(ev.n, 2**22 // ev.n, ev.pairs_per_call // k or 1))


def monte_carlo_draws(n: int, k: int, block: int,
                      seed: Any) -> Iterator[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    """Per block of ``block`` items: ``(items (b,), {"text": (b, k), "image": (b, k)})`` partners.

    One generator, seeded once, draws the blocks in order (text side, then image side), so the
    partners depend only on ``(n, k, block, seed)``, never on where or when a block is evaluated.
    ``seed=None`` draws fresh randomness.
    """
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed_int(seed))
    for s in range(0, n, block):
        items = torch.arange(s, min(s + block, n))
        yield items, {side: sample_partners(n, k, items, generator) for side in ("text", "image")}


def partner_stats(ev: PairEvaluator, side: str, items: torch.Tensor,
                  partners: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (b, C) of each item's k partner pairs and its sampling variance (b, C).

    ``side="text"`` pairs text ``items[i]`` with the images ``partners[i]`` (a row marginal),
    ``side="image"`` image ``items[i]`` with the texts ``partners[i]`` (a column marginal). The
    variance carries the finite-population correction (1 - k/N); it is NaN for k = 1.
    """
    k = partners.shape[1]
    own = items.repeat_interleave(k)
    text_index, image_index = (own, partners.flatten()) if side == "text" else (partners.flatten(), own)
    values = ev.pairs_batched(text_index, image_index).to("cpu", torch.float64).reshape(len(items), k, ev.classes)
    var = values.var(1, unbiased=True) * (1.0 - k / ev.n) / k if k > 1 else torch.full_like(values[:, 0], math.nan)
    return values.mean(1), var


def monte_carlo_combine(row_mean: torch.Tensor, row_var: torch.Tensor, col_mean: torch.Tensor,
                        col_var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Grand mean (C,) and the projection's standard errors (N, C) from sampled marginals (N, C)."""
    n = len(row_mean)
    grand = (row_mean.mean(0) + col_mean.mean(0)) / 2
    grand_var = (row_var.sum(0) + col_var.sum(0)) / (4 * n * n)
    # emap_i = r_i + c_i - g with g containing r_i / (2n) and c_i / (2n)
    proj_var = (row_var + col_var) * (1 - 1 / n) + grand_var
    return grand, proj_var.clamp_min(0).sqrt()


def finish_estimate(rows: torch.Tensor, cols: torch.Tensor, grand: torch.Tensor, diagonal: torch.Tensor,
                    stderr: torch.Tensor, partners: int, exact: bool, method: str) -> EmapEstimate:
    """The ``EmapEstimate`` of float64 marginals (N, C), (N, C), (C,) and diagonal (N, C).

    Refuses non-finite logits and warns when the diagonal looks like probabilities.
    """
    if not torch.isfinite(diagonal).all():
        raise ValueError("model returned NaN or inf logits for some pairs; EMAP needs finite logits")
    projection = rows + cols - grand
    if not (torch.isfinite(rows).all() and torch.isfinite(cols).all() and torch.isfinite(projection).all()):
        largest = float(diagonal.abs().max())
        if largest * len(diagonal) < 1e300:  # the sums cannot have overflowed: other pairs were not finite
            raise ValueError("model returned NaN or inf logits for some pairs; EMAP needs finite logits")
        raise ValueError(f"the model's logits (as large as {largest:.3g} on the diagonal) overflow float64 when "
                         "summed over the partners, so the means would be inf or NaN. Logits are normally far "
                         "smaller: rescale the model's output")
    warn_if_probabilities("the model's output", diagonal.numpy())
    return EmapEstimate(projection=projection, stderr=stderr, text_marginal=rows, image_marginal=cols,
                        grand_mean=grand, diagonal=diagonal, partners=partners, exact=exact, method=method)
