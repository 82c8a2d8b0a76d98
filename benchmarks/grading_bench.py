"""How long does nbgrader take to grade the kit's homework? (notebook 02, three submissions)

Builds a temporary course (``grounding-kit course init``), generates the assignment, and autogrades
three submissions with nbgrader: the instructor's solutions, the solutions with exercise 2.2 wrong,
and the untouched release copy. The baseline, measured in the same run, executes the same three
notebooks headless with nbclient (what any grader must at least do); the ratio is nbgrader's
overhead. ``--quick`` grades the solutions only. The features cache is warmed first so that both
sides run with it.

    python benchmarks/grading_bench.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ASSIGNMENT = "02_additive_vs_interactive"
WRONG = {"ex2_2-answer": "residual = np.zeros_like(match_grid)"}


def nbgrader(root: Path, *args: str) -> float:
    """Seconds that ``nbgrader ARGS`` takes in the course folder ``root``."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=root, env=env, check=True,
                   capture_output=True, text=True)
    return time.perf_counter() - start


def execute(notebook, cwd: Path) -> float:
    from nbclient import NotebookClient

    start = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - start


def run(quick: bool) -> list[dict]:
    import nbformat

    from grounding_kit.course import homework
    from grounding_kit.course.sources import REPO_NOTEBOOKS

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GROUNDING_KIT_CACHE", str(Path(tmp) / "cache"))
        root = Path(tmp) / "course"
        homework.init_course(root, REPO_NOTEBOOKS, names=[ASSIGNMENT])
        rows = [{"what": "nbgrader generate_assignment", "seconds": nbgrader(root, "generate_assignment", ASSIGNMENT)}]
        release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        source = nbformat.read(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        submissions = {"solutions": homework.filled_submission(release, source)}
        if not quick:
            submissions["one_wrong"] = homework.filled_submission(release, source, WRONG)
            submissions["untouched"] = release
        execute(nbformat.reads(nbformat.writes(release), as_version=4), root)  # warm the features cache
        baseline = sum(execute(nbformat.reads(nbformat.writes(nb), as_version=4), root)
                       for nb in submissions.values())
        rows.append({"what": f"baseline: nbclient, {len(submissions)} notebooks", "seconds": baseline})
        for student, nb in submissions.items():
            target = root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            target.parent.mkdir(parents=True)
            nbformat.write(nb, target)
        graded = nbgrader(root, "autograde", ASSIGNMENT)
        rows.append({"what": f"nbgrader autograde, {len(submissions)} submissions", "seconds": graded,
                     "vs_baseline": graded / baseline})
        rows.append({"what": "nbgrader generate_feedback", "seconds": nbgrader(root, "generate_feedback", ASSIGNMENT)})
        rows.append({"what": "nbgrader export (CSV)", "seconds": nbgrader(root, "export", "--to", str(root / "grades.csv"))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="grade the solutions only (for `make bench`)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    rows = run(args.quick)
    if args.json:
        print(json.dumps({"assignment": ASSIGNMENT, "rows": rows}, indent=1))
        return
    print(f"grading {ASSIGNMENT} with nbgrader, {os.cpu_count()} cores")
    print(f"{'what':<40} {'seconds':>8} {'vs baseline':>12}")
    for row in rows:
        ratio = f"{row['vs_baseline']:.2f}x" if "vs_baseline" in row else "-"
        print(f"{row['what']:<40} {row['seconds']:>8.1f} {ratio:>12}")


if __name__ == "__main__":
    main()
