"""Partial information decomposition (PID) of a label by two modalities: a property of the DATA.

How much information two sources ``X1`` (say the text) and ``X2`` (the image) carry about a
label ``Y`` splits, following Williams & Beer (2010), into four non-negative parts (bits):

    I(X1, X2; Y) = R + U1 + U2 + S,    I(X1; Y) = R + U1,    I(X2; Y) = R + U2

redundancy ``R`` (what either source tells), uniqueness ``U1``/``U2`` (what only one tells) and
synergy ``S`` (what only the two together tell). The three equations leave one degree of freedom;
the BROJA definition (Bertschinger, Rauh, Olbrich, Jost & Ay, "Quantifying unique information",
Entropy 2014) fixes it with an optimisation over the set ``Delta_p`` of joint distributions ``q``
that keep both pairwise marginals ``p(x1, y)`` and ``p(x2, y)``:

    U1 = min_{q in Delta_p} I_q(X1; Y | X2),     S = I_p(X1, X2; Y) - min_{q in Delta_p} I_q(X1, X2; Y)

and one ``q*`` attains every minimum. Liang et al. ("Quantifying & Modeling Multimodal
Interactions: An Information Decomposition Framework", NeurIPS 2023) use exactly this definition
to say which interactions a multimodal *dataset* needs; their "CVX" estimator solves it as a convex
program over a discretised joint table (they discretise continuous features by clustering).

Two solvers, both existing libraries (no solver is written here):

- ``method="cvxpy"`` (default): the convex program of Liang et al.'s CVX estimator,
  ``q* = argmax_{q in Delta_p} H_q(Y | X1, X2)`` (equivalently ``argmin I_q(X1, X2; Y)``, as
  ``H(Y)`` is fixed on ``Delta_p``), written with ``cvxpy.rel_entr`` and solved by cvxpy's
  exponential-cone solver; the four parts then follow from ``q*`` in closed form.
- ``method="dit"``: ``dit.pid.PID_BROJA`` from the ``dit`` package (the optional extra
  ``grounding_kit[pid]``), the reference implementation, used in the tests as a cross-check.
  Its solver (SLSQP from a random start) can stop short of the optimum: on ``Y = X1 XOR X2`` 10
  of 200 starts gave a synergy of 0.89, 0.95, even -0.99 instead of 1. The kit runs it from the
  fixed starts :data:`DIT_SEEDS` and keeps the best, the one with the largest synergy (every start
  ends on a ``q`` with the data's pairwise marginals, where ``I_q(X1, X2; Y)`` is the objective to
  minimise and the synergy is ``I_p(X1, X2; Y) - I_q(X1, X2; Y)``).

Canonical values (asserted in tests/test_analysis_pid.py): ``Y = X1 XOR X2`` has S = 1 bit and
nothing else; ``X1 = X2 = Y`` has R = 1; ``X1 = Y`` with ``X2`` independent noise has U1 = 1;
``Y = X1 AND X2`` has R = 0.311 (= I(X1; Y)), S = 0.5 and no uniqueness.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from grounding_kit.core.validation import check_choice, check_consistent_length, check_positive_int, describe, seed_int

METHODS: tuple[str, ...] = ("cvxpy", "dit")
#: the seeded starts of dit's BROJA solver; the best of them is kept (see the module docstring)
DIT_SEEDS: tuple[int, ...] = (0, 1, 2)
PARTS: tuple[str, ...] = ("redundancy", "unique_1", "unique_2", "synergy")
#: below this a part is solver round-off (the exponential-cone solvers reach about 1e-7)
_ROUND_OFF = 1e-6


@dataclass(frozen=True)
class PID:
    """The BROJA decomposition of ``I(X1, X2; Y)`` in bits (a property of the data).

    Attributes
    ----------
    redundancy : information about Y that X1 and X2 both carry
    unique_1, unique_2 : information about Y that only X1 (resp. X2) carries
    synergy : information about Y that only X1 and X2 together carry
    total : ``I(X1, X2; Y)`` = the sum of the four parts
    mi_1, mi_2 : ``I(X1; Y)`` = redundancy + unique_1, ``I(X2; Y)`` = redundancy + unique_2
    """

    redundancy: float
    unique_1: float
    unique_2: float
    synergy: float
    total: float
    mi_1: float
    mi_2: float

    def as_dict(self) -> dict[str, float]:
        """The four parts (and the totals) as a plain dict."""
        return asdict(self)


# ---------------------------------------------------------------- the joint table


def joint_table(x1: Any, x2: Any, y: Any) -> np.ndarray:
    """Empirical joint distribution ``p[a, b, c] = P(X1 = a-th value, X2 = b-th, Y = c-th)``.

    Parameters
    ----------
    x1, x2, y : (N,) discrete samples (integers, strings, ...; any hashable values).

    Returns
    -------
    (K1, K2, Ky) float64 table summing to 1, axes ordered by the sorted distinct values.

    Raises
    ------
    ValueError
        inconsistent lengths, an empty sample, or a sample that is not one-dimensional.
    """
    columns = [np.asarray(v) for v in (x1, x2, y)]
    for name, col in zip(("x1", "x2", "y"), columns):
        if col.ndim != 1:
            raise ValueError(f"{name} must be a 1-d array of discrete values, got shape {col.shape}; "
                             "for continuous features use pid_features")
    check_consistent_length(x1=columns[0], x2=columns[1], y=columns[2])
    if len(columns[2]) == 0:
        raise ValueError("x1, x2 and y are empty; need at least one sample")
    codes = [np.unique(col, return_inverse=True) for col in columns]
    shape = tuple(len(values) for values, _ in codes)
    table = np.zeros(shape)
    np.add.at(table, tuple(inverse.ravel() for _, inverse in codes), 1.0)
    return table / table.sum()


def check_table(p: Any, name: str = "p") -> np.ndarray:
    """A (K1, K2, Ky) joint probability table as float64, checked (non-negative, sums to 1).

    Raises
    ------
    TypeError
        ``p`` is not an array of numbers.
    ValueError
        wrong number of axes, negative or non-finite entries, or a sum away from 1.
    """
    try:
        table = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a (K1, K2, Ky) array of probabilities, got {describe(p)}") from err
    if table.ndim != 3:
        raise ValueError(f"{name} must be a joint table of shape (K1, K2, Ky) with p[a, b, c] = "
                         f"P(X1=a, X2=b, Y=c), got shape {table.shape}")
    if not np.all(np.isfinite(table)) or table.min() < 0:
        raise ValueError(f"{name} must hold finite non-negative probabilities")
    if abs(table.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1 (a joint distribution), sums to {table.sum():.6g}")
    return table / table.sum()


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def mutual_information(p: np.ndarray) -> tuple[float, float, float]:
    """``(I(X1; Y), I(X2; Y), I(X1, X2; Y))`` in bits of a (K1, K2, Ky) joint table."""
    hy = _entropy(p.sum((0, 1)))
    mi_1 = _entropy(p.sum((1, 2))) + hy - _entropy(p.sum(1))
    mi_2 = _entropy(p.sum((0, 2))) + hy - _entropy(p.sum(0))
    mi_12 = _entropy(p.sum(2)) + hy - _entropy(p)
    return mi_1, mi_2, mi_12


# ---------------------------------------------------------------- the two solvers


@lru_cache(maxsize=16)
def _broja_program(shape: tuple[int, int, int]) -> tuple[Any, list[Any], Any, Any]:
    """The BROJA program for tables of ``shape``, compiled once (DPP: the marginals are parameters).

    Returns (problem, q (one (K1, K2) variable per label value), p(x1, y) and p(x2, y) parameters).
    """
    import cvxpy as cp

    k1, k2, ky = shape
    q = [cp.Variable((k1, k2), nonneg=True) for _ in range(ky)]
    p_x1y, p_x2y = cp.Parameter((k1, ky), nonneg=True), cp.Parameter((k2, ky), nonneg=True)
    q_x1x2 = sum(q)  # q(x1, x2) = sum_y q(x1, x2, y)
    constraints = []
    for c in range(ky):
        constraints += [cp.sum(q[c], axis=1) == p_x1y[:, c],   # q(x1, y) = p(x1, y)
                        cp.sum(q[c], axis=0) == p_x2y[:, c]]   # q(x2, y) = p(x2, y)
    # -H_q(Y | X1, X2) = sum q(x1, x2, y) log(q(x1, x2, y) / q(x1, x2)), jointly convex (rel_entr)
    objective = cp.Minimize(sum(cp.sum(cp.rel_entr(q[c], q_x1x2)) for c in range(ky)))
    return cp.Problem(objective, constraints), q, p_x1y, p_x2y


def _optimal_q_cvxpy(p: np.ndarray) -> np.ndarray:
    """``q* = argmax_{q in Delta_p} H_q(Y | X1, X2)`` by cvxpy (Liang et al.'s CVX program)."""
    problem, q, p_x1y, p_x2y = _broja_program(p.shape)
    p_x1y.value, p_x2y.value = p.sum(1), p.sum(0)
    problem.solve()
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"cvxpy could not solve the BROJA program (status {problem.status!r})")
    out = np.stack([np.clip(v.value, 0, None) for v in q], axis=2)
    return out / out.sum()


