"""How much memory a class hub needs, by The Littlest JupyterHub's rule.

TLJH's guide ("Estimate Memory / CPU / Disk needed") sizes a hub as::

    recommended memory = max concurrent users x max memory per user + 128 MB

with the memory per user taken from a measured session plus 20-40 % headroom, and the concurrent
users at first 40-60 % of the class (all of it for a lab session where the whole class works at
once). :func:`hub_memory_table` applies that rule to the kit's measured per-user peak; the
instructor's guide prints its table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

#: TLJH's allowance for the hub, its proxy and services, in MiB
HUB_OVERHEAD_MIB = 128
#: the highest memory one user reached in the kit's class load test (server and kernel, the user's
#: cgroup peak, notebook 02; benchmarks/class_load_bench.md): the first student, who also read the
#: shared libraries into the page cache
MEASURED_USER_PEAK_MIB = 947


@dataclass(frozen=True)
class HubSize:
    """The memory a hub needs for one class size (MiB and GiB, rounded up)."""

    class_size: int
    concurrent: int
    per_user_mib: int
    total_mib: int

    @property
    def total_gib(self) -> float:
        return math.ceil(self.total_mib / 1024 * 10) / 10


def per_user_limit(measured_peak_mib: float, headroom: float = 0.2) -> int:
    """The memory limit per user: the measured peak of one user (server and kernel) plus headroom.

    Parameters
    ----------
    measured_peak_mib : the largest memory one user reached in a measured session (MiB).
    headroom : the fraction added for students "playing around" (TLJH: 0.2-0.4).

    Raises
    ------
    ValueError
        ``measured_peak_mib`` is not positive, or ``headroom`` is outside [0, 1].
    """
    if not measured_peak_mib > 0:
        raise ValueError(f"measured_peak_mib={measured_peak_mib!r}; expected a positive size in MiB")
    if not 0 <= headroom <= 1:
        raise ValueError(f"headroom={headroom!r}; expected a fraction in [0, 1] (TLJH suggests 0.2-0.4)")
    return math.ceil(measured_peak_mib * (1 + headroom))


def hub_memory_table(class_sizes: Sequence[int], per_user_mib: int, concurrency: float = 1.0,
                     overhead_mib: int = HUB_OVERHEAD_MIB) -> list[HubSize]:
    """The hub memory for each class size: ``ceil(size x concurrency) x per_user_mib + overhead_mib``.

    Parameters
    ----------
    class_sizes : students in the class, e.g. ``[30, 100, 300]``.
    per_user_mib : the memory limit per user (see :func:`per_user_limit`).
    concurrency : the fraction of the class working at the same time (1.0: a lab session where
        everyone runs the notebook together; TLJH suggests starting at 0.4-0.6 otherwise).
    overhead_mib : the hub's own allowance (TLJH: 128 MB).

    Raises
    ------
    ValueError
        A class size is not a positive integer, or ``concurrency`` is outside (0, 1].
    """
    if not 0 < concurrency <= 1:
        raise ValueError(f"concurrency={concurrency!r}; expected the fraction of the class online at once, in (0, 1]")
    rows = []
    for size in class_sizes:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"class size {size!r}; expected a positive number of students")
        concurrent = math.ceil(size * concurrency)
        rows.append(HubSize(size, concurrent, per_user_mib, concurrent * per_user_mib + overhead_mib))
    return rows


def markdown_table(rows: Sequence[HubSize]) -> str:
    """The rows as the Markdown table the instructor's guide shows."""
    lines = ["| class | online at once | per user | hub memory |", "|---:|---:|---:|---:|"]
    lines += [f"| {r.class_size} | {r.concurrent} | {r.per_user_mib:,} MiB | {r.total_gib:,.1f} GiB |" for r in rows]
    return "\n".join(lines)
