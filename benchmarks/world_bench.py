"""How fast does the grounding world generate data? (one process, one core)

Measures scene sampling, rendering at 64 and 224 px (alone and with the PNG encoding that the
datasets store), uncached ``make_task`` per task and ``rebalance``. Each speed is shown as a
ratio to the issue's target of 1,000 images/s and to a baseline measured in the same run:
creating a blank canvas of the same size (and PNG-encoding it), the floor of any PIL pipeline.

    python benchmarks/world_bench.py [--n 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TARGET_IMAGES_PER_S = 1000.0


def rate(n: int, fn) -> float:
    """Items per second of ``fn()`` doing ``n`` items (best of 3)."""
    best = min(_timed(fn) for _ in range(3))
    return n / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(n: int) -> list[dict]:
    from PIL import Image

    from grounding_kit.world import render_scene, sample_scenes
    from grounding_kit.world.storage import png_record

    scenes = sample_scenes(n, seed=0)
    rows = [{"what": "sample_scenes", "size": "-", "per_s": rate(n, lambda: sample_scenes(n, seed=1))}]
    for size in (64, 224):
        blank = rate(n, lambda: [Image.new("RGB", (size, size), (250, 250, 250)) for _ in range(n)])
        blank_png = rate(n, lambda: [png_record(Image.new("RGB", (size, size), (250, 250, 250)))
                                     for _ in range(n)])
        rows.append({"what": "baseline: blank canvas", "size": size, "per_s": blank})
        rows.append({"what": "render_scene", "size": size,
                     "per_s": rate(n, lambda: [render_scene(s, size) for s in scenes]), "baseline": blank})
        rows.append({"what": "baseline: blank canvas + PNG", "size": size, "per_s": blank_png})
        rows.append({"what": "render_scene + PNG", "size": size,
                     "per_s": rate(n, lambda: [png_record(render_scene(s, size)) for s in scenes]),
                     "baseline": blank_png})
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GROUNDING_KIT_CACHE"] = cache  # every make_task below builds from scratch
        import grounding_kit as gk

        gk.make_task("match", n=10, seed=123)  # warm-up: imports datasets
        for name, dials in (("additive", {}), ("match", {}), ("mixed", {"interaction": 0.5}),
                            ("vqa", {"prior": 0.9})):
            seconds = _timed(lambda: gk.make_task(name, n=n, seed=0, **dials))
            rows.append({"what": f"make_task({name!r}) uncached", "size": 64, "per_s": n / seconds,
                         "seconds": seconds})
        vqa = gk.make_task("vqa", n=n, seed=0, prior=0.9)
        start = time.perf_counter()
        balanced = gk.rebalance(vqa)
        seconds = time.perf_counter() - start
        rows.append({"what": f"rebalance (+{len(balanced) - n} images)", "size": 64,
                     "per_s": (len(balanced) - n) / seconds, "seconds": seconds})
        seconds = _timed(lambda: gk.make_task("vqa", n=n, seed=0, prior=0.9))
        rows.append({"what": "make_task('vqa') from cache", "size": 64, "per_s": n / seconds, "seconds": seconds})
    for row in rows:
        row["vs_target"] = row["per_s"] / TARGET_IMAGES_PER_S
        row["vs_baseline"] = row["per_s"] / row["baseline"] if "baseline" in row else None
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images per measurement")
    parser.add_argument("--quick", action="store_true", help="n=500 (for `make bench`)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if args.quick:
        args.n = 500
    rows = run(args.n)
    if args.json:
        print(json.dumps({"n": args.n, "target_images_per_s": TARGET_IMAGES_PER_S, "rows": rows}, indent=1))
        return
    print(f"grounding world, n={args.n} images per row, one process")
    print(f"{'what':<40} {'px':>4} {'items/s':>10} {'vs 1000/s':>10} {'vs blank':>9} {'seconds':>8}")
    for row in rows:
        vs_base = f"{row['vs_baseline']:.2f}x" if row["vs_baseline"] is not None else "-"
        seconds = f"{row['seconds']:.2f}" if "seconds" in row else "-"
        print(f"{row['what']:<40} {row['size']!s:>4} {row['per_s']:>10,.0f} {row['vs_target']:>9.1f}x "
              f"{vs_base:>9} {seconds:>8}")


if __name__ == "__main__":
    main()