def _pid_cvxpy(p: np.ndarray) -> tuple[float, float, float, float]:
    mi_1, mi_2, mi_12 = mutual_information(p)
    q = _optimal_q_cvxpy(p)
    # on Delta_p, I_q(X1; Y) and I_q(X2; Y) equal p's; only I_q(X1, X2; Y) moves
    _, _, mi_12_q = mutual_information(q)
    unique_1 = mi_12_q - mi_2          # I_q(X1; Y | X2) = I_q(X1, X2; Y) - I(X2; Y)
    unique_2 = mi_12_q - mi_1
    redundancy = mi_1 - unique_1
    synergy = mi_12 - mi_12_q
    return redundancy, unique_1, unique_2, synergy


def _pid_dit(p: np.ndarray, seeds: tuple[int, ...] = DIT_SEEDS) -> tuple[float, float, float, float]:
    """(R, U1, U2, S) by dit's PID_BROJA, the best (largest synergy) of its runs from ``seeds``."""
    from grounding_kit.core.extras import require

    dit = require("dit", "pid")
    from dit.pid import PID_BROJA

    outcomes, probs = [], []
    for index in zip(*np.nonzero(p)):
        outcomes.append(tuple(int(i) for i in index))
        probs.append(float(p[index]))
    dist = dit.Distribution(outcomes, probs)
    runs = []
    for seed in seeds:
        result = PID_BROJA(dist, [[0], [1]], [2], rng=np.random.default_rng(seed))
        runs.append((result.get_pi(((0,), (1,))), result.get_pi(((0,),)), result.get_pi(((1,),)),
                     result.get_pi(((0, 1),))))
    return max(runs, key=lambda parts: parts[3])


