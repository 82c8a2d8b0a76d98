"""An nbgrader course made from the notebooks: solution, test and rubric cells from the cell roles of
:mod:`grounding_kit.course.sources`; ``grounding-kit course init DIR`` writes the course folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import nbformat
from nbformat import NotebookNode

from grounding_kit.core.extras import require
from grounding_kit.course.sources import (REPO_NOTEBOOKS, cell_role, exercise_cells, notebook_paths, points,
                                          validate_exercises)
from grounding_kit.course.student import answer_names

#: the metadata key of a solution cell listing the answers its placeholders define
#: (read by :class:`grounding_kit.course.nbgrader_release.PlaceholderSolutions`)
ANSWERS_KEY = "grounding_kit_answers"

COURSE_ID = "grounding-kit"
NBGRADER_SCHEMA = 3


# ---------------------------------------------------------------- nbgrader

def grade_id(exercise: str, part: str) -> str:
    """An nbgrader grade id (letters, digits, ``_`` and ``-``): ``grade_id("2.1", "check") == "ex2_1-check"``."""
    return f"ex{exercise.replace('.', '_')}-{part}"


def _nbgrader(cell_id: str, *, grade: bool, solution: bool, locked: bool, points: int | None = None) -> dict:
    meta: dict[str, Any] = {"grade": grade, "solution": solution, "locked": locked,
                            "grade_id": cell_id, "schema_version": NBGRADER_SCHEMA}
    if points is not None:
        meta["points"] = points
    return meta


def _split_inputs(cell: NotebookNode) -> list[NotebookNode]:
    """An exercise cell as [inputs cell (untagged), solution cell] when it starts with top-level set-up lines."""
    if cell_role(cell) is None or cell_role(cell)[0] != "exercise":
        return [cell]
    lines = cell.source.splitlines()
    begin = next(i for i, line in enumerate(lines) if line.strip() == "### BEGIN SOLUTION")
    if begin == 0 or lines[begin] != lines[begin].lstrip():
        return [cell]
    inputs = nbformat.v4.new_code_cell("\n".join(lines[:begin]).rstrip(), id=f"{cell.id}-inputs",
                                       metadata={"slideshow": {"slide_type": "-"}})
    cell.source = "\n".join(lines[begin:])
    return [inputs, cell]


def nbgrader_notebook(notebook: NotebookNode, name: str = "notebook") -> NotebookNode:
    """A copy of ``notebook`` with nbgrader cell metadata: the source of an nbgrader assignment.

    ``exercise`` cells become solution cells (listing, under ``ANSWERS_KEY``, the answers the
    release copy's placeholders define), ``check`` cells autograded test cells worth their
    points, ``answer`` cells manually graded answers, and every other markdown cell and every
    ``fallback`` cell read-only. The exercise's inputs, the unindented lines of an exercise cell
    before its ``### BEGIN SOLUTION``, move to a read-only cell of their own just before it, so
    that nbgrader restores them when it grades. Outputs are cleared; the tags are validated first.
    """
    validate_exercises(notebook, name)
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    answers = answer_names(copy)
    copy.cells = [part for cell in copy.cells for part in _split_inputs(cell)]
    for index, cell in enumerate(copy.cells):
        role = cell_role(cell)
        pts = cell.metadata.get("grounding_kit", {}).get("points")
        if role is None or role[0] == "fallback":
            if cell.cell_type == "markdown" or role is not None or cell.id.endswith("-inputs"):
                cell.metadata["nbgrader"] = _nbgrader(f"locked-{index:03d}", grade=False,
                                                      solution=False, locked=True)
        elif role[0] == "exercise":
            cell.metadata["nbgrader"] = _nbgrader(grade_id(role[1], "answer"), grade=False,
                                                  solution=True, locked=False)
            cell.metadata[ANSWERS_KEY] = sorted(answers.get(role[1], ()))  # for the release's placeholders
        elif role[0] == "check":
            cell.metadata["nbgrader"] = _nbgrader(grade_id(role[1], "check"), grade=True,
                                                  solution=False, locked=True, points=pts)
        else:  # answer
            cell.metadata["nbgrader"] = _nbgrader(grade_id(role[1], "answer"), grade=True,
                                                  solution=True, locked=False, points=pts)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return copy


NBGRADER_CONFIG = '''"""nbgrader configuration of a grounding_kit course (written by `grounding-kit course init`).

Run nbgrader's commands in this folder; the gradebook and the exchange live here too.
"""
from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader)
here = Path(__file__).resolve().parent

c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = str(here)
c.CourseDirectory.db_url = f"sqlite:///{{here / 'gradebook.db'}}"
c.Exchange.root = {exchange}
c.Exchange.path_includes_course = True
# the course notebooks train small models: give a cell minutes, not nbgrader's 30 s default
c.Execute.timeout = {timeout}
# release copies as the kit's student copies: each answer a placeholder (`G = ...`) that Run All goes
# through and the checks call "not done yet" (they still fail when the autograder runs them)
from grounding_kit.course.nbgrader_release import release_preprocessors  # noqa: E402

c.GenerateAssignment.preprocessors = release_preprocessors()
# submissions and autograded copies keep no widget state (megabytes a copy; the outputs are graded),
# and feedback pages load MathJax from the Jupyter server that serves them, not from a CDN
from grounding_kit.course import nbgrader_plugins  # noqa: E402

c.ExchangeFactory.submit = nbgrader_plugins.WidgetFreeSubmit
c.Autograde.autograde_preprocessors = nbgrader_plugins.autograde_preprocessors()
c.HTMLExporter.extra_template_basedirs = nbgrader_plugins.feedback_template_dirs()
'''


def assignment_name(notebook_path: Path) -> str:
    """The assignment a notebook becomes: its stem, ``02_additive_vs_interactive``."""
    return Path(notebook_path).stem


def init_course(directory: Path, notebooks_dir: Path, *, names: Iterable[str] | None = None,
                course_id: str = COURSE_ID, timeout: int = 600, exchange: Path | None = None,
                force: bool = False) -> dict[str, Path]:
    """Write an nbgrader course folder made from the course notebooks; return ``{assignment: notebook}``.

    Parameters
    ----------
    directory : the course folder; it gets ``nbgrader_config.py`` and
        ``source/<assignment>/<assignment>.ipynb`` for each notebook with exercises.
    notebooks_dir : the built notebooks (``notebooks/``).
    names : notebook stems to include (all with exercises when None).
    course_id : nbgrader's course id.
    timeout : seconds a cell may run when nbgrader executes it.
    exchange : nbgrader's exchange folder (default: ``exchange/`` inside the course folder, made
        with mode 1777; a class hub passes the folder its users share, which it makes).
    force : replace the files this function writes in a folder that already holds a course
        (nothing else in it is touched); without it an existing course is refused.

    Raises
    ------
    ImportError
        nbgrader is not installed (the message names ``pip install 'grounding_kit[course]'``).
    ValueError
        A bad ``timeout``, or a ``directory`` that is a file.
    FileNotFoundError
        A name in ``names`` has no notebook in ``notebooks_dir``.
    FileExistsError
        ``directory`` already holds a course and ``force`` is false.
    """
    require("nbgrader", "course")
    directory = Path(directory)
    if not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"timeout={timeout!r}; expected a positive number of seconds (int)")
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} exists and is not a folder; pass a folder for the course")
    config = directory / "nbgrader_config.py"
    wanted = set(names) if names is not None else None
    chosen = []
    for path in notebook_paths(notebooks_dir):
        if wanted is not None and path.stem not in wanted:
            continue
        notebook = nbformat.read(path, as_version=4)
        if wanted is None and not any(role == "exercise" for _, role, _, _ in exercise_cells(notebook)):
            continue
        chosen.append((path, notebook))
    if wanted is not None:
        missing = wanted - {p.stem for p, _ in chosen}
        if missing:
            raise FileNotFoundError(f"no notebook named {sorted(missing)} in {notebooks_dir}")
    targets = {assignment_name(p): directory / "source" / assignment_name(p) / p.name for p, _ in chosen}
    existing = [p for p in [config, *targets.values()] if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{directory} already holds a course ({existing[0]} exists); "
                              "pass force=True (--force) to regenerate its sources")
    converted = {assignment_name(p): nbgrader_notebook(nb, p.name) for p, nb in chosen}
    directory.mkdir(parents=True, exist_ok=True)
    exchange_root = repr(str(Path(exchange).resolve())) if exchange is not None else 'str(here / "exchange")'
    if exchange is None and not (directory / "exchange").is_dir():
        # nbgrader's exchange exists from the start (else Formgrader and the assignment list say it
        # "could not be created"); world-writable with the sticky bit, as nbgrader's docs set it up
        (directory / "exchange").mkdir()
        (directory / "exchange").chmod(0o1777)
    config.write_text(NBGRADER_CONFIG.format(course_id=course_id, timeout=timeout, exchange=exchange_root),
                      encoding="utf-8")
    for assignment, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(converted[assignment], target)
    return targets


def next_steps(directory: Path, assignments: Iterable[str]) -> str:
    """What the instructor runs next, with nbgrader's own commands (printed by ``course init``)."""
    first = next(iter(assignments), "ASSIGNMENT")
    return "\n".join([
        f"nbgrader course in {directory}; in that folder, with the kit's environment active:",
        f"  nbgrader generate_assignment {first}   # release/{first}/: solutions, hidden tests and rubrics removed",
        f"  (hand out release/{first}/, collect into submitted/<student>/{first}/, e.g. nbgrader zip_collect)",
        f"  nbgrader autograde {first}             # runs each submission, scores the checks",
        "  score the answer cells by their rubrics in JupyterLab: Nbgrader > Formgrader > Manual Grading",
        f"  nbgrader generate_feedback {first}     # feedback/<student>/{first}/*.html",
        "  nbgrader export                           # grades.csv, the gradebook",
    ])


