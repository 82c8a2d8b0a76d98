"""EMAP and the functional-ANOVA decomposition for M >= 2 modalities.

Convention (shared by every function of the kit that takes a grid): a grid of M modalities has
shape ``(N,)*M`` or ``(N,)*M + (C,)``, axis m for modality m in the order given,
``P[i, j, k] = f(x1_i, x2_j, x3_k)``; logits in the last axis. Two modalities are the reference
case (:mod:`grounding_kit.analysis.projection`), which this module reproduces exactly.

On the product of the empirical marginals (each modality's N observed values, drawn
independently and uniformly), f splits uniquely into terms indexed by subsets S of modalities
(Hoeffding; Hooker 2004's functional ANOVA):

    f_S(x_S) = sum over T subset of S of (-1)^{|S| - |T|} mean_{-T} f,

where ``mean_{-T} f`` averages f over the modalities outside T (their partial dependence). The
terms are orthogonal under that product measure, so the grid's variance is the sum of theirs,
and each term's *share* of it says how much of the model lives in it: main effects (|S| = 1),
pairwise interactions (|S| = 2, "which pairs interact?"), and the remainder of higher order.

EMAP (Hessel & Lee, 2020) is the additive part at the observed tuples:

    f_hat(x1_i, ..., xM_i) = sum_m mean_{-m} f (x_m = i) - (M - 1) * grand_mean,

the grand mean subtracted M - 1 times, so an additive function is its own projection. (MultiViz's
``Emap`` subtracts it once, which leaves (M - 2) times the grand mean over for M >= 3.)

For a model of M inputs, :func:`emap_multimodal` streams the same projection without the grid:
exact for small N (every tuple once; the first-layer-linear structure projects each modality
once), or Monte Carlo with K random partner tuples per item and modality (the same seed gives the
same estimate).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from grounding_kit.analysis.grids import like, to_float64, warn_if_probabilities
from grounding_kit.core.validation import (check_finite, check_memory, check_positive_int, check_seed, check_sum_fits,
                                           describe, seed_int)

#: a model of M inputs made of per-modality first-layer parts: see :func:`emap_multimodal`
FIRST_LAYER_PARTS = "modality_parts"


def check_modalities(modalities: Any) -> int:
    """``modalities`` as an int >= 2 (``TypeError`` / ``ValueError`` otherwise)."""
    return check_positive_int("modalities", modalities, minimum=2)


def check_multigrid(P: Any, modalities: int, name: str = "P", warn: bool = True) -> np.ndarray:
    """Validate an M-modality grid and return it as float64 numpy of shape ``(N,)*M + (C,)``.

    Raises
    ------
    TypeError
        For non-float input, or ``modalities`` that is not an int.
    ValueError
        For ``modalities`` < 2, a number of axes other than M or M + 1, unequal modality axes,
        N < 2, an empty class axis, or NaN/inf.
    """
    m = check_modalities(modalities)
    grid = to_float64(name, P)
    expected = f"(N,)*{m} or (N,)*{m} + (C,) with {name}[i, j, ...] = f(x1_i, x2_j, ...)"
    if grid.ndim not in (m, m + 1):
        raise ValueError(f"{name} must have shape {expected} for modalities={m}; got {describe(P)}")
    if len(set(grid.shape[:m])) != 1:
        raise ValueError(f"{name} must have the same length N on its {m} modality axes; got {describe(P)}")
    if grid.shape[0] < 2:
        raise ValueError(f"{name} needs N >= 2 items per modality to average over partners; got {describe(P)}")
    if grid.ndim == m + 1 and grid.shape[m] == 0:
        raise ValueError(f"{name} has an empty class axis; expected {expected} with C >= 1, got {describe(P)}")
    check_finite(name, grid)
    check_sum_fits(name, grid, grid.shape[0] ** (m - 1))
    if grid.ndim == m:
        grid = grid[..., None]
    if warn:
        warn_if_probabilities(name, grid)
    return grid


def partial_means(grid: np.ndarray, keep: Sequence[int], modalities: int) -> np.ndarray:
    """``mean_{-keep} grid``: the mean over every modality axis not in ``keep``, shape ``(N,)*len(keep) + (C,)``."""
    drop = tuple(a for a in range(modalities) if a not in keep)
    return grid.mean(axis=drop) if drop else grid


def marginals(grid: np.ndarray, modalities: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Each modality's partial dependence (M arrays (N, C)) and the grand mean (C,) of a float64 grid."""
    margs = [partial_means(grid, (m,), modalities) for m in range(modalities)]
    return margs, margs[0].mean(axis=0)