def _clean(value: float) -> float:
    """Solver round-off to 0 (a PID part is >= 0)."""
    return 0.0 if abs(value) < _ROUND_OFF else float(value)


def pid(x1: Any, x2: Any = None, y: Any = None, *, method: str = "cvxpy") -> PID:
    """BROJA partial information decomposition of ``I(X1, X2; Y)``, in bits.

    A property of the **data** (the joint distribution of the two modalities and the label),
    not of any model: synergy > 0 means that no function of one modality alone, and no
    combination of what each tells separately, recovers all the label's information.

    Parameters
    ----------
    x1, x2, y : (N,) discrete samples of the first modality, the second and the label; or pass
        one joint probability table ``p`` of shape (K1, K2, Ky), ``p[a, b, c] = P(X1=a, X2=b, Y=c)``,
        as ``x1`` alone.
    method : "cvxpy" (Liang et al.'s convex program; default) or "dit" (``dit.pid.PID_BROJA``;
        needs the extra ``grounding_kit[pid]``).

    Returns
    -------
    PID with ``redundancy``, ``unique_1``, ``unique_2``, ``synergy`` (each >= 0, round-off
    below 1e-6 set to 0) and the mutual informations they add up to.

    Raises
    ------
    ValueError
        an unknown ``method``, samples of different lengths, or an invalid table.
    TypeError
        a table that is not numeric, or only one of ``x2`` and ``y`` given.
    ImportError
        ``method="dit"`` without the ``dit`` package.
    RuntimeError
        the convex solver fails.

    Examples
    --------
    >>> xor = pid([0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 1, 0])
    >>> round(xor.synergy, 3), round(xor.redundancy, 3)
    (1.0, 0.0)
    """
    check_choice("method", method, METHODS)
    if x2 is None and y is None:
        p = check_table(x1, name="x1 (a joint table)")
    elif x2 is None or y is None:
        raise TypeError("pid takes three samples (x1, x2, y) or one joint table; got only one of x2 and y")
    else:
        p = joint_table(x1, x2, y)
    mi_1, mi_2, mi_12 = mutual_information(p)
    parts = _pid_cvxpy(p) if method == "cvxpy" else _pid_dit(p)
    r, u1, u2, s = (_clean(v) for v in parts)
    return PID(redundancy=r, unique_1=u1, unique_2=u2, synergy=s, total=_clean(mi_12), mi_1=_clean(mi_1),
               mi_2=_clean(mi_2))


