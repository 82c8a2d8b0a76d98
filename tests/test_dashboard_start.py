"""What the dashboard's kernel does before its first lab shows: with the grid cache warm it loads
neither torch nor open_clip, and it does without jsonschema's RFC 3987 parsers (each in a fresh
process, as a Voila kernel is). Times are measured in benchmarks/dashboard_bench.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grounding_kit.dashboard import notebook_path

HEAVY = ("torch", "open_clip", "transformers", "datasets")


def run_python(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_dashboard_kernel_skips_the_rfc3987_parsers_and_nbformat_still_validates():
    out = run_python(f"""
import json, sys
from grounding_kit.dashboard.kernel import skip_slow_optional_imports
marked = skip_slow_optional_imports()
import plotly.graph_objects as go
go.FigureWidget(data=[go.Bar(y=[1, 2])])
import nbformat
nbformat.validate(nbformat.read({str(notebook_path())!r}, as_version=4))
print(json.dumps({{"marked": marked, "skipped": sys.modules["rfc3987_syntax"] is None,
                   "again": skip_slow_optional_imports()}}))
""")
    assert out == {"marked": ["rfc3987_syntax"], "skipped": True, "again": []}


def test_the_notebook_skips_them_before_building():
    import nbformat

    source = nbformat.read(notebook_path(), as_version=4).cells[0].source
    assert source.index("skip_slow_optional_imports()") < source.index("build_dashboard(n=")


@pytest.mark.slow
def test_with_a_warm_grid_cache_the_first_lab_loads_no_torch():
    build = """
import json, sys
from grounding_kit.dashboard import build_dashboard
dash = build_dashboard(n=40)
print(json.dumps({"loaded": [m for m in %r if m in sys.modules], "lab": type(dash.labs[0]).__name__,
                  "built": dash.labs[1:] == [None, None, None]}))
""" % (HEAVY,)
    run_python(build)  # fills the grid cache (loads the CLIP) when it is cold
    out = run_python(build)
    assert out == {"loaded": [], "lab": "ReshuffleLab", "built": True}


#: the most resident memory (VmHWM, MiB = 2**20 bytes) the dashboard's kernel may reach running
#: dashboard.ipynb with a warm grid cache: measured 153 MiB, the target is 500 (a hub gives a student 1 GiB,
#: server included); 300 flags an import that brings torch back early (benchmarks/notebook_costs.md)
DASHBOARD_KERNEL_PEAK_MIB = 300


def dashboard_kernel_peak_mib() -> float:
    """Execute dashboard.ipynb in a fresh kernel (as Voila does) and return the kernel's VmHWM in MiB."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(notebook_path(), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"))
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook_path().parent)}}).execute()
    errors = [out for cell in notebook.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, errors
    return int(notebook.cells[-1].outputs[0]["text"]) / 1024


@pytest.mark.slow
def test_with_a_warm_grid_cache_the_dashboard_kernel_stays_under_its_memory_figure():
    n = int(os.environ.get("GROUNDING_KIT_DASHBOARD_N", "300"))  # what dashboard.ipynb builds
    run_python(f"from grounding_kit.dashboard import build_dashboard; build_dashboard(n={n}); print('{{}}')")
    peak = dashboard_kernel_peak_mib()
    assert peak <= DASHBOARD_KERNEL_PEAK_MIB, f"the dashboard's kernel peaked at {peak:.0f} MiB"