def emap_grid(P: Any, modalities: int = 3) -> Any:
    """EMAP of an M-modality grid: ``sum_m marginal_m[i] - (M - 1) * grand_mean``, (N,) or (N, C).

    Parameters
    ----------
    P : ``(N,)*M`` or ``(N,)*M + (C,)`` numpy array or torch tensor of logits.
    modalities : M >= 2.

    Returns
    -------
    (N,) or (N, C), the same kind as ``P`` (float64).
    """
    grid = check_multigrid(P, modalities)
    margs, grand = marginals(grid, modalities)
    return like(P, sum(margs) - (modalities - 1) * grand, squeeze_class=P.ndim == modalities)


def _subset_term(grid: np.ndarray, subset: tuple[int, ...], modalities: int,
                 means: dict[tuple[int, ...], np.ndarray]) -> np.ndarray:
    """Möbius inversion of the partial means: the functional-ANOVA term of ``subset``, ``(N,)*|S| + (C,)``."""
    k = len(subset)
    out = np.zeros(grid.shape[:1] * k + grid.shape[-1:])
    for r in range(k + 1):
        for keep in itertools.combinations(subset, r):
            if keep not in means:
                means[keep] = partial_means(grid, keep, modalities)
            # broadcast the kept axes into their places among the subset's axes
            shape = [grid.shape[0] if a in keep else 1 for a in subset] + [grid.shape[-1]]
            out += (-1) ** (k - r) * means[keep].reshape(shape)
    return out


@dataclass(frozen=True)
class MultiDecomposition:
    """Functional-ANOVA decomposition of an M-modality grid, up to a given order.

    ``P = grand_mean + sum_m main_effects[m] + sum_{a<b} interactions[(a, b)] + ... + remainder``
    (each term broadcast along its modalities' axes). Fields are numpy or torch like the input,
    float64; the class axis is dropped for a grid without one.

    Attributes
    ----------
    names : the modalities' names, in axis order
    order : the highest order kept as separate terms (1: main effects only)
    grand_mean : (C,)
    main_effects : M arrays (N, C), ``mean_{-m} f - grand_mean``
    interactions : {subset: array ``(N,)*|S| + (C,)``} for every subset of 2..order modalities
        (keys are tuples of axis indices, e.g. ``(0, 2)``)
    remainder : ``(N,)*M + (C,)``, every term of order above ``order``
    shares : {subset or "remainder": (C,)} each term's share of the grid's variance (they sum to
        1 for a non-constant grid; 0 for a constant one); main effects under ``(m,)``
    interaction_share : (C,), 1 - the main effects' shares: what no additive function explains
        (the two-modality ``Decomposition.interaction_share``)
    """

    names: tuple[str, ...]
    order: int
    grand_mean: Any
    main_effects: tuple[Any, ...]
    interactions: dict[tuple[int, ...], Any]
    remainder: Any
    shares: dict[Any, Any]
    interaction_share: Any

    def projection(self) -> Any:
        """EMAP's diagonal ``grand_mean + sum_m main_effects[m][i]``, (N, C)."""
        return self.grand_mean + sum(self.main_effects)

    def share_table(self) -> dict[str, float]:
        """``{"text", "image", "text x image", ..., "higher order": share}`` of class 0 (or the only output)."""
        def first(value: Any) -> float:
            return float(np.asarray(value).reshape(-1)[0])

        table = {}
        for key, value in self.shares.items():
            label = "higher order" if key == "remainder" else " x ".join(self.names[a] for a in key)
            table[label] = first(value)
        return table


