"""Exact 3-modality EMAP of a head, streamed against brute force; Monte Carlo error against partners.

brute force   ``tuple_logits`` (the head called on every one of the N^3 tuples, the (N, N, N, C)
              grid materialized) then ``gk.emap(P, modalities=3)``
closed form   ``emap_multimodal(head, inputs)``: the ReLU closed form (each modality's first-layer
              part computed once; per hidden unit the N^2 partner sums sorted once, each item's
              sum of ReLUs a search and a suffix sum; the readout is linear)
streamed      the same head showing only its first-layer parts: the tuples' hidden sums streamed
              a slab at a time (no grid), the marginals accumulated
generic       the same head with its structure hidden: called on batches of tuples

Both are exact; the script prints their agreement, their times and the ratio, measured in the same
run, then the Monte Carlo projection's RMS error against the exact one for a few partner counts
(with the standard error it claims beside it). The head: ``MultimodalHead`` over three 64-d
modalities, hidden width 64, two classes, random weights, N = 100 (10^6 tuples).

Usage: python benchmarks/multimodal_bench.py [--n 100] [--partners 4 16 64] [--quick] [--json]
(``--quick``: N = 30 and partners 4 16, a few seconds; what ``make bench`` runs)
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import grounding_kit as gk
from grounding_kit.analysis.multimodal import emap_multimodal, monte_carlo_error, tuple_logits
from grounding_kit.core.threads import single_thread
from grounding_kit.models.multimodal_head import FirstLayerOnly, MultimodalHead


class Hidden(torch.nn.Module):
    """The head without ``modality_parts``: the generic stream."""

    def __init__(self, head: MultimodalHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.head(*inputs)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--partners", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--quick", action="store_true", help="N = 30, partners 4 16 (seconds)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n, args.partners = 30, [4, 16]
    torch.manual_seed(0)
    head = MultimodalHead([64, 64, 64], classes=2, hidden=64).eval()
    inputs = [torch.randn(args.n, 64) for _ in range(3)]
    with single_thread():
        brute, t_brute = timed(lambda: gk.emap(tuple_logits(head, inputs), modalities=3))
        closed, t_closed = timed(lambda: emap_multimodal(head, inputs, progress=False))
        streamed, t_stream = timed(lambda: emap_multimodal(FirstLayerOnly(head), inputs, progress=False))
        generic, t_generic = timed(lambda: emap_multimodal(Hidden(head), inputs, progress=False))
        errors = monte_carlo_error(head, inputs, args.partners, seed=0)
    result = {
        "n": args.n, "tuples": args.n ** 3,
        "brute_force_seconds": round(t_brute, 3), "closed_form_seconds": round(t_closed, 4),
        "streamed_seconds": round(t_stream, 3),
        "generic_stream_seconds": round(t_generic, 3),
        "speedup_closed_form_vs_brute": round(t_brute / t_closed, 1),
        "speedup_streamed_vs_brute": round(t_brute / t_stream, 2),
        "speedup_generic_vs_brute": round(t_brute / t_generic, 2),
        "max_abs_diff_closed_form": float(np.abs(closed.projection - brute).max()),
        "max_abs_diff_streamed": float(np.abs(streamed.projection - brute).max()),
        "max_abs_diff_generic": float(np.abs(generic.projection - brute).max()),
        "monte_carlo": {k: {key: round(v, 5) for key, v in row.items()} for k, row in errors.items()},
        "projection_rms": float(np.sqrt(np.mean(brute ** 2))),
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"exact 3-modality EMAP of a head, N = {args.n} ({args.n ** 3:,} tuples), one thread")
    print(f"{'method':<28}{'seconds':>10}{'vs brute force':>16}{'max |diff|':>14}")
    print(f"{'brute force (grid + emap)':<28}{t_brute:>10.3f}{1.0:>16.2f}{0.0:>14.1e}")
    print(f"{'relu closed form':<28}{t_closed:>10.3f}{t_brute / t_closed:>16.1f}"
          f"{result['max_abs_diff_closed_form']:>14.1e}")
    print(f"{'streamed (first layer)':<28}{t_stream:>10.3f}{t_brute / t_stream:>16.2f}"
          f"{result['max_abs_diff_streamed']:>14.1e}")
    print(f"{'streamed (generic)':<28}{t_generic:>10.3f}{t_brute / t_generic:>16.2f}"
          f"{result['max_abs_diff_generic']:>14.1e}")
    print(f"\nMonte Carlo against the exact projection (RMS of the projection: {result['projection_rms']:.3f})")
    print(f"{'partners':>9}{'rms error':>12}{'claimed stderr':>16}{'seconds':>10}")
    for k, row in errors.items():
        print(f"{k:>9}{row['rms_error']:>12.4f}{row['mean_stderr']:>16.4f}{row['seconds']:>10.3f}")


if __name__ == "__main__":
    main()
