"""What each course notebook costs a student's kernel: wall time of a headless run and the kernel's
peak resident memory, as a ratio to notebook 00 (the baseline, measured in the same run).

Each notebook is executed top to bottom with nbclient in a fresh kernel of this environment (warm
caches: run it twice if the first run has to build them, or point ``GROUNDING_KIT_CACHE`` at an empty
folder to measure what the test suite's fresh cache costs); the kernel's peak resident set is read
from ``/proc/<pid>/status`` (``VmHWM``) when the run ends. The load average of the machine is
printed beside the times: on a shared machine they are upper bounds.

    python benchmarks/notebook_costs.py [--notebooks 00 04] [--quick] [--markdown OUT.md]

``--quick``: notebook 00 only (``make bench``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def run(path: Path) -> tuple[float, float]:
    """Execute the notebook at ``path``; return (seconds, the kernel's peak RSS in MB)."""
    import nbformat
    from nbclient import NotebookClient

    from grounding_kit.course.cgroups import peak_resident_mib

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        peak = peak_resident_mib(pid)
    return time.perf_counter() - start, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="+", default=None, help="notebook numbers, e.g. 00 04 (default: all)")
    parser.add_argument("--quick", action="store_true", help="notebook 00 only")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()
    paths = sorted((REPO / "notebooks").glob("0*.ipynb"))
    wanted = ["00"] if args.quick else args.notebooks
    if wanted:
        paths = [p for p in paths if p.name[:2] in wanted]
    if not paths or paths[0].name[:2] != "00":
        paths = sorted((REPO / "notebooks").glob("00_*.ipynb")) + paths  # the baseline, in the same run
    rows = []
    for path in paths:
        seconds, peak = run(path)
        rows.append((path.stem, seconds, peak, os.getloadavg()[0]))
        print(f"{path.stem}: {seconds:.1f} s, kernel peak {peak:.0f} MB", flush=True)
    base_s, base_mb = rows[0][1], rows[0][2]
    lines = ["| notebook | wall time (s) | x notebook 00 | kernel peak RSS (MB) | x notebook 00 | load average |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {stem} | {s:.1f} | {s / base_s:.2f} | {mb:.0f} | {mb / base_mb:.2f} | {load:.1f} |"
              for stem, s, mb, load in rows]
    table = "\n".join(lines)
    print(table)
    if args.markdown is not None:
        args.markdown.write_text(f"# Notebook costs\n\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
                                 f"`python benchmarks/notebook_costs.py`\n\n{table}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
