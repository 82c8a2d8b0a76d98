"""What every training recipe shares: the step loop, the learning-rate schedule and the record.

A recipe is one function that builds its model, its optimizer and its ``step_loss(step)``; the
loop (:func:`run_steps`) is the same for all. Every run writes ``training.json`` (the recipe, its
version and the measured figures) and the model card ``README.md`` is rendered from it, with the
figures of the versions it replaces read from the shipped model's record (``previous_versions``).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from grounding_kit.core.paths import TRAINING_RECORD
from grounding_kit.models.cards import PREVIOUS, shipped_record

EVAL_SEED = 10_000  # far from the training streams: a fresh sample of the world


def folder_size(folder: Path) -> int:
    """Total bytes of the files in ``folder``."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


def lr_at(step: int, steps: int, peak: float) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to zero."""
    warmup = max(1, steps // 20)
    if step < warmup:
        return peak * (step + 1) / warmup
    return 0.5 * peak * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def run_steps(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int, peak_lr: float,
              step_loss: Callable[[int], torch.Tensor], *, desc: str, progress: bool,
              after_step: Callable[[], None] | None = None) -> tuple[float, float]:
    """The loop every recipe shares: ``steps`` AdamW steps on ``step_loss(step)`` under the
    :func:`lr_at` schedule, ``after_step()`` after each (e.g. a clamp), ``model`` in train mode.

    Returns
    -------
    (wall seconds, CPU seconds) of the loop, data generation inside ``step_loss`` included.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    model.train()
    bar = tqdm(range(steps), desc=desc, disable=not progress)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, peak_lr)
        loss = step_loss(step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step()
        if step % 25 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return time.perf_counter() - start, time.process_time() - cpu_start


def previous_versions(name: str, version: int) -> list[dict[str, Any]]:
    """The records a new run of ``version`` is compared with on its card: the shipped model's
    record and the versions it replaced, all but those of ``version`` itself (an older version
    retrained is compared with the shipped one). Empty when nothing is shipped."""
    try:
        shipped = shipped_record(name)
    except FileNotFoundError:
        return []
    records = [*shipped.get(PREVIOUS, []), {k: v for k, v in shipped.items() if k != PREVIOUS}]
    return sorted((r for r in records if r.get("version") != version), key=lambda r: r.get("version", 0))


def write_record(out: Path, summary: dict[str, Any], name: str) -> dict[str, Any]:
    """Write ``summary`` as ``out/training.json``, with the :func:`previous_versions` of the
    shipped model ``name`` beside it; return the record written."""
    record = {**summary, PREVIOUS: previous_versions(name, summary["version"])}
    (out / TRAINING_RECORD).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return record
