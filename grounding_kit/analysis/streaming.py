"""EMAP straight from a model: the full grid, or its row, column and grand means streamed.

``pairwise_logits`` materializes ``P[i, j] = f(t_i, v_j)`` (N x N x C floats, guarded by a
memory budget). ``emap_model`` never holds the grid: it keeps running row sums, column sums and
the diagonal (memory O(N * C) plus one tile), computes the bilinear case in closed form, and can
estimate everything by Monte Carlo over K random partners per item with standard errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from tqdm.auto import tqdm

from grounding_kit.models.features import Features
from grounding_kit.models.contract import BILINEAR, FIRST_LAYER_LINEAR, PairModel
from grounding_kit.core.validation import (check_memory, check_positive_int, check_seed, check_time, format_seconds, seed_int,
                          time_budget)
from grounding_kit.analysis.grid_model import GridModel
from grounding_kit.analysis.grids import warn_if_probabilities
from grounding_kit.analysis.multimodal import emap_multimodal, relu_sums
from grounding_kit.analysis.pairs import PairEvaluator, check_features, diagonal_overlap, evaluating, resolve_device

#: default memory budget of ``pairwise_logits`` (bytes)
MAX_GRID_BYTES = 2**30
#: grids with at least this many pairs show a progress bar by default
PROGRESS_PAIRS = 250_000


@dataclass(frozen=True)
class EmapEstimate:
    """EMAP of a model on N pairs, with the marginals it is built from (CPU float64 tensors).

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


def _show_progress(progress: bool | None, n: int) -> bool:
    return bool(progress) if progress is not None else n * n >= PROGRESS_PAIRS


def pairwise_logits(model: PairModel, feats: Features, batch_size: int | None = None, max_bytes: int = MAX_GRID_BYTES,
                    device: Any = None, progress: bool | None = None) -> torch.Tensor:
    """Evaluate ``model`` on all N x N text/image combinations.

    Parameters
    ----------
    model : pair model ``f(text_batch, image_batch) -> (B, C) logits`` (see ``grounding_kit.models.contract``)
    feats : Features of N pairs
    batch_size : pairs per model call (None: a default per structure)
    max_bytes : refuse when the (N, N, C) result would need more memory than this
    device : torch device for the computation (None: CUDA when available, else CPU)
    progress : show a progress bar (None: when N * N >= 250,000)

    Returns
    -------
    (N, N, C) CPU tensor in the model's output dtype, ``P[i, j] = f(t_i, v_j)``.
    """
    feats = check_features(feats)
    check_positive_int("max_bytes", max_bytes)
    device = resolve_device(model, device)
    n = len(feats)
    with evaluating(model, device):
        ev = PairEvaluator(model, feats, device, batch_size)
        zero = torch.zeros(1, dtype=torch.long)
        probe = ev.pairs(zero, zero)
        check_memory(f"pairwise_logits of the (N, N, C) = ({n}, {n}, {ev.classes}) {probe.dtype} grid",
                     n * n * ev.classes * probe.element_size(), budget=max_bytes,
                     hint="Use grounding_kit.emap_model(model, feats), which streams the same projection in "
                          "O(N * C) memory, or raise max_bytes.")
        grid = torch.empty((n, n, ev.classes), dtype=probe.dtype)
        for rows, cols in tqdm(ev.tiles(), desc="pair logits", disable=not _show_progress(progress, n)):
            grid[rows, cols] = ev.tile(rows, cols).to("cpu", grid.dtype)
    return grid


def _bilinear_closed_form(ev: PairEvaluator) -> tuple[torch.Tensor, ...]:
    """Row means, column means, grand mean and diagonal of a bilinear model, no pair evaluated."""
    f = ev.factors
    mean_left = torch.zeros(f.left.shape[1:], dtype=torch.float64, device=f.left.device)
    rows, diag = [], []
    mean_right = f.right.double().mean(0)
    for s in range(0, ev.n, 4096):
        left = f.left[s:s + 4096].double()
        mean_left += left.sum(0) / ev.n
        rows.append(torch.einsum("irc,r->ic", left, mean_right))
        diag.append(torch.einsum("irc,ir->ic", left, f.right[s:s + 4096].double()))
    text_bias, image_bias = f.text_bias.double(), f.image_bias.double()
    row_mean = torch.cat(rows) + text_bias + image_bias.mean(0)
    col_mean = f.right.double() @ mean_left + text_bias.mean(0) + image_bias
    grand = mean_left.T @ mean_right + text_bias.mean(0) + image_bias.mean(0)
    diagonal = torch.cat(diag) + text_bias + image_bias
    return row_mean, col_mean, grand, diagonal