# ---------------------------------------------------------------- continuous features


#: feature rows equal to this many decimals are one value for :func:`discretize`
SAME_ROW_DECIMALS = 5


def discretize(features: Any, clusters: int, seed: int = 0, name: str = "features") -> np.ndarray:
    """Cluster ids (N,) of (N, D) features by k-means (scikit-learn, ``n_init=4``).

    Features with at most ``clusters`` distinct rows are coded by those rows exactly (lossless; k-means
    could merge two of them in a local optimum). Rows are compared after rounding to
    :data:`SAME_ROW_DECIMALS` decimals: an encoder run in batches of another size can give the same
    input last-bit different float32 features."""
    from sklearn.cluster import KMeans

    x = np.asarray(features, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must be (N, D) features, got shape {x.shape}")
    clusters = check_positive_int("clusters", clusters)
    if clusters > len(x):
        raise ValueError(f"clusters={clusters} exceeds the {len(x)} samples of {name}")
    distinct, codes = np.unique(np.round(x, SAME_ROW_DECIMALS), axis=0, return_inverse=True)
    if len(distinct) <= clusters:
        return codes.ravel()
    return KMeans(n_clusters=clusters, n_init=4, random_state=seed % 2**32).fit_predict(x)  # sklearn takes 32 bits


def pid_features(text: Any, image: Any, labels: Any, clusters: int = 8, seed: int | None = 0, *,
                 method: str = "cvxpy") -> PID:
    """PID of continuous features: cluster each modality, then :func:`pid` on the cluster ids.

    Liang et al.'s CVX estimator (NeurIPS 2023, section 3) discretises each modality's features by
    clustering before solving the BROJA program; this does the same with k-means.

    Bias (what a student must know before reading the numbers):

    - **Clustering can only lose information** (data processing inequality): every mutual
      information, hence the total, is at most that of the features. Too few clusters merge the
      values that carry the label: information is lost, and for an XOR-like label the lost part
      is typically the synergy, which needs the two modalities' fine values together.
    - **Too many clusters for N samples inflate it**: the plug-in estimate of a mutual information
      from a table with K1 * K2 * Ky cells is biased upwards by about
      ``(cells - 1) / (2 N ln 2)`` bits (Miller-Madow), and that spurious information lands mostly
      in the synergy (the joint cells are the sparsest). Keep ``N`` well above ``K1 * K2 * Ky``.
    - Where the label is determined by a few discrete attributes that the features separate (the
      shapes-world tasks of :mod:`grounding_kit.world.pid_tasks`), a number of clusters at least the
      number of attribute values recovers the exact answer (tested).

    Parameters
    ----------
    text, image : (N, D1) and (N, D2) features (or (N,) scalars) of the two modalities.
    labels : (N,) discrete labels.
    clusters : k-means clusters per modality.
    seed : seed of k-means (an int or a Generator; None: fresh randomness).
    method : as for :func:`pid`.

    Returns
    -------
    PID of (text cluster, image cluster, label).

    Raises
    ------
    ValueError
        features that are not (N, D), more clusters than samples, inconsistent lengths.
    """
    seed = seed_int(np.random.default_rng() if seed is None else seed)  # None: fresh randomness
    y = np.asarray(labels)
    t, v = np.asarray(text), np.asarray(image)
    check_consistent_length(text=t, image=v, labels=y)
    return pid(discretize(t, clusters, seed, "text"), discretize(v, clusters, seed, "image"), y, method=method)
