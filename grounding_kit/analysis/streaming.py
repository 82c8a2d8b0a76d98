"""EMAP of a model in this process: closed forms, the exact stream, and Monte Carlo.

:func:`emap_in_process` never holds the N x N grid: it keeps running row sums, column sums and
the diagonal (memory O(N * C) plus one tile), computes the bilinear and ReLU cases in closed form,
and can estimate everything by Monte Carlo over K random partners per item with standard errors.
The public entry is :func:`grounding_kit.analysis.model_emap.emap_model`, which sends a run with a
Dask ``client=`` to :mod:`grounding_kit.analysis.distributed` instead.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from tqdm.auto import tqdm

from grounding_kit.models.features import Features
from grounding_kit.models.contract import BILINEAR, FIRST_LAYER_LINEAR, PairModel
from grounding_kit.core.validation import check_seed, check_time, format_seconds, time_budget
from grounding_kit.analysis.estimate import (EmapEstimate, check_partners, finish_estimate, monte_carlo_block_size,
                                             monte_carlo_combine, monte_carlo_draws, partner_stats, sample_partners)
from grounding_kit.analysis.grid_model import GridModel
from grounding_kit.analysis.multimodal import relu_sums
from grounding_kit.analysis.pairs import (PairEvaluator, check_features, diagonal_overlap, evaluating, resolve_device,
                                          show_progress)


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


#: below this many pair evaluations emap_in_process starts without timing a probe tile
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
        sample_partners(n, k, torch.arange(block), torch.Generator().manual_seed(0))
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


def emap_in_process(model: PairModel, feats: Features, partners: int | None = None, seed: int | None = 0,
                    batch_size: int | None = None, device: Any = None, progress: bool | None = None, *,
                    max_seconds: float | None = None) -> EmapEstimate:
    """EMAP of ``model`` on ``feats`` with its marginals, in this process, without the grid.

    Parameters and result as :func:`grounding_kit.analysis.model_emap.emap_model` (without
    ``client`` and ``checkpoint``).

    The exact path follows ``structure_of(model)``: the bilinear closed form (O(N * R * C)),
    the ReLU closed form for a first-layer-linear model with ``relu_readout`` (O(H * N log N)),
    the first-layer-linear stream (each modality projected once, ``rest`` on pair sums) or the
    generic stream (the model called on pair batches). A ``GridModel`` has its means read from the
    grid. Memory: O(N * C) plus one tile.
    """
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
    show = show_progress(progress, n)
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
