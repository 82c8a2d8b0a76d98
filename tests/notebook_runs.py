"""Each course notebook is executed once per test session, and every test that needs it shares the run.

`test_notebooks` checks that a run had no error and that its kernel stayed under its memory figure
(the kernel's peak resident set, read at the end of the run); `test_notebook_claims` reads back the ``claims``
dict that a notebook builds from library results (the measured values its prose relies on); the
static-deck tests (`test_browser_presenting`) make decks from the same runs, which therefore keep
the final state of their widgets (as ``make slides`` does).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

from conftest import ARTIFACTS, NOTEBOOKS
from grounding_kit.course.slides import SYNC_FIGURES

# appended to every run, and removed again before the run is inspected or saved: the claims, and the
# kernel's peak resident set (VmHWM, in kB) where /proc exists
_READ_CLAIMS = ("import json as _json, os as _os\n"
                "print('CLAIMS=' + _json.dumps(globals().get('claims'), default=float))\n"
                "if _os.path.exists('/proc/self/status'):\n"
                "    print('PEAK_KB=' + [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")


@dataclass(frozen=True)
class NotebookRun:
    """One headless run: the executed notebook (the course cells only), its time, its claims, and
    its kernel's peak resident set in MiB (None where the kernel's /proc/self/status cannot be read)."""

    notebook: NotebookNode
    seconds: float
    claims: dict | None
    peak_mib: float | None


_runs: dict[str, NotebookRun] = {}


def run_notebook(stem: str) -> NotebookRun:
    """Execute ``notebooks/<stem>.ipynb`` with nbclient (once per session) and return the run.

    Every cell runs even after an error (``allow_errors``), so that a test can name each failing
    cell. The executed notebook, its time and its claims are written to test-artifacts/.
    """
    if stem not in _runs:
        notebook = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
        notebook.cells.append(nbformat.v4.new_code_cell(SYNC_FIGURES))  # figures' final look in the widget state
        notebook.cells.append(nbformat.v4.new_code_cell(_READ_CLAIMS))
        client = NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                                store_widget_state=True, resources={"metadata": {"path": str(NOTEBOOKS)}})
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
        claims_cell = notebook.cells.pop()
        notebook.cells.pop()  # SYNC_FIGURES
        lines = "".join(out.get("text", "") for out in claims_cell.get("outputs", [])).splitlines()
        claims = next((json.loads(line[len("CLAIMS="):]) for line in lines if line.startswith("CLAIMS=")), None)
        peak_mib = next((int(line[len("PEAK_KB="):]) / 1024 for line in lines if line.startswith("PEAK_KB=")), None)
        _runs[stem] = NotebookRun(notebook, seconds, claims, peak_mib)
        ARTIFACTS.mkdir(exist_ok=True)
        nbformat.write(notebook, ARTIFACTS / f"{stem}.executed.ipynb")
        (ARTIFACTS / f"{stem}.seconds").write_text(f"{seconds:.1f}\n")
        if peak_mib is not None:
            (ARTIFACTS / f"{stem}.peak-mib").write_text(f"{peak_mib:.0f}\n")
        if claims is not None:
            (ARTIFACTS / f"{stem}.claims.json").write_text(
                json.dumps({"seconds": round(seconds, 1), "claims": claims}, indent=1))
    return _runs[stem]
