"""How well does a CLIP answer what a lecturer types? (typed queries on fresh scenes)

For each query kind (single objects with any subset of size/colour/shape, two objects, counts,
left/right) the gallery of fresh scenes (seed 20,000, which no training stream uses) is ranked
by the model and scored with :func:`grounding_kit.models.queries.evaluate_queries`: ``top1`` (the
best-ranked image holds the query) and ``top5`` (mean fraction of the 5 best that hold it).
The 36-caption zero-shot accuracy and the match-task AUC (:func:`evaluate_clip`) are shown
too. A random-weights tiny CLIP, measured in the same run, is the baseline (chance level).

    python benchmarks/query_bench.py [--model tiny-shapes --model /tmp/old-tiny] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def random_tiny_clip():
    """The tiny CLIP's architecture with random weights (seed 0), tokenizer of the shipped model."""
    import open_clip
    import torch

    from grounding_kit.models import load_clip
    from grounding_kit.models.clip import _from_open_clip, register_tiny_config

    shipped = load_clip("tiny-shapes", device="cpu")
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(register_tiny_config(), pretrained=None)
    return _from_open_clip("random", model.eval(), preprocess, shipped.tokenizer, torch.device("cpu"))


def measure(clip, quick: bool) -> dict:
    from grounding_kit.models.queries import evaluate_queries
    from grounding_kit.models.training import evaluate_clip

    n_scenes, n_queries, n_eval = (500, 40, 180) if quick else (1000, 100, 720)
    quality = evaluate_queries(clip, n_scenes=n_scenes, n_queries=n_queries)
    return {"queries": quality, "zero_shot": evaluate_clip(clip, n=n_eval)}


def table(results: dict[str, dict]) -> str:
    kinds = ("single", "two", "count", "left_right")
    head = "| model | " + " | ".join(f"{k} top1 | {k} top5" for k in kinds) + " | 36-caption | match AUC |"
    rows = [head, "|" + "---|" * (2 * len(kinds) + 3)]
    for name, r in results.items():
        q = r["queries"]
        cells = [f"{q[k]['top1']:.3f} | {q[k]['top5']:.3f}" for k in kinds]
        rows.append(f"| {name} | " + " | ".join(cells)
                    + f" | {r['zero_shot']['caption_accuracy']:.3f} | {r['zero_shot']['match_auc']:.3f} |")
    by = {name: r["queries"]["single"]["by_attributes"] for name, r in results.items()}
    rows += ["", "single-object queries by attributes named (top1 / top5):"]
    rows += [f"  {name}: " + ", ".join(f"{k}: {v['top1']:.3f} / {v['top5']:.3f}" for k, v in b.items())
             for name, b in by.items()]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="a load_clip name or folder (repeatable; "
                                                          "default tiny-shapes)")
    parser.add_argument("--quick", action="store_true", help="a smaller gallery and fewer queries")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from grounding_kit.models import load_clip
    from grounding_kit.threads import single_thread

    with single_thread():
        results = {"random weights (baseline)": measure(random_tiny_clip(), args.quick)}
        for name in args.model or ["tiny-shapes"]:
            results[name] = measure(load_clip(name, device="cpu"), args.quick)
    print(json.dumps(results, indent=1) if args.json else table(results))


if __name__ == "__main__":
    main()
