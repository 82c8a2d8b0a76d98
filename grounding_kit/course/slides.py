"""Static reveal.js decks that work from a USB stick: executed, static figures, no network.

``make slides`` (``python -m grounding_kit.course slides``) runs :func:`write_decks`:

1. each notebook, in the edition asked for (:func:`edition_notebook`: the **student** copy by
   default, with no solution, hidden test or rubric; the **instructor**'s with them, on request),
   is executed headless (nbclient) and its widget outputs made static
   (:func:`grounding_kit.course.static_widgets.make_static`); the result is kept in
   ``build/executed/<edition>/<stem>.ipynb``, which the book (:mod:`grounding_kit.course.book`) reuses;
2. nbconvert's slides exporter writes ``<stem>.slides.html`` with the kit's ``gk_reveal``
   template (nbconvert's reveal template, every script local); an instructor's deck carries a
   banner on every slide (:data:`INSTRUCTOR_BANNER`);
3. reveal.js, require.js, MathJax and plotly.js are copied from installed packages into
   ``assets/`` beside the decks (:func:`grounding_kit.course.assets.vendor`).

Copy the output folder as a whole: a deck opened from it requests nothing outside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import nbformat
from nbformat import NotebookNode

from grounding_kit.course import assets
from grounding_kit.course.sources import notebook_paths
from grounding_kit.course.static_widgets import make_static
from grounding_kit.course.student import student_notebook

TEMPLATES = Path(__file__).resolve().with_name("templates")
ASSET_DIR = "assets"  # the folder beside the decks
SLIDE_SIZE = (1280, 720)  # reveal's slide size in CSS pixels (a 720p projector)
#: who a deck or the book is for: students (the default: what the student copy holds) or instructors
EDITIONS = ("student", "instructor")
#: the mark on every slide and page of the instructor's edition
INSTRUCTOR_BANNER = "Instructor's edition: holds the solutions, hidden tests and rubrics. Do not share with students."


def check_edition(edition: str) -> str:
    """``edition`` if it is one of :data:`EDITIONS`, else ValueError naming the options."""
    if edition not in EDITIONS:
        raise ValueError(f"edition={edition!r}; expected one of {list(EDITIONS)}")
    return edition


def edition_notebook(notebook: NotebookNode, edition: str = "student", name: str = "notebook") -> NotebookNode:
    """The notebook as ``edition`` shows it: the student copy (:func:`grounding_kit.course.student.student_notebook`:
    no solution, hidden test or rubric) or, for ``"instructor"``, the notebook itself (a copy)."""
    if check_edition(edition) == "student":
        return student_notebook(notebook, name)
    return nbformat.reads(nbformat.writes(notebook), as_version=4)


# A FigureWidget syncs its figure to its widget state only when displayed; later changes travel as
# messages. Run at the end, this makes the saved state of every figure its final look.
SYNC_FIGURES = """\
import copy as _copy, sys as _sys
if "plotly.basewidget" in _sys.modules:
    from ipywidgets.widgets.widget import _instances as _widgets
    for _figure in list(_widgets.values()):
        if isinstance(_figure, _sys.modules["plotly.basewidget"].BaseFigureWidget):
            _figure._widget_data = _copy.deepcopy(_figure._data)
            _figure._widget_layout = _copy.deepcopy(_figure._layout_obj._props)
"""


def execute_notebook(notebook: NotebookNode, cwd: Path, timeout: int = 600) -> NotebookNode:
    """Run a notebook headless in ``cwd`` (in place), keeping the final state of its widgets
    (figures included, see ``SYNC_FIGURES``)."""
    from nbclient import NotebookClient

    notebook.cells.append(nbformat.v4.new_code_cell(SYNC_FIGURES, id="gk-sync-figures"))
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        notebook.cells.pop()
    return notebook


def executed_static(path: Path, executed_dir: Path | None = None, timeout: int = 600, *,
                    edition: str = "student") -> NotebookNode:
    """The notebook at ``path`` in ``edition`` (see :func:`edition_notebook`), executed, with static
    figures (see :mod:`grounding_kit.course.static_widgets`).

    With ``executed_dir``, the result is stored there as ``<edition>/<stem>.ipynb`` and reused while
    it is newer than ``path``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    stored = Path(executed_dir) / check_edition(edition) / path.name if executed_dir is not None else None
    if stored is not None and stored.exists() and stored.stat().st_mtime >= path.stat().st_mtime:
        return nbformat.read(stored, as_version=4)
    notebook = edition_notebook(nbformat.read(path, as_version=4), edition, path.name)
    notebook = execute_notebook(notebook, cwd=path.parent, timeout=timeout)
    make_static(notebook)
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, stored)
    return notebook


