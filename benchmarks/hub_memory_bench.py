"""Each course notebook under a hub's per-student memory limit: its kernel in a memory cgroup capped at
1 GiB (``--limit``), as SystemdSpawner, KubeSpawner and the kit's ClassSpawner cap a student.

For every notebook: whether it finished, the cgroup's peak (what the hub's limit compares with the
cap), the kernel's own peak resident set (``VmHWM``: shared library pages included, which the cgroup
charges only to whoever read them first), OOM kills and the wall time; the load average beside it.
``--drop-caches`` empties the page cache before each notebook (root): the first student on a machine
that has just started, whose cgroup is charged for every library page it reads.

    python benchmarks/hub_memory_bench.py [--notebooks 02 05] [--limit 1024] [--drop-caches] [--quick]

``--quick``: notebook 01 only (``make bench``). Needs a writable memory cgroup (root); elsewhere it
says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # as the kit's hub starts every kernel


def main() -> int:
    from grounding_kit.course.cgroups import memory_cgroup_root, run_notebook_capped

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="+", default=None, help="notebook numbers, e.g. 02 05 (default: all)")
    parser.add_argument("--limit", type=int, default=1024, help="the cap in MiB (default: 1024)")
    parser.add_argument("--drop-caches", action="store_true", help="empty the page cache before each notebook (root)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if memory_cgroup_root() is None:
        print("no writable memory cgroup here (needs root and cgroup v1 memory or cgroup v2 with the memory "
              "controller): nothing measured")
        return 0
    wanted = ["01"] if args.quick else args.notebooks
    paths = [p for p in sorted((REPO / "notebooks").glob("0*.ipynb")) if not wanted or p.name[:2] in wanted]
    print(f"| notebook | finished | cgroup peak (MiB) | kernel VmHWM (MiB) | OOM kills | seconds | load average |")
    print("|---|---|---:|---:|---:|---:|---:|")
    failed = 0
    for path in paths:
        if args.drop_caches:
            subprocess.run(["sync"], check=True)
            Path("/proc/sys/vm/drop_caches").write_text("3\n")
        run = run_notebook_capped(path, args.limit)
        failed += not run.finished
        print(f"| {path.stem} | {'yes' if run.finished else 'NO: ' + run.error} | {run.charged_peak_mib:,.0f} | "
              f"{'-' if run.resident_peak_mib is None else f'{run.resident_peak_mib:,.0f}'} | {run.oom_kills} | "
              f"{run.seconds:.0f} | {os.getloadavg()[0]:.1f} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
