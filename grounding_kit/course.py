"""The course workflow: build the notebooks from readable sources, hand out student copies, make slides.

The commands (``python -m grounding_kit.course --help``):

- ``build``: turns ``notebooks/source/*.py`` (percent format, see :func:`parse_source`) into
  ``notebooks/*.ipynb``, stored without outputs. ``build --check`` only reports stale notebooks.
- ``student``: writes student copies, in which the code between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError`` (as nbgrader
  and fastbook do), hidden tests are dropped and rubric cells read ``YOUR ANSWER HERE``;
  ``make student``.
- ``nbgrader DIR``: an nbgrader course folder made from the notebooks (:mod:`grounding_kit.homework`;
  also ``grounding-kit course init DIR``).
- ``slides``: executed reveal.js decks that need no network (:mod:`grounding_kit.slides`) from
  each cell's ``metadata.slideshow.slide_type``; ``make slides``.
- ``book``: the course website (Sphinx, :mod:`grounding_kit.book`) in ``build/book``; ``make book``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Iterable, Sequence

import nbformat
from nbformat import NotebookNode

from .paths import PACKAGE_DIR

REPO_NOTEBOOKS = PACKAGE_DIR.parent / "notebooks"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUDENT_STUB = ("# YOUR CODE HERE", "raise NotImplementedError")
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
    see :mod:`grounding_kit.homework`) and go to ``metadata["grounding_kit"]``. Lines before the
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


def strip_solutions(code: str, where: str = "<cell>") -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block by the student stub
    (see :func:`replace_marked_blocks`)."""
    return replace_marked_blocks(code, BEGIN, END, STUDENT_STUB, where)


def student_notebook(notebook: NotebookNode, name: str = "notebook") -> NotebookNode:
    """A copy of ``notebook`` with solutions, hidden tests and rubrics stripped, outputs cleared.

    Rubrics are the ``answer`` cells of :mod:`grounding_kit.homework`; they become ``YOUR ANSWER HERE``.
    """
    from .homework import ANSWER_STUB, cell_role, strip_hidden_tests

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


def notebook_paths(notebooks_dir: Path) -> list[Path]:
    paths = sorted(Path(notebooks_dir).glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {notebooks_dir}")
    return paths


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


# ---------------------------------------------------------------- slides and book

def write_slides(notebooks_dir: Path, output_dir: Path, *, execute: bool = True,
                 reveal_url_prefix: str | None = None, names: Iterable[str] | None = None,
                 executed_dir: Path | None = None) -> list[Path]:
    """Write ``<stem>.slides.html`` (reveal.js) for each notebook, with ``assets/`` beside them.

    Parameters
    ----------
    execute : run each notebook first (figures as static plots; see :mod:`grounding_kit.slides`).
    reveal_url_prefix : where the decks load reveal.js from (default: the copy in ``assets/``).
    names : notebook stems to convert (all when None).
    executed_dir : keep the executed notebooks there (the book reuses them).
    """
    from .slides import write_decks

    paths = notebook_paths(notebooks_dir)
    if names is not None:
        wanted = set(names)
        missing = sorted(wanted - {p.stem for p in paths})
        if missing:
            raise FileNotFoundError(f"no notebook named {missing} in {notebooks_dir}")
        paths = [p for p in paths if p.stem in wanted]
    return write_decks(paths, output_dir, execute=execute, executed_dir=executed_dir,
                       reveal_url_prefix=reveal_url_prefix)


# ---------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grounding_kit.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build notebooks/*.ipynb from notebooks/source/*.py")
    build_cmd.add_argument("--source", type=Path, default=REPO_NOTEBOOKS / "source")
    build_cmd.add_argument("--output", type=Path, default=REPO_NOTEBOOKS)
    build_cmd.add_argument("--check", action="store_true", help="only list stale notebooks (exit 1 if any)")
    student = commands.add_parser("student", help="write student copies (solutions stripped)")
    student.add_argument("--notebooks", type=Path, default=REPO_NOTEBOOKS)
    student.add_argument("--output", type=Path, default=Path("build/student"))
    grader = commands.add_parser("nbgrader", help="write an nbgrader course folder (see grounding_kit.homework)")
    grader.add_argument("directory", type=Path, help="the course folder to create")
    grader.add_argument("--only", nargs="*", default=None, metavar="STEM", help="only these notebooks")
    grader.add_argument("--force", action="store_true", help="regenerate the sources of an existing course")
    slides = commands.add_parser("slides", help="write reveal.js slide decks")
    slides.add_argument("--notebooks", type=Path, default=REPO_NOTEBOOKS)
    slides.add_argument("--output", type=Path, default=Path("build/slides"))
    slides.add_argument("--no-execute", dest="execute", action="store_false",
                        help="convert the notebooks as stored (no outputs, no figures)")
    slides.add_argument("--executed", type=Path, default=Path("build/executed"),
                        help="where the executed notebooks are kept (reused by `book`)")
    slides.add_argument("--reveal-url-prefix", default=None, help="where the decks load reveal.js from")
    slides.add_argument("--only", nargs="*", default=None, metavar="STEM", help="convert only these notebooks")
    book = commands.add_parser("book", help="build the course website (Sphinx) in build/book")
    book.add_argument("--notebooks", type=Path, default=REPO_NOTEBOOKS)
    book.add_argument("--output", type=Path, default=Path("build/book"))
    book.add_argument("--executed", type=Path, default=Path("build/executed"),
                      help="executed notebooks to reuse (as `slides` leaves them)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "build":
        changed = build(args.source, args.output, check=args.check)
        verb = "stale" if args.check else "rebuilt"
        for path in changed:
            print(f"{verb}: {path}")
        print(f"{len(changed)} notebook(s) {verb}")
        return 1 if args.check and changed else 0
    if args.command == "student":
        for path, exercises in write_student_copies(args.notebooks, args.output).items():
            print(f"student copy: {path} ({exercises} exercises)")
        return 0
    if args.command == "nbgrader":
        from .homework import init_course_cli

        return init_course_cli(args.directory, args.only, args.force)
    if args.command == "book":
        from .book import write_book

        print(f"book: {write_book(notebook_paths(args.notebooks), args.output, executed_dir=args.executed)}")
        return 0
    written = write_slides(args.notebooks, args.output, execute=args.execute,
                           reveal_url_prefix=args.reveal_url_prefix, names=args.only,
                           executed_dir=args.executed)
    for path in written:
        print(f"slides: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
