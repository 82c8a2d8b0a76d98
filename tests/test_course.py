"""The course workflow: notebooks built from their sources, student copies, slide decks."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import NOTEBOOKS
from grounding_kit.course import sources, student as gk_student, slides as gk_slides

COURSE = sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb"))
SOURCES = NOTEBOOKS / "source"


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_committed_notebooks_equal_the_builder_output():
    stale = sources.build(SOURCES, NOTEBOOKS, check=True)
    assert not stale, f"rebuild with `python -m grounding_kit.course build`: {stale}"
    assert {p.stem for p in SOURCES.glob("0*.py")} == {p.stem for p in NOTEBOOKS.glob("0*.ipynb")}
    # RISE opens every notebook in a theme that requests no web fonts (offline lecture halls)
    assert all(nbformat.read(p, as_version=4).metadata["rise"]["theme"] == "white"
               for p in NOTEBOOKS.glob("0*.ipynb"))


@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_each_notebook_is_a_lecture_unit_with_exercises(path):
    notebook = nbformat.read(path, as_version=4)
    assert all("slide_type" in cell.metadata.get("slideshow", {}) for cell in notebook.cells)
    assert notebook.cells[0].metadata.slideshow.slide_type == "slide"
    assert sum(cell.metadata.slideshow.slide_type == "slide" for cell in notebook.cells) >= 5
    assert any(re.search(r"^MODEL = \"tiny-", cell.source, re.M) for cell in code_cells(notebook))
    assert 2 <= gk_student.count_exercises(notebook) <= 8  # concept exercises and the questionnaire (issue 23)
    for cell in code_cells(notebook):  # every exercise is followed by a check in its cell
        if sources.BEGIN in cell.source:
            after = cell.source.split(sources.END)[-1]
            next_cells = code_cells(notebook)[code_cells(notebook).index(cell) + 1:][:1]
            assert "check_" in after or any("check_" in c.source for c in next_cells), cell.source


def test_parse_source_reads_cells_slides_and_markdown():
    notebook = sources.parse_source("# header ignored\n# %% [markdown] slide\n# # Title\n#\n# text\n\n"
                                   "# %%\nx = 1\n\n\n# %% fragment\nprint(x)\n")
    assert [c.cell_type for c in notebook.cells] == ["markdown", "code", "code"]
    assert notebook.cells[0].source == "# Title\n\ntext"
    assert [c.metadata.slideshow.slide_type for c in notebook.cells] == ["slide", "-", "fragment"]
    assert notebook.cells[1].source == "x = 1"
    nbformat.validate(notebook)


@pytest.mark.parametrize("text, message", [
    ("# %% [markdown] slidez\n# hi\n", "unknown slide type 'slidez'"),
    ("# %% [markdown]\nnot a comment\n", "must start with '#'"),
    ("x = 1\n", "holds no cell"),
])
def test_parse_source_rejects_bad_sources(text, message):
    with pytest.raises(ValueError, match=message):
        sources.parse_source(text, name="bad.py")


def test_strip_solutions_keeps_indentation_and_the_rest():
    code = ("def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n\n"
            "### BEGIN SOLUTION\ny = f(1)\n### END SOLUTION\ncheck(y)")
    assert sources.strip_solutions(code) == ("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError\n\n"
                                            "# YOUR CODE HERE\nraise NotImplementedError\ncheck(y)")


@pytest.mark.parametrize("code, message", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "without a"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside another"),
])
def test_strip_solutions_rejects_unbalanced_markers(code, message):
    with pytest.raises(ValueError, match=message):
        sources.strip_solutions(code, where="nb cell 3")


def test_student_copies_are_generated_from_the_current_solutions(tmp_path):
    result = subprocess.run([sys.executable, "-m", "grounding_kit.course", "student", "--output",
                             str(tmp_path / "cli")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = gk_student.write_student_copies(NOTEBOOKS, tmp_path / "api")
    assert sorted(p.name for p in written) == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    for target, exercises in written.items():
        solution = nbformat.read(NOTEBOOKS / target.name, as_version=4)
        student = nbformat.read(target, as_version=4)
        assert (tmp_path / "cli" / target.name).read_text() == target.read_text()
        assert f"{target.name} ({exercises} exercises)" in result.stdout
        assert len(student.cells) == len(solution.cells)
        stubs = 0
        for ours, theirs in zip(code_cells(solution), code_cells(student)):
            assert theirs.source == sources.strip_solutions(sources.strip_hidden_tests(ours.source))
            assert "SOLUTION" not in theirs.source and not theirs.outputs
            hidden = set(re.findall(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", ours.source, re.S))
            assert not any(block.strip() in theirs.source for block in hidden)
            stubs += theirs.source.count("raise NotImplementedError")
            ast.parse("\n".join(line for line in theirs.source.splitlines() if not line.lstrip().startswith("!")))
        assert stubs == exercises


def test_slides_export_one_notebook(tmp_path):
    written = gk_slides.write_slides(NOTEBOOKS, tmp_path, names=["01_grounding_and_clip"],
                                  reveal_url_prefix="reveal.js", execute=False)
    html = written[0].read_text()
    assert written[0].name == "01_grounding_and_clip.slides.html"
    assert "Reveal.initialize" in html and '"reveal.js/dist/reveal.js"' in html
    notebook = nbformat.read(NOTEBOOKS / "01_grounding_and_clip.ipynb", as_version=4)
    slides = sum(c.metadata.slideshow.slide_type == "slide" for c in notebook.cells)
    assert html.count("<section") >= slides


def test_slides_refuses_an_unknown_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such"):
        gk_slides.write_slides(NOTEBOOKS, tmp_path, names=["no_such"], execute=False)
