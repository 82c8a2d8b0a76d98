"""Time and peak memory of exact EMAP paths on an MLP head over 512-d features.

Methods (each (method, N) runs in its own subprocess, so peak RSS is its own):

naive        concatenate every pair [t_i; v_j] and run the whole head, then project
             (timed on the first rows of the grid and extrapolated when N is large)
generic      grounding_kit's generic batched stream (the head's structure hidden)
             (timed on a subset of N' pairs and scaled by (N / N')^2 when N is large)
factorized   grounding_kit's first-layer-linear stream: each modality projected once
relu-closed  grounding_kit's ReLU closed form on the same head (it declares relu_readout):
             per hidden unit a sort and prefix sums, O(H N log N), no pair evaluated
closed-form  grounding_kit's bilinear closed form, on a rank-16 bilinear head
dict         a nested-dict reference like the paper's example code (small N only)

Usage: python benchmarks/emap_bench.py [--sizes 1000 4000 10000] [--quick] [--json] [--threads 2]

Workers run with ``OMP_WAIT_POLICY=PASSIVE`` unless the variable is set: on a busy 2-core machine
torch's default spinning OpenMP threads made the streamed path (many small memory-bound steps)
about 25x slower with 2 threads than with 1; passive waiting removes that. ``--threads 1`` is
still the fastest setting on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict

DIM, HIDDEN, CLASSES, RANK = 512, 256, 2, 16
METHODS = ("naive", "generic", "factorized", "relu-closed", "closed-form", "dict")
EXACT_LIMIT = {"naive": 250_000, "generic": 250_000}  # pairs timed before extrapolating
DICT_MAX_N = 1000


def build(n: int):
    """Features (N, 512) x 2, an MLP head (hidden 256) and a rank-16 bilinear head, seeded."""
    import torch

    from grounding_kit.models.features import Features
    from grounding_kit.models.contract import BilinearFactors

    class MLPHead(torch.nn.Module):
        structure = "first-layer-linear"

        def __init__(self):
            super().__init__()
            self.first = torch.nn.Linear(2 * DIM, HIDDEN)
            self.out = torch.nn.Linear(HIDDEN, CLASSES)

        def forward(self, text, image):  # the naive way: concatenate the pair
            return self.rest(self.first(torch.cat([text, image], dim=1)))

        def first_layer(self, text, image):
            w = self.first.weight
            return text @ w[:, :DIM].T + self.first.bias, image @ w[:, DIM:].T

        def rest(self, hidden):
            return self.out(torch.relu(hidden))

    class ReluReadoutHead(MLPHead):
        """The same MLP, also declaring its ReLU read-out (the engine's O(H N log N) path)."""

        def relu_readout(self):
            return self.out.weight, self.out.bias

    class BilinearHead(torch.nn.Module):
        structure = "bilinear"

        def __init__(self):
            super().__init__()
            self.left = torch.nn.Linear(DIM, RANK * CLASSES, bias=False)
            self.right = torch.nn.Linear(DIM, RANK, bias=False)
            self.text_linear = torch.nn.Linear(DIM, CLASSES)
            self.image_linear = torch.nn.Linear(DIM, CLASSES, bias=False)

        def bilinear_factors(self, text, image):
            return BilinearFactors(self.left(text).view(len(text), RANK, CLASSES), self.right(image),
                                   self.text_linear(text), self.image_linear(image))

        def forward(self, text, image):
            f = self.bilinear_factors(text, image)
            return torch.einsum("brc,br->bc", f.left, f.right) + f.text_bias + f.image_bias

    torch.manual_seed(0)
    feats = Features(torch.randn(n, DIM), torch.randn(n, DIM))
    mlp = MLPHead().eval()
    relu = ReluReadoutHead().eval()
    relu.load_state_dict(mlp.state_dict())
    return feats, mlp, relu, BilinearHead().eval()


def naive(head, feats, rows: int) -> None:
    """All pairs of the first ``rows`` texts, concatenated and run through the whole head."""
    import torch

    n = len(feats)
    with torch.no_grad():
        for i in range(rows):
            head(feats.text[i].expand(n, DIM), feats.image)


def dict_reference(head, feats) -> None:
    """Nested dicts {i: {j: logits}} filled row by row, then projected like the paper's code."""
    import numpy as np
    import torch

    n = len(feats)
    logits = {}
    with torch.no_grad():
        for i in range(n):
            row = head(feats.text[i].expand(n, DIM), feats.image).numpy()
            logits[i] = {j: row[j] for j in range(n)}
    by_image = defaultdict(dict)
    for i, row in logits.items():
        for j, value in row.items():
            by_image[j][i] = value
    grand = np.mean(np.vstack([v for row in logits.values() for v in row.values()]), axis=0)
    [np.mean(np.vstack(list(logits[i].values())), axis=0) + np.mean(np.vstack(list(by_image[i].values())), axis=0)
     - grand for i in range(n)]


def worker(method: str, n: int, threads: int) -> dict:
    """Run one method at one size in this process; report seconds and memory."""
    import torch

    from grounding_kit.analysis import emap_model

    torch.set_num_threads(threads)
    feats, mlp, relu, bilinear = build(n)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    scale, note = 1.0, ""
    start = time.perf_counter()
    if method == "naive":
        rows = min(n, max(1, EXACT_LIMIT["naive"] // n))
        naive(mlp, feats, rows)
        scale = n / rows
    elif method == "generic":
        sub = min(n, int(EXACT_LIMIT["generic"] ** 0.5))
        emap_model(lambda t, v: mlp(t, v), feats.take(range(sub)), device="cpu", progress=False)
        scale = (n / sub) ** 2
    elif method == "factorized":
        emap_model(mlp, feats, device="cpu", progress=False)
    elif method == "relu-closed":
        emap_model(relu, feats, device="cpu", progress=False)
    elif method == "closed-form":
        emap_model(bilinear, feats, device="cpu", progress=False)
    elif method == "dict":
        dict_reference(mlp, feats)
    seconds = (time.perf_counter() - start) * scale
    if scale > 1:
        note = "extrapolated x%.1f" % scale
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"method": method, "n": n, "seconds": seconds, "peak_rss_bytes": peak, "base_rss_bytes": base,
            "note": note}


def run(method: str, n: int, threads: int) -> dict:
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    out = subprocess.run([sys.executable, __file__, "--worker", method, str(n), "--threads", str(threads)],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"method": method, "n": n, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> str:
    naive_s = {r["n"]: r["seconds"] for r in results if r["method"] == "naive" and "seconds" in r}
    lines = [f"{'N':>6}  {'method':<12} {'seconds':>10} {'speedup':>9} {'peak RSS':>10} {'+ over base':>11}  note",
             "-" * 78]
    for r in results:
        if "error" in r:
            lines.append(f"{r['n']:>6}  {r['method']:<12} error: {r['error']}")
            continue
        speed = naive_s.get(r["n"], float("nan")) / r["seconds"]
        lines.append(f"{r['n']:>6}  {r['method']:<12} {r['seconds']:>10.2f} {speed:>8.1f}x "
                     f"{r['peak_rss_bytes'] / 2**20:>8.0f}MB {(r['peak_rss_bytes'] - r['base_rss_bytes']) / 2**20:>9.0f}MB"
                     f"  {r['note']}")
    return "\n".join(lines)


def targets(results: list[dict]) -> str:
    """The issue's targets (2 CPU cores) for both exact paths of the MLP head: N=10,000 <= 30 s and
    <= 2 GB; >= 50x faster than naive at N=4,000."""
    got = {(r["method"], r["n"]): r for r in results if "seconds" in r}
    lines = []
    for method in ("factorized", "relu-closed"):
        if (method, 10000) in got:
            r = got[method, 10000]
            lines.append(f"target N=10,000 exact ({method}) <= 30 s, <= 2 GB: {r['seconds']:.2f} s, "
                         f"peak RSS {r['peak_rss_bytes'] / 2**30:.2f} GB")
        if (method, 4000) in got and ("naive", 4000) in got:
            ratio = got["naive", 4000]["seconds"] / got[method, 4000]["seconds"]
            lines.append(f"target >= 50x vs naive at N=4,000 ({method}): {ratio:.1f}x "
                         f"(naive {got['naive', 4000]['note'] or 'measured'})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--quick", action="store_true", help="sizes 300 and 1000 only")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run (default 2)")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.threads)))
        return
    sizes = [300, 1000] if args.quick else args.sizes
    load = os.getloadavg()[0]
    results = [run(m, n, args.threads) for n in sizes for m in args.methods if not (m == "dict" and n > DICT_MAX_N)]
    if args.json:
        print(json.dumps({"threads": args.threads, "load_average_at_start": load, "dim": DIM, "hidden": HIDDEN, "classes": CLASSES, "bilinear_rank": RANK,
                          "results": results}, indent=2))
    else:
        print(f"exact EMAP, MLP head [t; v] ({2 * DIM} -> {HIDDEN} -> {CLASSES}), closed form on a rank-{RANK} "
              f"bilinear head; {args.threads} torch threads, OMP_WAIT_POLICY="
              f"{os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')}, load average {load:.1f} at start;\n"
              "speedup vs naive at the same N; peak RSS includes torch and the features (base)")
        print(table(results))
        print(targets(results))


if __name__ == "__main__":
    main()
