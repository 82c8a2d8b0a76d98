"""Cost of each interaction measure against N, as a ratio to exact EMAP on the same grid, measured in the same run.

baseline   ``gk.emap(P)`` on an (N, N, 2) grid: row, column and grand means
measures   ``gk.decompose(P)``; ``gk.modality_shapley(P)`` (M = 2; MM-SHAP and InterSHAP are sums of
           its output); ``gk.perceptual_score`` (exact, from the grid); ``gk.perceptual_score_interval``
           (20 permutations, one modality, and the 1,000-resample bootstrap of their mean); ``gk.pid_features`` (k-means with 6 clusters per modality,
           then the cvxpy program on a 6 x 6 x 2 table); ``gk.interaction_table`` (every measure, one
           model, 20 rounds and 20 resamples)

Inputs: XOR-like labels of two 6-valued attributes, 4-dimensional noisy features, and the grid of
a model that reads them. Each cell is the best of ``--repeats`` runs.
Usage: python benchmarks/measures_bench.py [--sizes 100 200 400] [--quick] [--json]
A run's table, machine and date: benchmarks/measures_bench.md.
"""

from __future__ import annotations

import argparse
import json
import timeit

import numpy as np

import grounding_kit as gk
from grounding_kit.models.features import Features


def data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 6, n), rng.integers(0, 6, n)
    y = ((a < 3) == (b < 3)).astype(int)
    centres = rng.normal(scale=5.0, size=(6, 4))
    text, image = centres[a] + rng.normal(size=(n, 4)), centres[b] + rng.normal(size=(n, 4))
    grid = np.zeros((n, n, 2))
    grid[..., 1] = np.where((a[:, None] < 3) == (b[None, :] < 3), 2.0, -2.0)
    return y, grid, Features(text=text, image=image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes, repeats = ([100, 200], 1) if args.quick else (args.sizes, args.repeats)
    gk.pid([0, 1], [0, 1], [0, 1])  # load cvxpy and its solver once, outside the timings
    rows = []
    for n in sizes:
        y, grid, feats = data(n)
        model = gk.GridModel(grid)
        measures = {
            "emap (baseline)": lambda: gk.emap(grid),
            "decompose": lambda: gk.decompose(grid),
            "modality_shapley": lambda: gk.modality_shapley(grid),
            "perceptual_score": lambda: gk.perceptual_score(y, grid),
            "perceptual_score_interval": lambda: gk.perceptual_score_interval(y, grid, rounds=20),
            "pid_features": lambda: gk.pid_features(feats.text, feats.image, y, clusters=6),
            "interaction_table": lambda: gk.interaction_table(y, model, feats, rounds=20, n_boot=20),
        }
        seconds = {name: min(timeit.repeat(fn, number=1, repeat=repeats)) for name, fn in measures.items()}
        base = seconds["emap (baseline)"]
        rows += [{"N": n, "measure": name, "seconds": s, "ratio": s / base} for name, s in seconds.items()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    names = list(dict.fromkeys(r["measure"] for r in rows))
    print(f"{'measure':<27}" + "".join(f"{'N=' + str(n):>22}" for n in sizes))
    for name in names:
        cells = [r for r in rows if r["measure"] == name]
        print(f"{name:<27}" + "".join(f"{c['seconds'] * 1e3:>10.1f} ms {c['ratio']:>8.0f}x" for c in cells))


if __name__ == "__main__":
    main()