def default_names(modalities: int) -> tuple[str, ...]:
    """``("text", "image", "audio")`` for M = 3, ``("text", "image")`` for 2, else ``modality 1..M``."""
    if modalities <= 3:
        return ("text", "image", "audio")[:modalities]
    return tuple(f"modality {m + 1}" for m in range(modalities))


def decompose_modalities(P: Any, modalities: int = 3, order: int = 2, names: Sequence[str] | None = None, *,
                         max_bytes: int | None = None) -> MultiDecomposition:
    """Split an M-modality grid into grand mean, main effects, interactions up to ``order`` and a remainder.

    Parameters
    ----------
    P : ``(N,)*M`` or ``(N,)*M + (C,)`` numpy array or torch tensor of logits.
    modalities : M >= 2.
    order : 1 <= order <= M; terms of 2..order modalities are kept one by one (2: the pairs).
    names : the modalities' names (default :func:`default_names`).
    max_bytes : refuse (``BudgetError``) when the new arrays would need more memory than this.

    Returns
    -------
    MultiDecomposition.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_multigrid`; ValueError for an ``order`` outside 1..M or ``names`` of the wrong length.
    BudgetError
        When the remainder (a grid-sized float64 array) and the float64 copy exceed ``max_bytes``.
    """
    m = check_modalities(modalities)
    order = check_positive_int("order", order)
    if order > m:
        raise ValueError(f"order must be between 1 and modalities={m}, got {order}")
    names = default_names(m) if names is None else tuple(str(n) for n in names)
    if len(names) != m:
        raise ValueError(f"names must name the {m} modalities in axis order, got {len(names)}: {list(names)}")
    cells = int(np.prod(getattr(P, "shape", (0,))))
    check_memory(f"decompose of a grid of shape {tuple(getattr(P, 'shape', ()))}", 16 * cells, budget=max_bytes,
                 hint="Decompose a smaller sample: the grid has N**M cells.")
    grid = check_multigrid(P, m)
    n, c = grid.shape[0], grid.shape[-1]
    means: dict[tuple[int, ...], np.ndarray] = {}
    grand = partial_means(grid, (), m).reshape(c)
    means[()] = grand
    terms: dict[tuple[int, ...], np.ndarray] = {}
    for k in range(1, order + 1):
        for subset in itertools.combinations(range(m), k):
            terms[subset] = _subset_term(grid, subset, m, means)
    remainder = grid - grand
    for subset, term in terms.items():
        shape = [n if a in subset else 1 for a in range(m)] + [c]
        remainder -= term.reshape(shape)
    # orthogonality: the variance over the grid is the sum of the terms' mean squares
    squares: dict[Any, np.ndarray] = {subset: (term ** 2).reshape(-1, c).mean(0) for subset, term in terms.items()}
    flat = remainder.reshape(-1, c)
    squares["remainder"] = np.einsum("ic,ic->c", flat, flat) / n ** m
    total = sum(squares.values())
    shares = {key: np.divide(value, total, out=np.zeros_like(total), where=total > 0) for key, value in squares.items()}
    main_share = sum(shares[(a,)] for a in range(m))
    interaction_share = np.where(total > 0, 1.0 - main_share, 0.0)
    squeeze = getattr(P, "ndim", 0) == m

    def out(value: np.ndarray) -> Any:
        return like(P, value, squeeze)

    return MultiDecomposition(
        names=names, order=order, grand_mean=out(grand), main_effects=tuple(out(terms[(a,)]) for a in range(m)),
        interactions={key: out(value) for key, value in terms.items() if len(key) >= 2}, remainder=out(remainder),
        shares={key: out(value) for key, value in shares.items()}, interaction_share=out(interaction_share))


# ---------------------------------------------------------------- models of M inputs


