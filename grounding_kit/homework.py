"""Homework: exercises in the course sources, nbgrader courses made from them, fallbacks.

The convention for an exercise in ``notebooks/source/NN_*.py``
---------------------------------------------------------------
A cell header may end with ``key=value`` tags after the optional slide type (see
:func:`grounding_kit.course.parse_source`); the build stores them in the cell's metadata under
``"grounding_kit"``. Four roles exist, each naming its exercise id (``1.1``, ``2.3``, ``3.H1``):

``exercise=ID``  (code) the **solution cell**. It holds the setup the student needs, then the
    answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, and nothing after the
    ``END`` marker that depends on the answer. Student copies replace the block with
    ``# YOUR CODE HERE`` / ``raise NotImplementedError``; nbgrader makes it a solution cell, and
    its unindented set-up lines before ``### BEGIN SOLUTION`` a read-only cell before it.

``check=ID points=P``  (code, right after the solution cell) the **graded check**: only calls
    of the kit's ``grounding_kit.checks`` functions with the student's answer and the exercise's
    inputs, which compute the reference with tested kit code when they run. No reference value
    and no solution text appear in it. Checks that should not be shown to students (extra cases
    graded at grading time) go between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``;
    student and release copies drop them. ``P`` is the exercise's points (an integer);
    nbgrader makes the cell an autograded test cell worth ``P``.

``fallback=ID``  (code, optional, after the check) one line per value that later cells use::

        S = own_or_kit("1.1", "S", text_emb, image_emb)

    :func:`own_or_kit` returns the student's own ``S`` when it exists and passes the exercise's
    check, and otherwise the kit's reference value, printing one line: "exercise 1.1 not done
    yet: using the kit's S so the rest of the notebook runs". Code that uses the answer (plots,
    prints) goes after this cell, never in the solution or check cell.

``answer=ID points=P``  (markdown) a **manually graded answer** to a conceptual homework
    question asked in the markdown cell before it. Its text is the rubric for the grader
    (what earns the points, a model answer); student and release copies replace it with
    ``YOUR ANSWER HERE`` and nbgrader makes it a manually graded answer cell worth ``P``.

The explanation (markdown) cells of an exercise need no tag: in an nbgrader course every markdown
cell that is not an ``answer`` is read-only, and so are the ``check`` and ``fallback`` cells.

Example (notebook 02)::

    # %% [markdown] subslide
    # ## Exercise 2.1: the grid of an additive model
    # ...

    # %% - exercise=2.1
    f_t = np.array([2.0, -1.0, 0.5, 0.0])
    f_v = np.array([0.3, 1.2, -0.7, 0.1])
    ### BEGIN SOLUTION
    G = ...
    ### END SOLUTION

    # %% - check=2.1 points=2
    check_additive_grid(G, f_t, f_v)

    # %% - fallback=2.1
    G = own_or_kit("2.1", "G", f_t, f_v)

    # %% [markdown] - answer=2.H1 points=2
    # **Rubric (2 points).** 1 point: the residual of G is zero everywhere; 1 point: because ...

Every ``exercise`` needs exactly one ``check`` with points; ``fallback`` and ``answer`` are
optional. :func:`exercise_cells` reads the tags back and :func:`validate_exercises` refuses a
notebook that breaks these rules, naming the cell.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import nbformat
import numpy as np
from nbformat import NotebookNode

from . import checks
from .arrays import to_numpy

ROLES = ("exercise", "check", "fallback", "answer")
ANSWER_STUB = "YOUR ANSWER HERE"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
COURSE_ID = "grounding-kit"
NBGRADER_SCHEMA = 3


# ---------------------------------------------------------------- reading the tags

def cell_role(cell: NotebookNode) -> tuple[str, str] | None:
    """``(role, exercise_id)`` of a tagged homework cell, or None for any other cell."""
    tags = cell.get("metadata", {}).get("grounding_kit", {})
    roles = [role for role in ROLES if role in tags]
    return (roles[0], str(tags[roles[0]])) if roles else None


def exercise_cells(notebook: NotebookNode) -> list[tuple[int, str, str, int | None]]:
    """Every tagged cell as ``(cell index, role, exercise id, points or None)``, in order."""
    found = []
    for index, cell in enumerate(notebook.cells):
        role = cell_role(cell)
        if role is not None:
            found.append((index, *role, cell.metadata["grounding_kit"].get("points")))
    return found


def points(notebook: NotebookNode) -> dict[str, int]:
    """The points of each graded item: ``{"2.1": 2, ..., "2.H1": 2}`` (checks and answers)."""
    return {ex: pts for _, role, ex, pts in exercise_cells(notebook) if role in ("check", "answer")}


def validate_exercises(notebook: NotebookNode, name: str = "notebook") -> None:
    """Refuse a notebook whose homework tags break the convention of this module (ValueError).

    Each ``exercise`` cell is a code cell with a solution block, followed by exactly one
    ``check`` code cell with points; ``fallback`` cells name an exercise that exists; ``answer``
    cells are markdown with points; each graded id appears once.
    """
    cells = notebook.cells
    seen: dict[tuple[str, str], int] = {}
    for index, role, exercise, pts in exercise_cells(notebook):
        where = f"{name} cell {index} ({role}={exercise})"
        cell = cells[index]
        tags = cell.metadata["grounding_kit"]
        if len([r for r in ROLES if r in tags]) != 1:
            raise ValueError(f"{where}: a cell has one role, got tags {tags}")
        unknown = set(tags) - set(ROLES) - {"points"}
        if unknown:
            raise ValueError(f"{where}: unknown tag(s) {sorted(unknown)}; expected {list(ROLES)} and points")
        if (role, exercise) in seen:
            raise ValueError(f"{where}: {role}={exercise} already tags cell {seen[(role, exercise)]}")
        seen[(role, exercise)] = index
        wants_markdown = role == "answer"
        if (cell.cell_type == "markdown") != wants_markdown:
            raise ValueError(f"{where}: expected a {'markdown' if wants_markdown else 'code'} cell, "
                             f"got a {cell.cell_type} cell")
        if role in ("check", "answer") and pts is None:
            raise ValueError(f"{where}: a graded cell needs points=P")
        if role in ("exercise", "fallback") and pts is not None:
            raise ValueError(f"{where}: points go on the check cell, not on the {role} cell")
        if role == "exercise" and "### BEGIN SOLUTION" not in cell.source:
            raise ValueError(f"{where}: the exercise cell holds no '### BEGIN SOLUTION' block")
        if role == "check":
            if "### BEGIN SOLUTION" in cell.source:
                raise ValueError(f"{where}: a check cell holds no solution block")
            before = cell_role(cells[index - 1]) if index else None
            if before != ("exercise", exercise):
                raise ValueError(f"{where}: the check must directly follow the cell tagged exercise={exercise}")
    for (role, exercise), index in seen.items():
        if role == "exercise" and ("check", exercise) not in seen:
            raise ValueError(f"{name} cell {index}: exercise={exercise} has no check={exercise} cell")
        if role in ("check", "fallback") and ("exercise", exercise) not in seen:
            raise ValueError(f"{name} cell {index}: {role}={exercise} names no exercise={exercise} cell")


def strip_hidden_tests(code: str, where: str = "<cell>") -> str:
    """``code`` without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks."""
    from .course import replace_marked_blocks

    return replace_marked_blocks(code, HIDDEN_BEGIN, HIDDEN_END, where=where)


# ---------------------------------------------------------------- fallbacks

def _decomposition(P: Any) -> Any:
    from .analysis import decompose

    return decompose(to_numpy(P))


def _majority() -> Callable[[Any, Any], float]:
    from .world.rebalancing import majority_answer_accuracy

    return majority_answer_accuracy


#: ``(exercise, name) -> (check, reference)``: ``check(value, *inputs)`` raises when the student's
#: ``value`` is wrong (the exercise's own check); ``reference(*inputs)`` is the kit's value, computed
#: by library code. :func:`own_or_kit` uses it; a new exercise whose answer later cells use adds
#: one entry here (each entry is used by a ``fallback`` cell of the course; a test checks it).
FALLBACKS: dict[tuple[str, str], tuple[Callable[..., Any], Callable[..., Any]]] = {
    ("1.1", "S"): (checks.check_similarity_matrix,
                   lambda text_emb, image_emb: to_numpy(text_emb) @ to_numpy(image_emb).T),
    ("1.3", "zero_shot"): (checks.check_zero_shot, lambda S_zs: to_numpy(S_zs).argmax(axis=0)),
    ("1.4", "S_add"): (lambda S_add, S: checks.check_additive_part(S_add, S),
                       lambda S: _decomposition(S).additive()),
    ("2.1", "G"): (checks.check_additive_grid, lambda f_t, f_v: np.add.outer(to_numpy(f_t), to_numpy(f_v))),
    ("3.1", "blind_accuracy"): (lambda fn, questions, answers:
                                checks.check_blind_accuracy(fn(questions, answers), questions, answers),
                                lambda questions, answers: _majority()),
    ("3.1", "blind_biased"): (checks.check_blind_accuracy,
                              lambda questions, answers: _majority()(questions, answers)),
    ("3.3", "blind_balanced"): (checks.check_blind_accuracy,
                                lambda questions, answers: _majority()(questions, answers)),
}


def own_or_kit(exercise: str, name: str, *inputs: Any, namespace: dict[str, Any] | None = None) -> Any:
    """The student's answer ``name`` to ``exercise`` if it is right, else the kit's reference value.

    Parameters
    ----------
    exercise : the exercise id, e.g. ``"1.1"``.
    name : the variable (or function) the exercise asks for, e.g. ``"S"``.
    *inputs : the exercise's inputs, as its check takes them after the answer
        (``text_emb, image_emb`` for 1.1).
    namespace : where to look for the student's ``name``; the caller's globals when None
        (a notebook's namespace).

    Returns the student's value when it exists and passes the exercise's check (silently);
    otherwise prints one line, "exercise 1.1 not done yet: using the kit's S so the rest of the
    notebook runs" (or "is not right yet" for a wrong answer), and returns the kit's value.
    """
    if (exercise, name) not in FALLBACKS:
        known = ", ".join(f"{e}/{n}" for e, n in FALLBACKS)
        raise ValueError(f"no kit value for {name!r} of exercise {exercise!r}; known: {known}")
    check, reference = FALLBACKS[(exercise, name)]
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    state = "not done yet"
    if name in namespace:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(namespace[name], *inputs)
        except NotImplementedError:
            pass
        except Exception as err:  # a CheckFailed, or the student's own function failing on the inputs
            if not isinstance(err.__context__, NotImplementedError):  # a check reporting the stub
                state = "is not right yet"
        else:
            return namespace[name]
    print(f"exercise {exercise} {state}: using the kit's {name} so the rest of the notebook runs")
    return reference(*inputs)


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

    ``exercise`` cells become solution cells, ``check`` cells autograded test cells worth their
    points, ``answer`` cells manually graded answers, and every other markdown cell and every
    ``fallback`` cell read-only. The exercise's inputs, the unindented lines of an exercise cell
    before its ``### BEGIN SOLUTION``, move to a read-only cell of their own just before it, so
    that nbgrader restores them when it grades. Outputs are cleared; the tags are validated first.
    """
    validate_exercises(notebook, name)
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
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
c.Exchange.root = str(here / "exchange")
c.Exchange.path_includes_course = True
# the course notebooks train small models: give a cell minutes, not nbgrader's 30 s default
c.Execute.timeout = {timeout}
'''


def assignment_name(notebook_path: Path) -> str:
    """The assignment a notebook becomes: its stem, ``02_additive_vs_interactive``."""
    return Path(notebook_path).stem


def init_course(directory: Path, notebooks_dir: Path, *, names: Iterable[str] | None = None,
                course_id: str = COURSE_ID, timeout: int = 600, force: bool = False) -> dict[str, Path]:
    """Write an nbgrader course folder made from the course notebooks; return ``{assignment: notebook}``.

    Parameters
    ----------
    directory : the course folder; it gets ``nbgrader_config.py`` and
        ``source/<assignment>/<assignment>.ipynb`` for each notebook with exercises.
    notebooks_dir : the built notebooks (``notebooks/``).
    names : notebook stems to include (all with exercises when None).
    course_id : nbgrader's course id.
    timeout : seconds a cell may run when nbgrader executes it.
    force : replace the files this function writes in a folder that already holds a course
        (nothing else in it is touched); without it an existing course is refused.
    """
    from .course import notebook_paths

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
    config.write_text(NBGRADER_CONFIG.format(course_id=course_id, timeout=timeout), encoding="utf-8")
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
    from .course import REPO_NOTEBOOKS

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
