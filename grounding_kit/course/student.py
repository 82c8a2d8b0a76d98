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


#: where a Colab link opens a notebook of a public GitHub repository
COLAB_GITHUB = "https://colab.research.google.com/github/"


def colab_cell(colab: str, name: str) -> nbformat.NotebookNode:
    """A first cell linking the student copy ``name`` on Colab.

    ``colab`` is where the student copies are published on GitHub, as Colab's path reads it:
    ``OWNER/REPO/blob/BRANCH/FOLDER`` (e.g. ``my-org/course/blob/main/student``). A plain link, no
    badge image: the copy loads nothing from the web when opened offline.
    """
    parts = colab.strip("/").split("/")
    if len(parts) < 4 or parts[2] != "blob" or not all(parts):
        raise ValueError(f"colab must read OWNER/REPO/blob/BRANCH[/FOLDER] (where the student copies are "
                         f"published on GitHub), got {colab!r}")
    url = COLAB_GITHUB + "/".join([*parts, name])
    return nbformat.v4.new_markdown_cell(f"[Open this notebook in Colab]({url}) (your own copy: "
                                         "*File > Save a copy in Drive* before you start)",
                                         metadata={"grounding_kit": {"colab": True}})


def write_student_copies(notebooks_dir: Path, output_dir: Path, *, keep_existing: bool = False,
                         colab: str | None = None) -> dict[Path, int]:
    """Write the student copy of every notebook in ``notebooks_dir`` to ``output_dir``.

    With ``keep_existing`` a copy already in ``output_dir`` is left alone (a student's work is never
    overwritten; ``make student-lab``). With ``colab`` (``OWNER/REPO/blob/BRANCH/FOLDER``, where the
    copies will be published on GitHub) each copy starts with a link that opens it on Colab
    (:func:`colab_cell`). Returns each student copy's path with the number of exercises (solution
    blocks) it holds.

    Raises
    ------
    ValueError
        ``colab`` not of the form ``OWNER/REPO/blob/BRANCH[/FOLDER]``.
    """
    if colab is not None:
        colab_cell(colab, "check.ipynb")  # refuse a bad value before anything is written
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for path in notebook_paths(notebooks_dir):
        notebook = nbformat.read(path, as_version=4)
        target = output_dir / path.name
        if not (keep_existing and target.exists()):
            copy = student_notebook(notebook, path.name)
            if colab is not None:
                copy.cells.insert(0, colab_cell(colab, path.name))
            nbformat.write(copy, target)
        written[target] = count_exercises(notebook)
    return written