@dataclass(frozen=True)
class MultiEmapEstimate:
    """EMAP of a model of M inputs on N tuples, with the marginals it is built from (float64 numpy).

    Attributes
    ----------
    projection : (N, C), ``sum_m marginals[m][i] - (M - 1) * grand_mean``
    stderr : (N, C) standard errors of ``projection`` (zeros when exact)
    marginals : M arrays (N, C), ``mean f`` with modality m fixed at item i and the others averaged
    grand_mean : (C,)
    diagonal : (N, C), the model's own predictions ``f(x1_i, ..., xM_i)``
    partners : partner tuples averaged per item and modality (N ** (M - 1) when exact)
    exact : whether every tuple entered
    method : "relu closed form", "first-layer-linear stream", "generic stream" or "monte carlo"
    """

    projection: np.ndarray
    stderr: np.ndarray
    marginals: tuple[np.ndarray, ...]
    grand_mean: np.ndarray
    diagonal: np.ndarray
    partners: int
    exact: bool
    method: str


def check_inputs(inputs: Any) -> list[Any]:
    """M >= 2 two-dimensional float tensors (N, D_m) with the same N; returned as a list of float tensors."""
    import torch

    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"inputs must be a list or tuple of M >= 2 arrays (N, D_m), one per modality, "
                        f"got {describe(inputs)}")
    if len(inputs) < 2:
        raise ValueError(f"inputs must hold M >= 2 modalities, got {len(inputs)}")
    out = []
    for m, x in enumerate(inputs):
        t = torch.as_tensor(np.asarray(x)) if isinstance(x, np.ndarray) else x
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.ndim != 2:
            raise TypeError(f"inputs[{m}] must be a float array or tensor of shape (N, D), got {describe(x)}")
        check_finite(f"inputs[{m}]", t)
        out.append(t.float())
    lengths = [len(x) for x in out]
    if len(set(lengths)) != 1:
        raise ValueError(f"inconsistent numbers of items across modalities: {lengths}")
    if lengths[0] < 2:
        raise ValueError(f"EMAP needs N >= 2 items per modality, got {lengths[0]}")
    return out


def relu_sums(own: Any, partner: Any) -> Any:
    """``out[i, h] = sum_j relu(own[i, h] + partner[j, h])`` for (N, H) and (K, H) tensors, in O(H * K log K).

    Per hidden unit, the partners with ``partner > -own[i]`` are a suffix of the sorted partners:
    the sum is their count times ``own[i]`` plus their suffix sum.
    """
    import torch

    n = partner.shape[0]
    ordered = partner.double().T.contiguous().sort(dim=1).values                  # (H, K)
    suffix = torch.cat([ordered.flip(1).cumsum(1).flip(1), ordered.new_zeros(ordered.shape[0], 1)], dim=1)
    values = own.double().T.contiguous()                                          # (H, N)
    first = torch.searchsorted(ordered, -values, right=True)                      # (H, N)
    return ((n - first) * values + suffix.gather(1, first)).T                     # (N, H)


#: the ReLU closed form sorts N ** (M - 1) partner sums per hidden unit: used up to this many values
RELU_CLOSED_FORM_VALUES = 2**25


def _relu_closed_form(ev: "_TupleEvaluator") -> tuple[list[np.ndarray], np.ndarray]:
    """Marginals and diagonal of ``readout(relu(sum_m part_m))`` with no tuple evaluated.

    For modality a, the sums of the other modalities' parts over all N ** (M - 1) partner tuples
    are sorted once per hidden unit; each item's sum of ReLUs over them is then a search and a
    suffix sum (:func:`relu_sums`); the readout is linear.
    """
    import torch

    weight, bias = (value.detach().double() for value in ev.model.relu_readout())
    n, h = ev.n, ev.parts[0].shape[1]
    margs = []
    for a in range(ev.m):
        others = [p for b, p in enumerate(ev.parts) if b != a]
        partner = others[0]
        for part in others[1:]:
            partner = (partner[:, None, :] + part[None, :, :]).reshape(-1, h)
        margs.append((relu_sums(ev.parts[a], partner) @ weight.T / len(partner) + bias).numpy())
    diagonal = (torch.relu(sum(ev.parts)) @ weight.T + bias).numpy()
    return margs, diagonal


