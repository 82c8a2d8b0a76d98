"""A class at once on the kit's JupyterHub, on loopback: N students, one homework cycle.

Writes a class hub (``grounding-kit hub init``) in a temporary folder, starts it, and first lets one
student work alone (the baseline, in the same run), then lets N students arrive at seeded times over
``--arrival`` seconds: each logs in, starts a server, fetches the assignment, runs it in their own
kernel through the server's websocket, saves and submits it; the instructor then collects and
autogrades. Prints each student's row, the summary (spawn and notebook time: median, p95; each
kernel's peak; failures; submitted vs collected) and the class's times as ratios of the lone
student's. Everything started is stopped by PID at the end; the run is bounded by ``--deadline``.

    python benchmarks/class_load_bench.py [--students 10] [--assignment 02_additive_vs_interactive]
                                          [--quick] [--json]

``--quick``: 2 students on notebook 01, arriving within 10 s (``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    from grounding_kit.course.hub import ClassSettings, init_hub, student_names
    from grounding_kit.core.servers import free_port
    from grounding_kit.course.loadtest import RunningHub, run_class

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--assignment", default="02_additive_vs_interactive")
    parser.add_argument("--arrival", type=float, default=60.0, help="the class arrives over this many seconds")
    parser.add_argument("--mem-limit", default="1G")
    parser.add_argument("--deadline", type=float, default=3000.0, help="the class ends by then (seconds)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.students, args.assignment, args.arrival = 2, "01_grounding_and_clip", 10.0
    students = student_names(args.students)
    with tempfile.TemporaryDirectory(prefix="gk-class-") as tmp:
        settings = ClassSettings(students=students + ["alone"], mem_limit=args.mem_limit, port=free_port(),
                                 hub_port=free_port(), proxy_api_port=free_port())
        init_hub(Path(tmp) / "hub", settings, assignments=[args.assignment])
        with RunningHub(Path(tmp) / "hub", env={"PYTHONPATH": str(REPO)}) as hub:
            alone = run_class(hub, args.assignment, ["alone"], arrival_seconds=0, grade=False).students[0]
            run = run_class(hub, args.assignment, students, arrival_seconds=args.arrival, deadline_s=args.deadline)
    summary = run.summary()
    ratios = {"spawn_median_vs_alone": None, "notebook_median_vs_alone": None}
    if alone.spawn_s and summary["spawn_s"]["median"]:
        ratios["spawn_median_vs_alone"] = round(summary["spawn_s"]["median"] / alone.spawn_s, 2)
    if alone.notebook_s and summary["notebook_s"]["median"]:
        ratios["notebook_median_vs_alone"] = round(summary["notebook_s"]["median"] / alone.notebook_s, 2)
    if args.json:
        print(json.dumps({**run.to_json(), "alone": alone.__dict__, "ratios": ratios}, indent=1))
    else:
        print(f"baseline, one student alone: spawn {alone.spawn_s} s, notebook {alone.notebook_s} s, "
              f"kernel peak {alone.kernel_peak_mb} MB, error {alone.error}")
        print(run.table())
        print("ratios against the lone student:", json.dumps(ratios))
    ok = summary["failures"] == 0 and summary["submitted"] == summary["collected"] == len(students)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
