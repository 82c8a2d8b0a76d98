"""Every notebook runs top to bottom, headless, with the offline defaults."""

from __future__ import annotations

import time

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ARTIFACTS, NOTEBOOKS

NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.stem for p in NOTEBOOK_PATHS])
def test_notebook_executes_cleanly(path):
    notebook = nbformat.read(path, as_version=4)
    # allow_errors: run every cell, then name each failing one (execute() would stop at the first)
    client = NotebookClient(notebook, timeout=180, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    ARTIFACTS.mkdir(exist_ok=True)
    nbformat.write(notebook, ARTIFACTS / f"{path.stem}.executed.ipynb")
    (ARTIFACTS / f"{path.stem}.seconds").write_text(f"{elapsed:.1f}\n")
    errors = [f"cell {index}: {out['ename']}: {out['evalue']}" for index, cell in enumerate(notebook.cells)
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, errors
    stderr = [out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", [])
              if out.get("name") == "stderr"]
    assert not any("Traceback" in text for text in stderr), stderr
