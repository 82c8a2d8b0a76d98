"""The course workflow: build the notebooks from readable sources, hand out student copies, make slides.

The commands (``python -m grounding_kit.course --help``):

- ``build``: turns ``notebooks/source/*.py`` (percent format, see :func:`parse_source`) into
  ``notebooks/*.ipynb``, stored without outputs. ``build --check`` only reports stale notebooks.
- ``student``: writes student copies (:mod:`grounding_kit.course.student`), in which the code
  between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``# YOUR CODE HERE`` and a
  placeholder ``NAME = ...`` per answer (``return ...`` inside a function), so that *Run All* goes
  through an unanswered exercise (:func:`strip_solutions`); hidden tests are dropped and rubric
  cells read ``YOUR ANSWER HERE``; ``make student``, ``make student-lab``.
- ``nbgrader DIR``: an nbgrader course folder made from the notebooks (:mod:`grounding_kit.course.nbgrader`;
  also ``grounding-kit course init DIR``).
- ``slides``: executed reveal.js decks that need no network (:mod:`grounding_kit.course.slides`) from
  each cell's ``metadata.slideshow.slide_type``; ``make slides``.
- ``book``: the course website (Sphinx, :mod:`grounding_kit.course.book`) in ``build/book``; ``make book``.

The convention for an exercise in ``notebooks/source/NN_*.py``
---------------------------------------------------------------
A cell header may end with ``key=value`` tags after the optional slide type (see
:func:`grounding_kit.course.sources.parse_source`); the build stores them in the cell's metadata under
``"grounding_kit"``. Four roles exist, each naming its exercise id (``1.1``, ``2.3``, ``3.H1``):

``exercise=ID``  (code) the **solution cell**. It holds the setup the student needs, then the
    answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, and nothing after the
    ``END`` marker that depends on the answer. Student copies replace the block with
    ``# YOUR CODE HERE`` and ``S = ...`` (the placeholder the checks call "not done yet"), nbgrader's
    release copies with ``# YOUR CODE HERE`` / ``raise NotImplementedError``; nbgrader makes it a solution cell, and
    its unindented set-up lines before ``### BEGIN SOLUTION`` a read-only cell before it.

``check=ID points=P``  (code, right after the solution cell) the **graded check**: only calls
    of the kit's ``grounding_kit.exercises.checks`` functions with the student's answer and the exercise's
    inputs, which compute the reference with tested kit code when they run. No reference value
    and no solution text appear in it. Checks that should not be shown to students (extra cases
    graded at grading time) go between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``;
    student and release copies drop them. ``P`` is the exercise's points (an integer);
    nbgrader makes the cell an autograded test cell worth ``P``.

``fallback=ID``  (code, optional, after the check) one line per value that later cells use::

        S = own_or_kit("1.1", "S", text_emb, image_emb)

    :func:`own_or_kit` returns the student's own ``S`` when it exists and passes the exercise's
    check, and otherwise the kit's reference value, printing one line: "exercise 1.1: not done
    yet, the kit's S is used from here". Code that uses the answer (plots,
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

import ast
import re
import textwrap
from pathlib import Path
from typing import Iterable, Sequence

import nbformat
from nbformat import NotebookNode

from grounding_kit.core.paths import PACKAGE_DIR

REPO_NOTEBOOKS = PACKAGE_DIR.parent / "notebooks"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUDENT_STUB = ("# YOUR CODE HERE", "raise NotImplementedError")  # nbgrader's stub (its release copies)
PLACEHOLDER = "..."  # the student copy's value of an answer not written yet (the checks say "not done yet")
SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

_HEADER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: (?P<slide>[^\s=]+))?(?P<tags>(?: [a-z]+=\S+)*)\s*$")


# ---------------------------------------------------------------- build from sources

def parse_source(text: str, name: str = "<source>") -> NotebookNode:
    """A notebook (without outputs) from percent-format Python source.

    Each cell starts with a header line ``# %% [SLIDE_TYPE] [key=value ...]`` (code) or
    ``# %% [markdown] [SLIDE_TYPE] [key=value ...]`` (markdown, every line commented with ``# ``);
    the optional slide type is one of ``SLIDE_TYPES`` (default ``-``: continue the current slide).
    The optional ``key=value`` tags mark homework cells (``exercise=2.1``, ``check=2.1 points=2``,
    see :mod:`grounding_kit.course.sources`) and go to ``metadata["grounding_kit"]``. Lines before the
    first header are ignored (a module docstring, for instance).
    """
    cells: list[NotebookNode] = []
    kind, slide, lines, tags = None, "-", [], {}

    def flush() -> None:
        if kind is None:
            return
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        body = "\n".join(lines)
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        metadata = {"slideshow": {"slide_type": slide}}
        if tags:
            metadata["grounding_kit"] = tags
        cells.append(make(body, metadata=metadata, id=f"cell-{len(cells):03d}"))

    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            flush()
            kind = "markdown" if header["markdown"] else "code"
            slide, lines = header["slide"] or "-", []
            tags = parse_tags(header["tags"], where=f"{name}:{number}")
            if slide not in SLIDE_TYPES:
                raise ValueError(f"{name}:{number}: unknown slide type {slide!r}; expected one of "
                                 f"{list(SLIDE_TYPES)}")
        elif kind == "markdown":
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"{name}:{number}: a markdown cell line must start with '#', got {line!r}")
            lines.append(line[2:] if line.startswith("# ") else line[1:])
        elif kind == "code":
            lines.append(line)
    flush()
    if not cells:
        raise ValueError(f"{name} holds no cell: cells start with a line '# %%' or '# %% [markdown]'")
    notebook = nbformat.v4.new_notebook(cells=cells)
    # RISE's default theme ("simple") fetches web fonts; "white" needs nothing from outside
    notebook.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"},
                         "rise": {"theme": "white"}}
    return notebook


def parse_tags(text: str, where: str = "<header>") -> dict[str, str | int]:
    """The ``key=value`` tags of a cell header; ``points`` must be a positive integer."""
    tags: dict[str, str | int] = {}
    for token in text.split():
        key, value = token.split("=", 1)
        if key in tags:
            raise ValueError(f"{where}: tag {key!r} given twice")
        if key == "points":
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{where}: points={value!r}; expected a positive integer")
            tags[key] = int(value)
        else:
            tags[key] = value
    return tags


def build_notebook(source: Path) -> NotebookNode:
    """The notebook that ``source`` (a percent-format ``.py`` file) describes."""
    source = Path(source)
    return parse_source(source.read_text(encoding="utf-8"), name=source.name)


def build(source_dir: Path, output_dir: Path, *, check: bool = False) -> list[Path]:
    """Write ``output_dir/<stem>.ipynb`` for every ``source_dir/*.py``; return the changed ones.

    With ``check=True`` nothing is written: the returned paths are the stale notebooks.
    """
    sources = sorted(Path(source_dir).glob("[0-9]*.py"))
    if not sources:
        raise FileNotFoundError(f"no notebook sources (NN_name.py) in {source_dir}")
    changed = []
    for source in sources:
        target = Path(output_dir) / f"{source.stem}.ipynb"
        text = nbformat.writes(build_notebook(source)) + "\n"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            changed.append(target)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    return changed


# ---------------------------------------------------------------- student copies

def replace_marked_blocks(code: str, begin: str, end: str, stub: Sequence[str] = (),
                          where: str = "<cell>") -> str:
    """``code`` with every ``begin`` ... ``end`` block (marker lines included) replaced by ``stub``.

    The stub lines take the indentation of the ``begin`` marker, so a block inside a function body
    stays valid Python. Unbalanced markers raise ``ValueError`` naming ``where``.
    """
    out: list[str] = []
    inside = False
    for number, line in enumerate(code.splitlines(), start=1):
        marker = line.strip()
        if marker == begin:
            if inside:
                raise ValueError(f"{where}, line {number}: '{begin}' inside another '{begin}' block")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + stub_line for stub_line in stub)
        elif marker == end:
            if not inside:
                raise ValueError(f"{where}, line {number}: '{end}' without a '{begin}' before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{begin}' is never closed by '{end}'")
    return "\n".join(out)


def strip_solutions(code: str, where: str = "<cell>", answers: Iterable[str] | None = None) -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block by a student stub that runs.

    A block at the top level of the cell becomes ``# YOUR CODE HERE``, each function it defines with
    its signature and docstring and the body ``return ...``, and one ``NAME = ...`` line per answer
    it assigns, so the cell runs, the names exist and the checks report "not done yet"
    (:class:`grounding_kit.exercises.checks.NotDone`) instead of the notebook stopping. Only the names in
    ``answers`` (the ones the check and fallback cells read) get a line, when given and when the
    block assigns any of them; otherwise every name it assigns. A block inside a function body
    becomes ``# YOUR CODE HERE`` and ``return ...`` (``raise NotImplementedError`` when the block
    returns nothing). Unbalanced markers raise ``ValueError`` naming ``where``.
    """
    wanted = None if answers is None else set(answers)
    out: list[str] = []
    block: list[str] | None = None
    indent = ""
    for number, line in enumerate(code.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if block is not None:
                raise ValueError(f"{where}, line {number}: '{BEGIN}' inside another '{BEGIN}' block")
            block, indent = [], line[: len(line) - len(line.lstrip())]
        elif marker == END:
            if block is None:
                raise ValueError(f"{where}, line {number}: '{END}' without a '{BEGIN}' before it")
            out.extend(indent + stub_line for stub_line in _student_stub(block, indent, wanted, where))
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise ValueError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def _student_stub(block: list[str], indent: str, wanted: set[str] | None, where: str) -> list[str]:
    """The stub lines (without ``indent``) for one solution block; see :func:`strip_solutions`."""
    text = textwrap.dedent("\n".join(block))
    if indent:
        returns = any(isinstance(node, ast.Return) for node in ast.walk(ast.parse(text)))
        return [STUDENT_STUB[0], f"return {PLACEHOLDER}" if returns else STUDENT_STUB[1]]
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise ValueError(f"{where}: the solution block is not valid Python ({error.msg}, line {error.lineno})") from None
    assigned: list[str] = []
    for statement in tree.body:
        targets = (statement.targets if isinstance(statement, ast.Assign) else
                   [statement.target] if isinstance(statement, (ast.AnnAssign, ast.AugAssign)) else [])
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name) and node.id not in assigned:
                    assigned.append(node.id)
    if wanted is not None and wanted & set(assigned):
        assigned = [name for name in assigned if name in wanted]
    functions = [_function_stub(node) for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not assigned and not functions:
        return list(STUDENT_STUB)
    return [f"{STUDENT_STUB[0]}: write your answer in place of {PLACEHOLDER}",
            *(line for stub in functions for line in stub),
            *(f"{name} = {PLACEHOLDER}" for name in assigned)]


def _function_stub(node: ast.FunctionDef) -> list[str]:
    """A function the solution block defines, as its student stub: the signature and docstring kept,
    the body ``return ...`` (its check then says "not done yet")."""
    lines = [f"def {node.name}({ast.unparse(node.args)}):"]
    docstring = ast.get_docstring(node, clean=False)
    if docstring is not None:
        lines.append(f'    """{docstring}"""')
    return lines + [f"    return {PLACEHOLDER}"]


def names_read(code: str) -> set[str]:
    """The names a cell's code reads (loads), for :func:`strip_solutions`'s ``answers``."""
    try:
        tree = ast.parse("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("!", "%"))))
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def notebook_paths(notebooks_dir: Path) -> list[Path]:
    """The notebooks (``*.ipynb``) of ``notebooks_dir``, sorted; FileNotFoundError when there are none."""
    paths = sorted(Path(notebooks_dir).glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {notebooks_dir}")
    return paths


ROLES = ("exercise", "check", "fallback", "answer")


ANSWER_STUB = "YOUR ANSWER HERE"


HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


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

    return replace_marked_blocks(code, HIDDEN_BEGIN, HIDDEN_END, where=where)
