"""TODO docstring."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grounding_kit.course.sources import (ANSWER_STUB, BEGIN, cell_role, notebook_paths, strip_hidden_tests,
                                          strip_solutions)


def student_notebook(notebook: NotebookNode, name: str = "notebook") -> NotebookNode:
    """A copy of ``notebook`` with solutions, hidden tests and rubrics stripped, outputs cleared.

    Rubrics are the ``answer`` cells of :mod:`grounding_kit.course.sources`; they become ``YOUR ANSWER HERE``.
    """

    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    for index, cell in enumerate(copy.cells):
        if cell.cell_type == "code":
            code = strip_hidden_tests(cell.source, where=f"{name} cell {index}")
            cell.source = strip_solutions(code, where=f"{name} cell {index}")
            cell.outputs, cell.execution_count = [], None
        elif (cell_role(cell) or ("",))[0] == "answer":
            cell.source = ANSWER_STUB
    return copy


def count_exercises(notebook: NotebookNode) -> int:
    """The number of solution blocks in a notebook."""
    return sum(line.strip() == BEGIN for cell in notebook.cells if cell.cell_type == "code"
               for line in cell.source.splitlines())


def write_student_copies(notebooks_dir: Path, output_dir: Path) -> dict[Path, int]:
    """Write the student copy of every notebook in ``notebooks_dir`` to ``output_dir``.

    Returns each written path with the number of exercises (solution blocks) it holds.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for path in notebook_paths(notebooks_dir):
        notebook = nbformat.read(path, as_version=4)
        target = output_dir / path.name
        nbformat.write(student_notebook(notebook, path.name), target)
        written[target] = count_exercises(notebook)
    return written