def exporter(reveal_url_prefix: str | None = None):
    """nbconvert's ``SlidesExporter`` with the kit's ``gk_reveal`` template and local scripts.

    ``reveal_url_prefix`` overrides where reveal.js is loaded from (default: ``assets/reveal.js``
    beside the deck).
    """
    from nbconvert import SlidesExporter

    slides = SlidesExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="gk_reveal")
    slides.reveal_url_prefix = reveal_url_prefix or f"{ASSET_DIR}/reveal.js"
    slides.require_js_url = f"{ASSET_DIR}/require.min.js"
    slides.mathjax_url = assets.mathjax_url(ASSET_DIR)
    slides.reveal_width, slides.reveal_height = (str(v) for v in SLIDE_SIZE)
    slides.reveal_theme = "white"  # its fonts ship with reveal.js (others import web fonts)
    return slides


def write_deck(notebook: NotebookNode, name: str, output_dir: Path,
               reveal_url_prefix: str | None = None, *, banner: str | None = None) -> Path:
    """Write ``output_dir/<name>.slides.html`` from ``notebook`` and vendor the assets beside it;
    ``banner`` (the instructor's edition's mark) shows on every slide."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    wanted = assets.ASSETS if reveal_url_prefix is None else tuple(a for a in assets.ASSETS if a != "reveal.js")
    assets.vendor(output_dir / ASSET_DIR, wanted)
    body, _ = exporter(reveal_url_prefix).from_notebook_node(
        notebook, resources={"metadata": {"name": name}, "gk_assets": ASSET_DIR,
                             "gk_mathjax_config": assets.MATHJAX_OPTIONS, "gk_banner": banner})
    target = output_dir / f"{name}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def write_decks(paths: Iterable[Path], output_dir: Path, *, execute: bool = True,
                executed_dir: Path | None = None, reveal_url_prefix: str | None = None,
                edition: str = "student") -> list[Path]:
    """One deck per notebook in ``paths``; returns the decks written.

    Parameters
    ----------
    paths : notebooks (``.ipynb``, the solution notebooks of ``notebooks/``).
    output_dir : where the decks and their ``assets/`` folder go.
    execute : run each notebook first, so that its figures and outputs show (else the deck has
        the notebook's stored outputs: none for the committed notebooks).
    executed_dir : keep (and reuse) the executed, static notebooks there (under ``<edition>/``).
    reveal_url_prefix : load reveal.js from there instead of the vendored copy.
    edition : ``"student"`` (what the student copy holds: no solution, hidden test or rubric) or
        ``"instructor"`` (all of it, with :data:`INSTRUCTOR_BANNER` on every slide).

    Raises
    ------
    ValueError
        If ``edition`` is not one of :data:`EDITIONS`.
    """
    check_edition(edition)
    banner = INSTRUCTOR_BANNER if edition == "instructor" else None
    written = []
    for path in paths:
        path = Path(path)
        if execute:
            notebook = executed_static(path, executed_dir, edition=edition)
        else:
            notebook = edition_notebook(nbformat.read(path, as_version=4), edition, path.name)
            notebook.metadata.pop("widgets", None)
        written.append(write_deck(notebook, path.stem, output_dir, reveal_url_prefix, banner=banner))
    return written


def write_slides(notebooks_dir: Path, output_dir: Path, *, execute: bool = True,
                 reveal_url_prefix: str | None = None, names: Iterable[str] | None = None,
                 executed_dir: Path | None = None, edition: str = "student") -> list[Path]:
    """Write ``<stem>.slides.html`` (reveal.js) for each notebook, with ``assets/`` beside them.

    Parameters
    ----------
    execute : run each notebook first (figures as static plots; see :mod:`grounding_kit.course.slides`).
    reveal_url_prefix : where the decks load reveal.js from (default: the copy in ``assets/``).
    names : notebook stems to convert (all when None).
    executed_dir : keep the executed notebooks there (the book reuses them).
    edition : ``"student"`` (default) or ``"instructor"``; see :func:`write_decks`.

    Raises
    ------
    FileNotFoundError
        If a name in ``names`` is not a notebook of ``notebooks_dir``.
    ValueError
        If ``edition`` is not one of :data:`EDITIONS`.
    """

    paths = notebook_paths(notebooks_dir)
    if names is not None:
        wanted = set(names)
        missing = sorted(wanted - {p.stem for p in paths})
        if missing:
            raise FileNotFoundError(f"no notebook named {missing} in {notebooks_dir}")
        paths = [p for p in paths if p.stem in wanted]
    return write_decks(paths, output_dir, execute=execute, executed_dir=executed_dir,
                       reveal_url_prefix=reveal_url_prefix, edition=edition)
