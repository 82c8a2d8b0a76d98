"""The course website: Sphinx + myst-nb + sphinx-book-theme, fully offline (``make book``).

:func:`write_book` stages ``docs/`` (configuration, instructor's guide, API reference) and the
executed notebooks (static figures, from :func:`grounding_kit.course.slides.executed_static`, shared
with the decks) in one source folder, then runs ``sphinx-build``. The site's scripts (MathJax,
plotly.js) are copied from installed packages (``docs/conf.py``); the result opens from disk.

The book is built for students by default: its notebook pages are the student copies (no
solution, hidden test or rubric). ``edition="instructor"`` (``make book EDITION=instructor``)
builds the pages from the solution notebooks, with :data:`~grounding_kit.course.slides.INSTRUCTOR_BANNER`
as a banner on every page and in the site's title.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable

import nbformat

from grounding_kit.core.extras import require
from grounding_kit.core.paths import PACKAGE_DIR
from grounding_kit.course.slides import INSTRUCTOR_BANNER, check_edition, edition_notebook, executed_static

DOCS = PACKAGE_DIR.parent / "docs"


#: pages of docs/ that only the instructor's edition holds (the guide has the model answers)
INSTRUCTOR_PAGES = ("instructor.md",)


def leave_out_instructor_pages(source_dir: Path) -> None:
    """Remove :data:`INSTRUCTOR_PAGES` from a staged ``source_dir`` and their entries from its
    ``index.md`` toctrees (a line naming the page, with or without its suffix)."""
    index = source_dir / "index.md"
    text = index.read_text(encoding="utf-8") if index.is_file() else None
    for page in INSTRUCTOR_PAGES:
        (source_dir / page).unlink(missing_ok=True)
        if text is not None:
            stem = Path(page).stem
            text = "".join(line for line in text.splitlines(keepends=True) if line.strip() not in (stem, page))
    if text is not None:
        index.write_text(text, encoding="utf-8")


def stage(paths: Iterable[Path], source_dir: Path, *, docs_dir: Path = DOCS,
          executed_dir: Path | None = None, execute: bool = True, edition: str = "student") -> Path:
    """Fill ``source_dir`` with ``docs_dir`` and the notebooks in ``paths`` (under ``notebooks/``), in
    ``edition`` (see :func:`grounding_kit.course.slides.edition_notebook`). The student edition leaves
    out :data:`INSTRUCTOR_PAGES` (the instructor's guide holds model answers).

    With ``execute`` each notebook is executed (or taken from ``executed_dir`` when current);
    otherwise it is copied as the edition has it. Returns ``source_dir``.
    """
    docs_dir, source_dir = Path(docs_dir), Path(source_dir)
    if not (docs_dir / "conf.py").is_file():
        raise FileNotFoundError(f"no Sphinx configuration at {docs_dir / 'conf.py'}")
    shutil.copytree(docs_dir, source_dir, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("_build", "_vendor", "generated"))
    if edition == "student":
        leave_out_instructor_pages(source_dir)
    target = source_dir / "notebooks"
    shutil.rmtree(target, ignore_errors=True)  # no page left from another edition or notebook set
    target.mkdir()
    for path in paths:
        path = Path(path)
        notebook = (executed_static(path, executed_dir, edition=edition) if execute else
                    edition_notebook(nbformat.read(path, as_version=4), edition, path.name))
        nbformat.write(notebook, target / path.name)
    return source_dir


def write_book(paths: Iterable[Path], output_dir: Path, *, docs_dir: Path = DOCS,
               executed_dir: Path | None = None, execute: bool = True, edition: str = "student") -> Path:
    """Build the website into ``output_dir``; returns its ``index.html``.

    Parameters
    ----------
    paths : notebooks (``.ipynb``) that become the course pages.
    output_dir : the HTML site (its sources are staged in ``output_dir.parent/book-src``).
    docs_dir : Sphinx sources (``conf.py``, ``index.md``, guides).
    executed_dir : executed notebooks to reuse (``make slides`` leaves them in ``build/executed``).
    execute : execute the notebooks (else render them as stored).
    edition : ``"student"`` (default: the student copies) or ``"instructor"`` (the solution
        notebooks, marked by a banner on every page).

    Raises
    ------
    ImportError
        Sphinx or myst-nb is not installed (the message names ``pip install 'grounding_kit[course]'``).
    ValueError
        If ``edition`` is not one of :data:`~grounding_kit.course.slides.EDITIONS`.
    RuntimeError
        If ``sphinx-build`` fails; the message holds the end of its output.
    """
    require("sphinx", "course")
    require("myst_nb", "course")
    output_dir = Path(output_dir)
    check_edition(edition)
    source_dir = stage(paths, output_dir.parent / f"{output_dir.name}-src", docs_dir=docs_dir,
                       executed_dir=executed_dir, execute=execute, edition=edition)
    marks = ([] if edition == "student" else
             ["-D", f"html_theme_options.announcement={INSTRUCTOR_BANNER}",
              "-D", "html_title=grounding_kit, instructor's edition (solutions inside)"])
    # -E: a fresh environment, so that no page of the other edition survives in output_dir
    result = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", *marks,
                             str(source_dir), str(output_dir)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"sphinx-build failed (exit {result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")
    return output_dir / "index.html"