def _relu_closed_form(ev: PairEvaluator) -> tuple[torch.Tensor, ...]:
    """Row means, column means, grand mean and diagonal of ``relu(a_i + b_j) @ W.T + bias``, no pair evaluated."""
    weight, bias = (value.detach().double() for value in ev.model.relu_readout())
    text_hidden, image_hidden = ev.text_hidden.detach(), ev.image_hidden.detach()
    row_mean = relu_sums(text_hidden, image_hidden) @ weight.T / ev.n + bias
    col_mean = relu_sums(image_hidden, text_hidden) @ weight.T / ev.n + bias
    diagonal = torch.relu(text_hidden.double() + image_hidden.double()) @ weight.T + bias
    return row_mean, col_mean, row_mean.mean(0), diagonal


def _streamed_sums(ev: PairEvaluator, show: bool) -> tuple[torch.Tensor, ...]:
    """Row means, column means, grand mean and diagonal from one pass over the grid's tiles."""
    c = ev.classes
    row_sum = torch.zeros(ev.n, c, dtype=torch.float64, device=ev.device)
    col_sum = torch.zeros(ev.n, c, dtype=torch.float64, device=ev.device)
    diagonal = torch.zeros(ev.n, c, dtype=torch.float64, device=ev.device)
    for rows, cols in tqdm(ev.tiles(), desc="EMAP", disable=not show):
        out = ev.tile(rows, cols).to(row_sum.device)
        row_sum[rows] += out.sum(1, dtype=torch.float64)
        col_sum[cols] += out.sum(0, dtype=torch.float64)
        k = torch.from_numpy(diagonal_overlap(rows, cols))
        if len(k):
            diagonal[k] = out[k - rows.start, k - cols.start].double()
    row_mean, col_mean = row_sum / ev.n, col_sum / ev.n
    return row_mean, col_mean, row_mean.mean(0), diagonal


