"""Every interaction measure on every task with a known answer, for several heads: one call, one table.

    table = gk.interaction_experiment(clip)          # PID tasks x (additive, interactive) heads

Each task is a :func:`~grounding_kit.experiments.protocol.task_experiment` (heads fitted on one sample,
measured on another); :func:`~grounding_kit.analysis.measures_table.interaction_table` measures the
held-out pairs; the exact PID of the task (``gk.pid(gk.world.pid_joint(task))``) is added as the
``truth`` of the data rows, where the task has one.

Two modalities (text and image), as :func:`~grounding_kit.analysis.measures_table.interaction_table`
takes: the PID tasks are caption-image pairs, the heads are pair heads, and the kit has no task of
three modalities with a known PID. For M modalities, ``experiments.modalities`` measures a head's
M-way EMAP and decomposition.
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
from tqdm.auto import tqdm

from grounding_kit.core.validation import check_choice

DEFAULT_TASKS: tuple[str, ...] = ("redundant", "unique_text", "unique_image", "synergy")
_TRUTH_OF = {"PID redundancy": "redundancy", "PID unique text": "unique_1", "PID unique image": "unique_2",
             "PID synergy": "synergy"}


def interaction_experiment(clip: Any, tasks: Sequence[str] = DEFAULT_TASKS,
                           kinds: Sequence[str] = ("additive", "interactive"), *, n: int = 200,
                           n_train: int = 400, seed: int = 0, head_options: dict[str, Any] | None = None,
                           progress: bool = True, **table_options: Any) -> pd.DataFrame:
    """:func:`interaction_table` of every task in ``tasks`` for a head of every kind in ``kinds``
    (two modalities: text and image; see the module docstring).

    Parameters
    ----------
    clip : a ClipModel (``load_clip``) that embeds the pairs.
    tasks : task names for ``make_task`` (default: the four PID tasks; "pid_mix" takes its default dial).
    kinds : head kinds for ``fit_head``.
    n, n_train : held-out and training pairs per task.
    seed : seed of the tasks, heads and measures.
    head_options : keyword arguments of ``fit_head`` (e.g. ``{"epochs": 60}``).
    progress : a tqdm bar over the tasks.
    **table_options : passed to ``interaction_table`` (``clusters``, ``rounds``, ``n_boot``, ``level``).

    Returns
    -------
    DataFrame: the rows of ``interaction_table`` with a ``task`` column first and ``truth`` (the exact
    PID part in bits for the data rows of a PID task, else NaN) after ``value``.

    Raises
    ------
    ValueError
        an unknown task or head kind (and whatever ``interaction_table`` raises).
    """
    from grounding_kit.analysis.measures_table import interaction_table
    from grounding_kit.analysis.partial_information import pid
    from grounding_kit.experiments.protocol import task_experiment
    from grounding_kit.models.heads import HEAD_KINDS
    from grounding_kit.world.pid_tasks import PID_TASKS, pid_joint
    from grounding_kit.world.tasks import TASKS

    for task in tasks:
        check_choice("tasks item", task, TASKS + PID_TASKS)
    for kind in kinds:
        check_choice("kinds item", kind, HEAD_KINDS)
    tables = []
    for task in tqdm(list(tasks), desc="interaction_experiment", disable=not progress):
        exp = task_experiment(clip, task, n, n_train=n_train, seed=seed)
        heads = {kind: exp.head(kind, seed=seed, **(head_options or {})) for kind in kinds}
        table = interaction_table(exp.labels_eval, heads, exp.feats_eval, seed=seed, **table_options)
        truth = pid(pid_joint(task)) if task in PID_TASKS else None
        table.insert(0, "task", task)
        table.insert(table.columns.get_loc("value") + 1, "truth",
                     [getattr(truth, _TRUTH_OF[m]) if truth is not None and m in _TRUTH_OF else float("nan")
                      for m in table["measure"]])
        tables.append(table)
    return pd.concat(tables, ignore_index=True)
