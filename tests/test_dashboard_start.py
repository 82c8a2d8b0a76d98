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