def _sample_partners(n: int, k: int, items: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(len(items), k) partners per item, drawn uniformly without replacement from all n."""
    keys = torch.rand(len(items), n, generator=generator)
    return keys.topk(k, dim=1, largest=False).indices


def _monte_carlo(ev: PairEvaluator, k: int, seed: int | None, show: bool) -> tuple[torch.Tensor, ...]:
    """Marginal estimates and their sampling variances from k random partners per item.

    Rows and columns use independent partner draws; variances carry the finite-population
    correction (1 - k/N), so they vanish at k = N where the estimate is exact.
    """
    n, c = ev.n, ev.classes
    stats = {side: (torch.zeros(n, c, dtype=torch.float64), torch.zeros(n, c, dtype=torch.float64))
             for side in ("text", "image")}
    block = monte_carlo_block_size(ev, k)
    for items, partners in tqdm(monte_carlo_draws(n, k, block, seed), total=math.ceil(n / block),
                                desc="EMAP (Monte Carlo)", disable=not show):
        for side, (mean, var) in stats.items():
            mean[items], var[items] = partner_stats(ev, side, items, partners[side])
    (row_mean, row_var), (col_mean, col_var) = stats["text"], stats["image"]
    grand, stderr = monte_carlo_combine(row_mean, row_var, col_mean, col_var)
    items = torch.arange(n)
    diagonal = ev.pairs_batched(items, items).to("cpu", torch.float64)
    return row_mean, col_mean, grand, diagonal, stderr


def monte_carlo_block_size(ev: PairEvaluator, k: int) -> int:
    """Items per Monte Carlo block: about ``pairs_per_call`` pairs per side, at most 2**22 keys drawn."""
    return max(1, min(ev.n, 2**22 // ev.n, ev.pairs_per_call // k or 1))


def monte_carlo_draws(n: int, k: int, block: int,
                      seed: Any) -> Iterator[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    """Per block of ``block`` items: ``(items (b,), {"text": (b, k), "image": (b, k)})`` partners.

    One generator, seeded once, draws the blocks in order (text side, then image side), so the
    partners depend only on ``(n, k, block, seed)``, never on where or when a block is evaluated.
    """
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed_int(seed))
    for s in range(0, n, block):
        items = torch.arange(s, min(s + block, n))
        yield items, {side: _sample_partners(n, k, items, generator) for side in ("text", "image")}


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


#: below this many pair evaluations emap_details starts without timing a probe tile
ESTIMATE_FROM_PAIRS = 2**24
#: partners suggested when a computation is over its time budget
SUGGESTED_PARTNERS = 32


def check_duration(ev: PairEvaluator, partners: int | None, max_seconds: float | None, *, task: str = "EMAP",
                   advice: str | None = None) -> None:
    """Refuse (``BudgetError``) a stream or Monte Carlo run estimated to take longer than ``max_seconds``.

    Times one tile of pairs (the best of two calls) and extrapolates to the run's pair
    evaluations: N * N for an exact stream, 2 * N * K + N for ``partners=K`` (plus the partner
    draws, timed on one block). Runs with fewer than ``ESTIMATE_FROM_PAIRS`` evaluations are not timed. ``max_seconds`` None means
    ``grounding_kit.core.validation.time_budget()`` (600 s unless ``GROUNDING_KIT_MAX_SECONDS`` says);
    ``math.inf`` opts out. ``task`` names the computation; ``advice`` replaces the partners=K advice.
    """
    n = ev.n
    needed = n * n if partners is None else 2 * n * partners + n
    if needed < ESTIMATE_FROM_PAIRS or max_seconds == math.inf:
        return
    import time

    rows, cols = ev.tile_shape()
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        ev.tile(slice(0, rows), slice(0, cols))
        timings.append(time.perf_counter() - start)
    per_pair = min(timings) / (rows * cols)

    def monte_carlo_seconds(k: int) -> float:
        block = monte_carlo_block_size(ev, k)
        start = time.perf_counter()
        _sample_partners(n, k, torch.arange(block), torch.Generator().manual_seed(0))
        return 2 * n * (time.perf_counter() - start) / block + per_pair * (2 * n * k + n)

    k = min(SUGGESTED_PARTNERS, n)
    what = (f"{task} of this {ev.structure} model on N={n:,} pairs ({needed:,} pair evaluations at "
            f"{per_pair * 1e6:.2g} us each, measured on one tile)")
    if partners is None:
        seconds = per_pair * needed
        over = seconds > (time_budget() if max_seconds is None else max_seconds)
        hint = advice or (f"partners=K estimates it by Monte Carlo, with standard errors, from 2 * N * K "
                          f"evaluations: partners={k} would take about {format_seconds(monte_carlo_seconds(k))}. "
                          "Pass max_seconds=math.inf to run it anyway." if over else "")
    else:
        seconds = monte_carlo_seconds(partners)
        hint = "Use fewer partners, or pass max_seconds=math.inf to run it anyway."
    check_time(what, seconds, budget=max_seconds, hint=hint)


def check_partners(partners: int | None, n: int) -> None:
    """Refuse a Monte Carlo partner count that is not an int in [1, n] (None: the exact EMAP)."""
    if partners is not None:
        check_positive_int("partners", partners)
        if partners > n:
            raise ValueError(f"partners must be between 1 and N={n} (sampling without replacement), got {partners}")


def emap_details(model: PairModel, feats: Features, partners: int | None = None, seed: int | None = None,
                 batch_size: int | None = None, device: Any = None, progress: bool | None = None, *,
                 client: Any = None, checkpoint: Any = None, max_seconds: float | None = None) -> EmapEstimate:
    """EMAP of ``model`` on ``feats`` with its marginals, without materializing the grid.

    Parameters
    ----------
    model : pair model ``f(text_batch, image_batch) -> (B, C) logits`` (see ``grounding_kit.models.contract``)
    feats : Features of N pairs
    partners : None for the exact projection; K in [1, N] for Monte Carlo over K random
        partners per item (2 * N * K pair evaluations; exact, with zero stderr, at K = N)
    seed : seed of the partner draws (None: fresh randomness)
    batch_size : pairs per model call (None: a default per structure)
    device : torch device (None: CUDA when available, else CPU)
    progress : show a progress bar (None: when N * N >= 250,000)
    client, checkpoint : a ``dask.distributed.Client`` and/or a checkpoint folder: the pairs are then
        evaluated in blocks on the cluster, resumably (``grounding_kit.analysis.distributed``)
    max_seconds : refuse, before the work starts, a streamed or Monte Carlo run estimated to take
        longer (``BudgetError`` with the estimate; see :func:`check_duration`); None: the kit's
        time budget, 600 s unless ``GROUNDING_KIT_MAX_SECONDS`` says; ``math.inf`` opts out

    Returns
    -------
    EmapEstimate (CPU float64 tensors).

    The exact path follows ``structure_of(model)``: the bilinear closed form (O(N * R * C)),
    the ReLU closed form for a first-layer-linear model with ``relu_readout`` (O(H * N log N)),
    the first-layer-linear stream (each modality projected once, ``rest`` on pair sums) or the
    generic stream (the model called on pair batches). Memory: O(N * C) plus one tile.
    On a busy shared CPU, the streamed paths' many small steps run much faster with
    ``torch.set_num_threads(1)`` or with ``OMP_WAIT_POLICY=PASSIVE`` set before torch is imported.
    """
    if client is not None or checkpoint is not None:
        from grounding_kit.analysis.distributed import emap_distributed

        return emap_distributed(model, feats, client, checkpoint=checkpoint, partners=partners, seed=seed,
                                batch_size=batch_size, device=device, progress=progress)
    feats = check_features(feats)
    n = len(feats)
    check_partners(partners, n)
    seed = check_seed(seed, allow_none=True)
    if partners is None and isinstance(model, GridModel):
        rows, cols, grand, diagonal = (torch.from_numpy(v) for v in model.marginals(feats))
        return EmapEstimate(projection=rows + cols - grand, stderr=torch.zeros_like(rows), text_marginal=rows,
                            image_marginal=cols, grand_mean=grand, diagonal=diagonal, partners=n, exact=True,
                            method="grid")
    device = resolve_device(model, device)
    show = _show_progress(progress, n)
    with evaluating(model, device):
        ev = PairEvaluator(model, feats, device, batch_size)
        closed_form = partners is None and (ev.structure == BILINEAR or (ev.structure == FIRST_LAYER_LINEAR
                                                                          and hasattr(model, "relu_readout")))
        if not closed_form:
            check_duration(ev, partners, max_seconds)
        if partners is not None:
            rows, cols, grand, diagonal, stderr = _monte_carlo(ev, partners, seed, show)
            exact, method = partners == n, "monte carlo"
        else:
            if ev.structure == BILINEAR:
                parts, method = _bilinear_closed_form(ev), "bilinear closed form"
            elif ev.structure == FIRST_LAYER_LINEAR and hasattr(model, "relu_readout"):
                parts, method = _relu_closed_form(ev), "relu closed form"
            else:
                parts, method = _streamed_sums(ev, show), f"{ev.structure} stream"
            rows, cols, grand, diagonal = (p.to("cpu", torch.float64) for p in parts)
            stderr, exact = torch.zeros_like(rows), True
    return finish_estimate(rows, cols, grand, diagonal, stderr, partners or n, exact, method)


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


def emap_model(model: PairModel, feats: Features | Any, partners: int | None = None, seed: int | None = None,
               batch_size: int | None = None, device: Any = None, progress: bool | None = None, *,
               client: Any = None, checkpoint: Any = None, max_seconds: float | None = None) -> EmapEstimate:
    """EMAP of ``model`` on ``feats``, streamed: ``projection`` is ``emap(pairwise_logits(model, feats))``.

    Returns an ``EmapEstimate`` whatever ``partners`` is: ``.projection`` (N, C) float64 is
    ``f_hat(t_i, v_i)``, ``.stderr`` its standard errors (zeros when exact, Monte Carlo with
    ``partners=K``), with the marginals it is built from. Parameters as in ``emap_details``
    (this is the same computation under the name the kit's examples use).

    A model of M inputs: pass ``feats`` as a list or tuple of M arrays (N, D_m), one per modality;
    the result is then :func:`grounding_kit.analysis.multimodal.emap_multimodal`'s
    ``MultiEmapEstimate`` (float64 numpy), exact or with ``partners=K`` Monte Carlo.
    """
    if isinstance(feats, (list, tuple)):
        return emap_multimodal(model, feats, partners=partners, seed=0 if seed is None else seed,
                               batch_size=batch_size, progress=progress)
    return emap_details(model, feats, partners=partners, seed=seed, batch_size=batch_size, device=device,
                        progress=progress, client=client, checkpoint=checkpoint, max_seconds=max_seconds)