def init_course_cli(directory: Path, only: Sequence[str] | None, force: bool) -> int:
    """``grounding-kit course init`` / ``python -m grounding_kit.course nbgrader``: write and explain."""

    written = init_course(directory, REPO_NOTEBOOKS, names=only, force=force)
    for assignment, path in written.items():
        print(f"assignment {assignment}: {path} ({sum(points(nbformat.read(path, as_version=4)).values())} points)")
    print(next_steps(Path(directory), written))
    return 0


def filled_submission(release: NotebookNode, source: NotebookNode,
                      replace: dict[str, str] | None = None) -> NotebookNode:
    """A release copy with the instructor's solutions put back: a test submission for a course.

    Parameters
    ----------
    release : the release copy of an assignment (``release/<a>/<a>.ipynb``).
    source : the assignment's source (``source/<a>/<a>.ipynb``, as :func:`init_course` wrote it).
    replace : ``{grade_id: code}``: put ``code`` in place of that solution block instead (a wrong
        answer, say); unknown grade ids raise ValueError.

    Autograding the result should give full marks for the autograded checks (minus the replaced
    exercises), which is how an instructor tests a course before releasing it.
    """
    replace = dict(replace or {})
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    unknown = sorted(set(replace) - set(solutions))
    if unknown:
        raise ValueError(f"replace names {unknown}, which are not solution cells; expected some of "
                         f"{sorted(solutions)}")
    filled = nbformat.reads(nbformat.writes(release), as_version=4)
    for cell in filled.cells:
        grade = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade in solutions and cell.metadata["nbgrader"].get("solution"):
            cell.source = solutions[grade]
            if grade in replace:
                head, _, rest = cell.source.partition("### BEGIN SOLUTION")
                cell.source = head + replace[grade] + rest.partition("### END SOLUTION")[2]
    return filled
