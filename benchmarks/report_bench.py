"""Time of ``emap_report``'s two bootstraps on a precomputed grid, as a ratio to the items bootstrap.

items   resamples the items, the projection held fixed (the baseline, measured in the same run)
refit   re-estimates the text and image marginals and the grand mean inside every resample
        (two (b, N) x (N, N * C) products per block of b = 64 resamples)
tost    ``equivalence_test`` on the same grid (one projection, two one-sided t-tests)

Usage: python benchmarks/report_bench.py [--sizes 200 800] [--n-boot 1000] [--repeats 3] [--quick]
(``--quick``: N = 100, 200 resamples, one repeat, a few seconds; what ``make bench`` runs)
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 800])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="N = 100, 200 resamples, one repeat (seconds)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.n_boot, args.repeats = [100], 200, 1
    from grounding_kit.analysis import emap_report, equivalence_test

    rng = np.random.default_rng(0)
    print(f"{'N':>6} {'items s':>9} {'refit s':>9} {'refit/items':>12} {'tost s':>9}")
    for n in args.sizes:
        grid = rng.normal(size=(n, 1, 2)) + rng.normal(size=(1, n, 2)) + 0.5 * rng.normal(size=(n, n, 2))
        labels = rng.integers(0, 2, n)
        best = {"number": 1, "repeat": args.repeats}  # the best of the repeats (timeit's own advice)
        items = min(timeit.repeat(lambda: emap_report(labels, grid, n_boot=args.n_boot), **best))
        refit = min(timeit.repeat(lambda: emap_report(labels, grid, n_boot=args.n_boot, bootstrap="refit"), **best))
        tost = min(timeit.repeat(lambda: equivalence_test(labels, grid, margin=0.02), **best))
        print(f"{n:>6} {items:>9.3f} {refit:>9.3f} {refit / items:>12.1f} {tost:>9.3f}")


if __name__ == "__main__":
    main()
