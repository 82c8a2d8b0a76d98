"""Peak memory and time of ``decompose`` against the textbook expression, measured in the same run.

baseline   the direct numpy expression: ``interaction = P - rows - cols + grand`` (three
           full-size temporaries) and ``share = sum(interaction^2) / sum((P - grand)^2)`` (two more)
kit        ``grounding_kit.decompose``: one new (N, N, C) array updated in place, the share from
           the orthogonality of the parts, squares summed in rescaled blocks of about 4 MiB

Peak memory is numpy's allocations above the input grid, traced with ``tracemalloc``, in units of
the grid's size. Usage: python benchmarks/decompose_bench.py [--sizes 500 1500 3000] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

from grounding_kit import decompose

CLASSES = 2


def baseline(P: np.ndarray) -> np.ndarray:
    rows, cols = P.mean(axis=1), P.mean(axis=0)
    grand = rows.mean(axis=0)
    interaction = P - rows[:, None, :] - cols[None, :, :] + grand
    return (interaction ** 2).sum(axis=(0, 1)) / ((P - grand) ** 2).sum(axis=(0, 1))


def measure(fn, P: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(peak extra memory in grids, seconds, result)."""
    tracemalloc.start()
    start = time.perf_counter()
    out = fn(P)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / P.nbytes, seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1500, 3000])
    parser.add_argument("--quick", action="store_true", help="small sizes only (as `make bench` runs it)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [200, 800] if args.quick else args.sizes
    rows = []
    for n in sizes:
        P = np.random.default_rng(0).normal(size=(n, n, CLASSES))
        base_mem, base_s, expected = measure(baseline, P)
        kit_mem, kit_s, parts = measure(decompose, P)
        assert np.allclose(parts.interaction_share, expected)
        rows.append({"N": n, "grid_MiB": round(P.nbytes / 2**20, 1), "baseline_peak_grids": round(base_mem, 2),
                     "kit_peak_grids": round(kit_mem, 2), "memory_ratio": round(kit_mem / base_mem, 2),
                     "time_ratio": round(kit_s / base_s, 2)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'N':>6} {'grid MiB':>9} {'baseline peak':>14} {'kit peak':>9} {'memory ratio':>13} {'time ratio':>11}")
    for r in rows:
        print(f"{r['N']:>6} {r['grid_MiB']:>9} {r['baseline_peak_grids']:>13}x {r['kit_peak_grids']:>8}x "
              f"{r['memory_ratio']:>13} {r['time_ratio']:>11}")


if __name__ == "__main__":
    main()
