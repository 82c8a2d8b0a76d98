"""How well does a CLIP answer what a lecturer types? (typed queries on fresh scenes)

For each query kind (single objects with any subset of size/colour/shape, two objects, counts,
left/right) the gallery of fresh scenes (seed 20,000, which no training stream uses) is ranked
by the model and scored with :func:`grounding_kit.world.queries.evaluate_queries`: ``top1`` (the
best-ranked image holds the query) and ``top5`` (mean fraction of the 5 best that hold it).
The 36-caption zero-shot accuracy and the match-task AUC (:func:`evaluate_clip`) are shown
too. A random-weights tiny CLIP, measured in the same run, is the baseline (chance level).

    python benchmarks/query_bench.py [--model tiny-shapes --model /tmp/old-tiny] [--quick] [--heads] [--json]
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


HEAD_SEEDS = (0, 1, 2, 3, 4)
# (rows of the match task, patience): notebook 02's 600 rows with fit_head's default patience and a
# longer wait past the validation loss's early bump, and four times the rows
HEAD_SETTINGS = ((600, 20), (600, 50), (2400, 20))


def match_head_accuracies(clip) -> dict[str, list[float]]:
    """Notebook 02's interactive head on ``clip``'s features of the match task (seed 0, the first
    half to fit, the second to test), test accuracy per head seed, for each of ``HEAD_SETTINGS``."""
    from grounding_kit.analysis import accuracy
    from grounding_kit.experiments.protocol import experiment
    from grounding_kit.world import make_task

    result = {}
    for rows, patience in HEAD_SETTINGS:
        ex = experiment(clip, make_task("match", n=rows, seed=0), test_size=0.5, shuffle=False)
        heads = [ex.head("interactive", seed=seed, patience=patience) for seed in HEAD_SEEDS]
        result[f"{rows} rows, patience {patience}"] = [
            round(accuracy(ex.labels_eval, head(ex.feats_eval.text, ex.feats_eval.image).detach().numpy()), 3)
            for head in heads]
    return result


def measure(clip, quick: bool, heads: bool = False) -> dict:
    from grounding_kit.world.queries import evaluate_queries, mirror_accuracy
    from grounding_kit.models.training import evaluate_clip

    n_scenes, n_queries, n_eval = (500, 40, 180) if quick else (1000, 100, 720)
    quality = evaluate_queries(clip, n_scenes=n_scenes, n_queries=n_queries)
    result = {"queries": quality, "zero_shot": evaluate_clip(clip, n=n_eval), "mirror": mirror_accuracy(clip)}
    if heads:
        result["match_head"] = match_head_accuracies(clip)
    return result


def table(results: dict[str, dict]) -> str:
    kinds = ("single", "two", "count", "left_right")
    head = "| model | " + " | ".join(f"{k} top1 | {k} top5" for k in kinds) + " | 36-caption | match AUC |"
    rows = [head, "|" + "---|" * (2 * len(kinds) + 3)]
    for name, r in results.items():
        q = r["queries"]
        cells = [f"{q[k]['top1']:.3f} | {q[k]['top5']:.3f}" for k in kinds]
        rows.append(f"| {name} | " + " | ".join(cells)
                    + f" | {r['zero_shot']['caption_accuracy']:.3f} | {r['zero_shot']['match_auc']:.3f} |")
    rows += ["", "left/right queries against the mirrored scene (chance 0.5): scene above its mirror / "
             "query above its flipped relation / cosine of an image and its mirror:"]
    rows += [f"  {name}: {r['mirror']['image']:.3f} / {r['mirror']['text']:.3f} / {r['mirror']['mirror_cosine']:.3f}"
             for name, r in results.items()]
    if any("match_head" in r for r in results.values()):
        rows += ["", f"notebook 02's interactive head on the match task, test accuracy for head seeds "
                     f"{', '.join(map(str, HEAD_SEEDS))}:"]
        rows += [f"  {name}, {setting}: " + " / ".join(f"{a:.2f}" for a in accs)
                 for name, r in results.items() for setting, accs in r.get("match_head", {}).items()]
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
    parser.add_argument("--heads", action="store_true", help="also fit notebook 02's match-task head "
                        f"for seeds {', '.join(map(str, HEAD_SEEDS))} on "
                        + "; ".join(f"{rows} rows with patience {patience}" for rows, patience in HEAD_SETTINGS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from grounding_kit.models import load_clip
    from grounding_kit.core.threads import single_thread

    with single_thread():
        results = {"random weights (baseline)": measure(random_tiny_clip(), args.quick)}
        for name in args.model or ["tiny-shapes"]:
            results[name] = measure(load_clip(name, device="cpu"), args.quick, args.heads)
    print(json.dumps(results, indent=1) if args.json else table(results))


if __name__ == "__main__":
    main()
