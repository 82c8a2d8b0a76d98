"""Every notebook runs top to bottom, headless, with the offline defaults."""

from __future__ import annotations

import pytest

from conftest import NOTEBOOKS
from grounding_kit.course.sources import cell_role
from notebook_runs import run_notebook

NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.stem for p in NOTEBOOK_PATHS])
def test_notebook_executes_cleanly(path):
    notebook = run_notebook(path.stem).notebook  # every cell runs; each failing one is named
    errors = [f"cell {index}: {out['ename']}: {out['evalue']}" for index, cell in enumerate(notebook.cells)
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, errors
    stderr = [out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", [])
              if out.get("name") == "stderr"]
    assert not any("Traceback" in text for text in stderr), stderr
    # in a kernel a failing check prints instead of raising: every check of a solution must say ✔
    verdicts = [f"cell {index}: {line}" for index, cell in enumerate(notebook.cells)
                if (cell_role(cell) or ("",))[0] == "check"
                for out in cell.get("outputs", []) for line in out.get("text", "").splitlines()
                if not line.startswith("✔ Exercise")]
    assert not verdicts, verdicts
