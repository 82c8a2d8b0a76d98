"""The tiny ViLT's exact EMAP: one process against a 2-worker Dask LocalCluster, in one run.

Rows (all for the same N x N pairs of the embedded tiny ViLT, one torch thread per process):

single       ``emap_model(model, inputs)``: the single-process generic stream (the baseline)
dask-2       ``emap_distributed(model, inputs, client)`` on 2 worker processes (warm: started and
             holding transformers before the clock starts; start-up is reported on its own line)

Ratios are against ``single`` measured in the same run. "overhead per block" is what one more
block costs on the same cluster when the model costs next to nothing: a small interactive head's
exact EMAP on 128 pairs in 1 block and in 256 blocks, (t_256 - t_1) / 255, in milliseconds.

Usage: python benchmarks/dask_bench.py [--n 300] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="questions (pairs N x N), default 300")
    parser.add_argument("--quick", action="store_true", help="N = 100 (make bench passes it)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    n = 100 if args.quick else args.n

    import torch
    from distributed import Client, LocalCluster

    from grounding_kit.analysis import emap_model
    from grounding_kit.analysis.distributed import emap_distributed
    from grounding_kit.models import load_vqa
    from grounding_kit.world import make_task

    torch.set_num_threads(1)
    ds = make_task("vqa", n=n, seed=0, cache=False)
    vqa = load_vqa("tiny-shapes-vqa", device="cpu")
    model, inputs = vqa.pair_model, vqa.pair_inputs(ds["image"], ds["text"])

    rows: dict[str, dict] = {}
    start = time.perf_counter()
    reference = emap_model(model, inputs, progress=False)
    rows["single"] = {"seconds": time.perf_counter() - start}

    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        client.run(lambda: __import__("transformers").ViltForQuestionAnswering)
        startup = time.perf_counter() - start
        start = time.perf_counter()
        est = emap_distributed(model, inputs, client, progress=False)
        rows["dask-2"] = {"seconds": time.perf_counter() - start}
        per_block = overhead_per_block(client)
    error = float((est.projection - reference.projection).abs().max())

    from grounding_kit.analysis.distributed import BLOCK_PAIRS, exact_blocks
    from grounding_kit.analysis.pairs import PairEvaluator

    blocks = len(exact_blocks(PairEvaluator(model, inputs, torch.device("cpu")), BLOCK_PAIRS))
    single = rows["single"]["seconds"]
    for row in rows.values():
        row["ratio_vs_single"] = single / row["seconds"]
    summary = {"n": n, "pairs": n * n, "blocks": blocks, "per_pair_ms": 1e3 * single / (n * n),
               "cluster_startup_s": startup, "max_abs_diff_vs_single": error,
               "overhead_per_block_ms": 1e3 * per_block,
               "cpus": os.cpu_count(), "rows": rows}
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    print(f"tiny ViLT exact EMAP, N={n} ({n * n:,} forward passes, {blocks} blocks), {os.cpu_count()} CPUs")
    print(f"{'path':<8} {'seconds':>9} {'speed vs single':>16}")
    for name, row in rows.items():
        print(f"{name:<8} {row['seconds']:>9.2f} {row['ratio_vs_single']:>15.2f}x")
    print(f"per pair (single): {summary['per_pair_ms']:.3f} ms; cluster start-up + worker imports: {startup:.1f} s; "
          f"overhead per block: {summary['overhead_per_block_ms']:.0f} ms; max |dask - single| = {error:.1e}")


def overhead_per_block(client) -> float:
    """Seconds one more block costs: a nearly free model's EMAP in 1 block and in 256 blocks."""
    import numpy as np
    import torch

    from grounding_kit.analysis.distributed import emap_distributed
    from grounding_kit.models.features import Features
    from grounding_kit.models import fit_head

    gen = torch.Generator().manual_seed(0)
    feats = Features(torch.randn(128, 8, generator=gen), torch.randn(128, 8, generator=gen))
    head = fit_head("interactive", feats, np.arange(128) % 2, hidden=16, epochs=1, progress=False)
    seconds = {}
    for block_pairs in (2**20, 64):  # 1 block; 256 blocks of 8 x 8 pairs
        emap_distributed(head, feats, client, batch_size=64, block_pairs=block_pairs, progress=False)  # warm
        start = time.perf_counter()
        emap_distributed(head, feats, client, batch_size=64, block_pairs=block_pairs, progress=False)
        seconds[block_pairs] = time.perf_counter() - start
    return (seconds[64] - seconds[2**20]) / 255


if __name__ == "__main__":
    main()