class _TupleEvaluator:
    """``f`` on index tuples: the model's first-layer parts when it has them, else the model itself."""

    def __init__(self, model: Any, inputs: list[Any], batch_size: int | None) -> None:
        import torch

        self.model, self.inputs = model, inputs
        self.n, self.m = len(inputs[0]), len(inputs)
        self.parts = None
        if hasattr(model, FIRST_LAYER_PARTS) and hasattr(model, "rest"):
            with torch.no_grad():
                self.parts = [p.double() for p in model.modality_parts(inputs)]   # M x (N, H)
        self.structure = "first-layer-linear" if self.parts is not None else "generic"
        self.batch_size = batch_size or (2**16 if self.parts is not None else 2**13)
        with torch.no_grad():
            self.classes = int(self(np.zeros((1, self.m), dtype=np.int64)).shape[1])

    def __call__(self, index: np.ndarray) -> Any:
        """(B, C) float64 logits of the B tuples ``index`` (B, M)."""
        import torch

        chunks = []
        with torch.no_grad():
            for s in range(0, len(index), self.batch_size):
                block = torch.from_numpy(np.ascontiguousarray(index[s:s + self.batch_size]))
                if self.parts is not None:
                    hidden = sum(part[block[:, a]] for a, part in enumerate(self.parts))
                    chunks.append(self.model.rest(hidden.float()).double())
                else:
                    chunks.append(self.model(*(x[block[:, a]] for a, x in enumerate(self.inputs))).double())
        return torch.cat(chunks)


def _slab_values(ev: _TupleEvaluator, firsts: np.ndarray, rest: np.ndarray) -> Any:
    """f on every tuple whose first index is in ``firsts``: ``(len(firsts),) + (N,)*(M-1) + (C,)`` float64.

    With first-layer parts the hidden sums are broadcast (no gather); else the model is called on
    the index tuples.
    """
    import torch

    n, m = ev.n, ev.m
    if ev.parts is None:
        index = np.concatenate([np.repeat(firsts, len(rest))[:, None], np.tile(rest, (len(firsts), 1))], 1)
        return ev(index).reshape((len(firsts),) + (n,) * (m - 1) + (ev.classes,))
    h = ev.parts[0].shape[1]
    hidden = ev.parts[0][torch.from_numpy(firsts)].reshape((len(firsts),) + (1,) * (m - 1) + (h,))
    for a in range(1, m):
        shape = [1] * m + [h]
        shape[a] = n
        hidden = hidden + ev.parts[a].reshape(shape)
    with torch.no_grad():
        out = ev.model.rest(hidden.reshape(-1, h).float()).double()
    return out.reshape((len(firsts),) + (n,) * (m - 1) + (ev.classes,))


