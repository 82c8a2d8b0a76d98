"""Model cards: the recipe and the measured quality of an embedded tiny model, as the
``README.md`` beside its weights (written by the training recipes from their ``training.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD = "README.md"
RECORD = "training.json"
PREVIOUS = "previous_versions"  # the record's list of the versions a model replaces
QUERY_KINDS_SHOWN = ("single", "two", "count", "left_right")


def shipped_record(name: str) -> dict[str, Any]:
    """The ``training.json`` of the shipped model ``name`` (``data/models/<name>``): its recipe,
    version, figures and ``previous_versions``. Light (no torch): the CLI's help reads it.

    Raises
    ------
    FileNotFoundError when the shipped folder has no record.
    """
    from grounding_kit.models.registry import embedded_path

    path = embedded_path(name) / RECORD
    if not path.is_file():
        raise FileNotFoundError(f"no {RECORD} at {path}: the shipped model {name!r} has no training record")
    return json.loads(path.read_text(encoding="utf-8"))


def recorded_recipes(name: str) -> list[str]:
    """The recipes the shipped model ``name`` and the versions it replaced were trained with,
    from its ``training.json`` (the shipped one first)."""
    record = shipped_record(name)
    recipes = [record.get("recipe")] + [r.get("recipe") for r in record.get(PREVIOUS, [])]
    return list(dict.fromkeys(r for r in recipes if r))


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


def retrieval_table(retrieval: dict[str, Any]) -> list[str]:
    """Markdown rows of an audio encoder's :func:`~grounding_kit.models.pivot.audio_text_retrieval`
    figures: audio -> text accuracy beside CLIP's own image -> text accuracy (the pivot's ceiling)
    and chance, per task."""
    tasks = (("classify", f"label {retrieval['n_classify']} one-object sounds with one of the 36 captions"),
             ("retrieve", f"find the description of each of {retrieval['n_retrieve']} scenes of 1 to 4 objects "
                          f"among those {retrieval['n_retrieve']} ({retrieval['unique_descriptions']} distinct; "
                          "recall@1)"))
    rows = ["| task | audio -> text | image -> text (the pivot's ceiling) | chance |", "|---|---|---|---|"]
    rows += [f"| {label} | {retrieval[key]} | {retrieval['image_' + key]} | {retrieval['chance_' + key]} |"
             for key, label in tasks]
    return rows + ["", f"Accuracy on fresh scenes (seed {retrieval['seed']}, which no training pool uses), "
                       "from `grounding_kit.models.pivot.audio_text_retrieval`."]


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
    if "retrieval" in summary:
        lines += retrieval_table(summary["retrieval"])
    if "queries" in summary:
        lines += ["", "### Typed queries (`grounding_kit.world.queries.evaluate_queries`)", ""]
        lines += query_table(summary["queries"])
    lines += comparison(summary)
    lines += ["", "The same figures are in `training.json`."]
    return "\n".join(lines) + "\n"


def headline_figures(record: dict[str, Any]) -> dict[str, Any]:
    """The figures of a record a card compares across versions, by row label: the scalar
    accuracies and AUCs, the accuracy of each question type, each query kind's top-1 / top-5."""
    figures: dict[str, Any] = {}
    for kind in QUERY_KINDS_SHOWN:
        q = record.get("queries", {}).get(kind)
        if q:
            figures[f"{kind} queries, top-1 / top-5"] = f"{q['top1']:.3f} / {q['top5']:.3f}"
    figures.update({f"{t} questions": v for t, v in record.get("accuracy_by_type", {}).items()})
    figures.update({k: v for k, v in record.items() if k.endswith(("accuracy", "_auc")) and not isinstance(v, dict)})
    return figures


def comparison(record: dict[str, Any]) -> list[str]:
    """Markdown lines comparing ``record`` with its ``previous_versions`` (from the record itself:
    the figures each version measured, its recipe, architecture, steps and wall time), then each
    previous version's ``note`` (what changed from it, in words). Empty without previous versions."""
    previous = record.get(PREVIOUS) or []
    if not previous:
        return []
    versions = [*previous, record]
    names = [f"version {r.get('version')}" + (" (this one)" if r is record else "") for r in versions]
    lines = ["", "## Before and after: the versions this one replaces", "",
             "Each version's figures as its own `training.json` records them (`previous_versions` holds the "
             "earlier ones).", "", "| | " + " | ".join(names) + " |", "|---" * (len(versions) + 1) + "|"]
    for label in ("recipe", "architecture", "steps", "seconds"):
        if not any(label in r for r in versions):
            continue
        lines.append(f"| {label} | " + " | ".join(str(r.get(label, "")) for r in versions) + " |")
    figures = [headline_figures(r) for r in versions]
    for label in dict.fromkeys(k for f in figures for k in f):
        lines.append(f"| {label} | " + " | ".join(str(f.get(label, "")) for f in figures) + " |")
    lines.append("")
    lines.append("Evaluated on " + "; ".join(f"{n}: {r.get('eval_n', r.get('eval_rows'))} rows, seed {r.get('eval_seed')}"
                                             for n, r in zip(names, versions)) + ".")
    lines += ["\n" + r["note"] for r in previous if r.get("note")]
    return lines


def write_model_card(folder: str | Path, title: str, recipe: str) -> Path:
    """Write ``README.md`` in ``folder`` from its ``training.json``; return its path."""
    folder = Path(folder)
    record = folder / "training.json"
    if not record.is_file():
        raise FileNotFoundError(f"no training.json in {folder}; a model card is written from the training record")
    path = folder / CARD
    path.write_text(model_card(title, recipe, json.loads(record.read_text())), encoding="utf-8")
    return path
