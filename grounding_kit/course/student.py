"""Student copies of the course notebooks: solutions, hidden tests and rubrics removed, and every
unanswered exercise a placeholder that *Run All* goes through (``make student``, ``make student-lab``)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grounding_kit.course.sources import (ANSWER_STUB, BEGIN, cell_role, names_read, notebook_paths,
                                          strip_hidden_tests, strip_solutions)


def answer_names(notebook: NotebookNode) -> dict[str, set[str]]:
    """For each exercise id, the names its ``check`` and ``fallback`` cells read: the answers a
    student copy's placeholders must define."""
    names: dict[str, set[str]] = {}
    for cell in notebook.cells:
        role = cell_role(cell)
        if role is not None and role[0] in ("check", "fallback") and cell.cell_type == "code":
            names.setdefault(role[1], set()).update(names_read(strip_hidden_tests(cell.source)))
    return names


def student_notebook(notebook: NotebookNode, name: str = "notebook") -> NotebookNode:
    """A copy of ``notebook`` with solutions, hidden tests and rubrics stripped, outputs cleared.

    Each solution block becomes a placeholder that runs (``S = ...``, see
    :func:`grounding_kit.course.sources.strip_solutions`), defining the names that the exercise's
    check and fallback cells read. Rubrics are the ``answer`` cells of
    :mod:`grounding_kit.course.sources`; they become ``YOUR ANSWER HERE``.
    """
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    answers = answer_names(copy)
    for index, cell in enumerate(copy.cells):
        if cell.cell_type == "code":
            role = cell_role(cell)
            code = strip_hidden_tests(cell.source, where=f"{name} cell {index}")
            cell.source = strip_solutions(code, where=f"{name} cell {index}",
                                          answers=answers.get(role[1]) if role else None)
            cell.outputs, cell.execution_count = [], None
        elif (cell_role(cell) or ("",))[0] == "answer":
            cell.source = ANSWER_STUB
    return copy


def count_exercises(notebook: NotebookNode) -> int:
    """The number of solution blocks in a notebook."""
    return sum(line.strip() == BEGIN for cell in notebook.cells if cell.cell_type == "code"
               for line in cell.source.splitlines())


def write_student_copies(notebooks_dir: Path, output_dir: Path, *, keep_existing: bool = False) -> dict[Path, int]:
    """Write the student copy of every notebook in ``notebooks_dir`` to ``output_dir``.

    With ``keep_existing`` a copy already in ``output_dir`` is left alone (a student's work is never
    overwritten; ``make student-lab``). Returns each student copy's path with the number of
    exercises (solution blocks) it holds.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for path in notebook_paths(notebooks_dir):
        notebook = nbformat.read(path, as_version=4)
        target = output_dir / path.name
        if not (keep_existing and target.exists()):
            nbformat.write(student_notebook(notebook, path.name), target)
        written[target] = count_exercises(notebook)
    return written