def _stream_exact(ev: _TupleEvaluator, progress: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """Marginals and diagonal from every tuple once, a slab of the first modality at a time."""
    import torch
    from tqdm.auto import tqdm

    n, m, c = ev.n, ev.m, ev.classes
    sums = [torch.zeros(n, c, dtype=torch.float64) for _ in range(m)]
    rest = np.stack(np.meshgrid(*[np.arange(n)] * (m - 1), indexing="ij"), -1).reshape(-1, m - 1)  # (N^(M-1), M-1)
    slab = max(1, min(n, 2**18 // len(rest)))
    for start in tqdm(range(0, n, slab), desc="EMAP (M modalities)", disable=not progress):
        firsts = np.arange(start, min(start + slab, n))
        values = _slab_values(ev, firsts, rest)
        sums[0][torch.from_numpy(firsts)] += values.reshape(len(firsts), -1, c).sum(1)
        for a in range(1, m):
            sums[a] += values.sum(dim=tuple(b for b in range(m) if b != a))
    total = n ** (m - 1)
    margs = [(s / total).numpy() for s in sums]
    return margs, ev(np.repeat(np.arange(n)[:, None], m, 1)).numpy()


def _partner_tuples(n: int, m: int, a: int, k: int, generator: Any) -> np.ndarray:
    """(N, K, M) index tuples for modality ``a``: for item i, K partner tuples with x_a = i.

    Every other modality's index is drawn uniformly from all N, independently (with replacement),
    so each tuple is uniform over the N^(M-1) partners and the K tuples of an item are independent.
    O(N * K * M) memory and time: no N x N array of keys.
    """
    import torch

    index = torch.randint(n, (n, k, m), generator=generator)
    index[:, :, a] = torch.arange(n)[:, None]
    return index.numpy()


def _monte_carlo(ev: _TupleEvaluator, k: int, seed: Any) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Each modality's sampled marginals (N, C), their sampling variances (N, C) and the diagonal (N, C).

    One generator, seeded once, draws modality 0's partners, then modality 1's, ...: the estimate
    depends only on ``(N, M, K, seed)``, not on ``batch_size``.
    """
    import torch

    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed_int(seed))
    means, variances = [], []
    with torch.no_grad():
        for a in range(ev.m):
            tuples = _partner_tuples(ev.n, ev.m, a, k, generator)
            values = ev(tuples.reshape(-1, ev.m)).reshape(ev.n, k, ev.classes).numpy()
            means.append(values.mean(1))
            # independent draws: the variance of a mean of K is the sample variance / K
            variances.append(values.var(1, ddof=1) / k if k > 1 else np.full(values.shape[::2], np.nan))
        diagonal = ev(np.repeat(np.arange(ev.n)[:, None], ev.m, 1)).numpy()
    return means, variances, diagonal


def emap_multimodal(model: Callable[..., Any], inputs: Sequence[Any], partners: int | None = None,
                    seed: int | None = 0, batch_size: int | None = None,
                    progress: bool | None = None) -> MultiEmapEstimate:
    """EMAP of a model of M inputs, ``f(x1_batch, ..., xM_batch) -> (B, C)`` logits, on N tuples.

    Parameters
    ----------
    model : callable on M float tensors (B, D_m) returning (B, C) logits. A model with
        ``modality_parts(inputs) -> [ (N, H) per modality ]`` and ``rest(hidden) -> logits``
        (its first layer linear: ``f = rest(sum_m part_m)``) is streamed on the parts, each
        modality projected once; if ``rest`` is ``relu`` then a linear readout, given by
        ``relu_readout() -> (weight (C, H), bias (C,))``, the exact marginals come in closed form
        (sorted partner sums, O(M * H * N^(M-1) log N), while N^(M-1) * H <= 2**25).
    inputs : M arrays or tensors (N, D_m), item i of each modality observed together.
    partners : None for the exact projection (N ** M tuple evaluations); K in [1, N] for Monte
        Carlo over K random partner tuples per item and modality (M * N * K evaluations, drawn
        independently and uniformly; O(M * N * K) memory, no N x N array).
    seed : seed of the partner draws (the same seed gives the same estimate; None: fresh).
    batch_size : tuples per model call.
    progress : show a progress bar (None: when N ** M >= 250,000).

    Returns
    -------
    MultiEmapEstimate (float64 numpy). Its ``projection`` equals ``emap(P, modalities=M)`` of the
    model's grid.

    Raises
    ------
    TypeError, ValueError
        For inputs that are not M >= 2 float (N, D_m) arrays with one N, or ``partners`` outside 1..N.
    """
    import torch

    xs = check_inputs(list(inputs) if isinstance(inputs, tuple) else inputs)
    n, m = len(xs[0]), len(xs)
    if partners is not None:
        check_positive_int("partners", partners)
        if partners > n:
            raise ValueError(f"partners must be between 1 and N={n} (for more, the exact projection is cheaper), "
                             f"got {partners}")
    seed = check_seed(seed, allow_none=True)
    module = model if isinstance(model, torch.nn.Module) else None
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        ev = _TupleEvaluator(model, xs, batch_size)
        if partners is None:
            show = bool(progress) if progress is not None else n ** m >= 250_000
            if (ev.parts is not None and hasattr(model, "relu_readout")
                    and n ** (m - 1) * ev.parts[0].shape[1] <= RELU_CLOSED_FORM_VALUES):
                (margs, diagonal), method = _relu_closed_form(ev), "relu closed form"
            else:
                (margs, diagonal), method = _stream_exact(ev, show), f"{ev.structure} stream"
            stderr = np.zeros_like(margs[0])
            grand = margs[0].mean(0)
            exact, count = True, n ** (m - 1)
        else:
            margs, variances, diagonal = _monte_carlo(ev, partners, seed)
            grand = np.mean([g.mean(0) for g in margs], axis=0)
            var_sum = sum(variances)
            grand_var = sum(v.sum(0) for v in variances) / (m * n) ** 2
            # projection_i = sum_a r_a[i] - (M - 1) g, where g holds each r_a[i] with weight 1 / (M N)
            proj_var = var_sum * (1 - 2 * (m - 1) / (m * n)) + (m - 1) ** 2 * grand_var
            stderr = np.sqrt(np.clip(proj_var, 0, None))
            method, exact, count = "monte carlo", False, partners
    finally:
        if module is not None:
            module.train(was_training)
    if not np.isfinite(diagonal).all() or not all(np.isfinite(g).all() for g in margs):
        raise ValueError("model returned NaN or inf logits for some tuples; EMAP needs finite logits")
    projection = sum(margs) - (m - 1) * grand
    return MultiEmapEstimate(projection=projection, stderr=stderr, marginals=tuple(margs), grand_mean=grand,
                             diagonal=diagonal, partners=count, exact=exact, method=method)


def tuple_logits(model: Callable[..., Any], inputs: Sequence[Any], batch_size: int | None = None,
                 max_bytes: int = 2**30) -> np.ndarray:
    """The model's full M-modality grid ``(N,)*M + (C,)`` float64, ``P[i, j, k] = f(x1_i, x2_j, x3_k)``.

    Evaluates the model itself on every tuple (no structure used): the brute-force reference.

    Raises
    ------
    BudgetError
        When the grid would need more than ``max_bytes``.
    """
    import torch

    xs = check_inputs(list(inputs) if isinstance(inputs, tuple) else inputs)
    n, m = len(xs[0]), len(xs)
    with torch.no_grad():
        probe = model(*(x[:1] for x in xs))
        c = int(probe.shape[1])
        check_memory(f"tuple_logits of the (N,)*{m} + (C,) = {(n,) * m + (c,)} grid", 8 * n ** m * c,
                     budget=max_bytes, hint="Use emap_multimodal(model, inputs), which streams the projection.")
        index = np.stack(np.meshgrid(*[np.arange(n)] * m, indexing="ij"), -1).reshape(-1, m)
        step = batch_size or 2**15
        out = np.empty((len(index), c))
        for s in range(0, len(index), step):
            block = torch.from_numpy(index[s:s + step])
            out[s:s + step] = model(*(x[block[:, a]] for a, x in enumerate(xs))).double().numpy()
    return out.reshape((n,) * m + (c,))


def monte_carlo_error(model: Callable[..., Any], inputs: Sequence[Any], partners: Sequence[int],
                      seed: int = 0) -> dict[int, dict[str, float]]:
    """RMS error of the Monte Carlo projection against the exact one, for each partner count.

    Returns ``{K: {"rms_error": ..., "mean_stderr": ..., "seconds": ...}}``: the error the estimate
    makes and the error its standard errors claim, side by side.
    """
    import time

    exact = emap_multimodal(model, inputs).projection
    out = {}
    for k in partners:
        start = time.perf_counter()
        est = emap_multimodal(model, inputs, partners=k, seed=seed)
        out[int(k)] = {"rms_error": float(np.sqrt(np.mean((est.projection - exact) ** 2))),
                       "mean_stderr": float(np.sqrt(np.mean(est.stderr ** 2))),
                       "seconds": time.perf_counter() - start}
    return out


__all__ = ["MultiDecomposition", "MultiEmapEstimate", "check_multigrid", "decompose_modalities", "emap_grid",
           "emap_multimodal", "monte_carlo_error", "tuple_logits"]
