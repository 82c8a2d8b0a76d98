"""Model cards: the recipe and the measured quality of an embedded tiny model, as the
``README.md`` beside its weights (written by the training recipes from their ``training.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD = "README.md"
QUERY_KINDS_SHOWN = ("single", "two", "count", "left_right")


def query_table(queries: dict[str, Any]) -> list[str]:
    """Markdown rows of an :func:`~grounding_kit.world.queries.evaluate_queries` result."""
    rows = ["| query kind | top-1 correct | top-5 fraction correct | queries |", "|---|---|---|---|"]
    for kind in QUERY_KINDS_SHOWN:
        if kind in queries:
            q = queries[kind]
            rows.append(f"| {kind} | {q['top1']:.3f} | {q['top5']:.3f} | {q['n_queries']} |")
    for k, q in queries.get("single", {}).get("by_attributes", {}).items():
        rows.append(f"| single, {k} attribute(s) named | {q['top1']:.3f} | {q['top5']:.3f} | {q['n_queries']} |")
    settings = queries.get("settings", {})
    if settings:
        rows.append("")
        rows.append(f"Gallery: {settings['n_scenes']} fresh scenes of 1 to 4 objects (seed {settings['seed']}, "
                    "which no training stream uses); each query holds for at least 5 of them.")
    return rows


def model_card(title: str, recipe: str, summary: dict[str, Any]) -> str:
    """The card of a trained model: ``recipe`` (what it was trained on, how) and the figures of
    ``summary`` (the recipe's ``training.json``: version, steps, seed, times, metrics)."""
    lines = [f"# {title}", "", recipe.strip(), "", "## Training run", ""]
    for key in ("version", "steps", "seed", "seconds", "cpu_seconds", "train_rows_seen", "parameters", "size_bytes"):
        if key in summary:
            lines.append(f"- {key}: {summary[key]}")
    lines += ["", "`seconds` is wall time, `cpu_seconds` the process's CPU time (one torch thread).", ""]
    lines += ["## Quality on fresh data", ""]
    scalars = {k: v for k, v in summary.items() if k.endswith(("accuracy", "_auc")) and not isinstance(v, dict)}
    if scalars:
        lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in scalars.items()]
        lines += ["", f"Evaluated on {summary.get('eval_n', summary.get('eval_rows'))} fresh rows "
                      f"(seed {summary.get('eval_seed')})."]
    if "accuracy_by_type" in summary:
        lines += ["", "| question type | accuracy |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in summary["accuracy_by_type"].items()]
    if "queries" in summary:
        lines += ["", "### Typed queries (`grounding_kit.world.queries.evaluate_queries`)", ""]
        lines += query_table(summary["queries"])
    lines += ["", "The same figures are in `training.json`."]
    return "\n".join(lines) + "\n"


def write_model_card(folder: str | Path, title: str, recipe: str) -> Path:
    """Write ``README.md`` in ``folder`` from its ``training.json``; return its path."""
    folder = Path(folder)
    record = folder / "training.json"
    if not record.is_file():
        raise FileNotFoundError(f"no training.json in {folder}; a model card is written from the training record")
    path = folder / CARD
    path.write_text(model_card(title, recipe, json.loads(record.read_text())), encoding="utf-8")
    return path
