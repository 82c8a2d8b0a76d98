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
    # a block in a function returns the placeholder; a top-level block assigns it to each answer
    assert sources.strip_solutions(code) == ("def f(x):\n    # YOUR CODE HERE\n    return ...\n\n"
                                            "# YOUR CODE HERE: write your answer in place of ...\ny = ...\ncheck(y)")
    assert sources.strip_solutions("### BEGIN SOLUTION\nt = 2\na, b = t, t + 1\n### END SOLUTION",
                                   answers={"b", "z"}) == "# YOUR CODE HERE: write your answer in place of ...\nb = ..."
    assert sources.strip_solutions("def g():\n    ### BEGIN SOLUTION\n    print(1)\n    ### END SOLUTION") == (
        "def g():\n    # YOUR CODE HERE\n    raise NotImplementedError")  # a body that returns nothing
    # a whole function inside the block keeps its signature and docstring, so the check can call it
    assert sources.strip_solutions('### BEGIN SOLUTION\ndef h(P, k=2):\n    """Doc."""\n    return P * k\n'
                                   '### END SOLUTION') == ('# YOUR CODE HERE: write your answer in place of ...\n'
                                                          'def h(P, k=2):\n    """Doc."""\n    return ...')


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
            if sources.BEGIN not in ours.source and sources.HIDDEN_BEGIN not in ours.source:
                assert theirs.source == ours.source
            assert "SOLUTION" not in theirs.source and "HIDDEN" not in theirs.source and not theirs.outputs
            hidden = set(re.findall(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", ours.source, re.S))
            assert not any(block.strip() in theirs.source for block in hidden)
            stubs += theirs.source.count("# YOUR CODE HERE")
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


# ---------------------------------------------------------------- what students see: editions

EDITION_NOTEBOOK = NOTEBOOKS / "03_rebalancing.ipynb"  # solutions, a hidden test (3.1) and a rubric (3.H2)


def answers_of(notebook) -> list[str]:
    """Lines only the instructor may see: solution lines, hidden-test lines, rubric sentences."""
    lines = []
    for cell in notebook.cells:
        role = sources.cell_role(cell)
        if role and role[0] == "exercise":
            block = cell.source.split(sources.BEGIN)[1].split(sources.END)[0]
            lines += [line.strip() for line in block.splitlines() if len(line.strip()) >= 12]
        if role and role[0] == "check" and sources.HIDDEN_BEGIN in cell.source:
            block = cell.source.split(sources.HIDDEN_BEGIN)[1].split(sources.HIDDEN_END)[0]
            lines += [line.strip() for line in block.splitlines() if len(line.strip()) >= 12 and "#" not in line]
        if role and role[0] == "answer":
            lines.append("Rubric for homework")
    return lines


def visible_text(html: str) -> str:
    """The page's text with tags and entities undone, whitespace collapsed (code is split into spans)."""
    import html as html_module

    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", "", html)).split())


def assert_edition(pages: list, edition: str, answers: list[str]) -> None:
    texts = {page.name: visible_text(page.read_text(encoding="utf-8")) for page in pages}
    joined = " ".join(texts.values())
    secrets = [sources.BEGIN, sources.HIDDEN_BEGIN, *(" ".join(line.split()) for line in answers)]
    if edition == "student":
        leaked = [secret for secret in secrets if secret in joined]
        assert not leaked, leaked
        assert gk_slides.INSTRUCTOR_BANNER not in joined
    else:
        missing = [secret for secret in secrets if secret not in joined]
        assert not missing, missing
        unmarked = [name for name, text in texts.items() if gk_slides.INSTRUCTOR_BANNER not in text]
        assert not unmarked, f"pages without the instructor's banner: {unmarked}"


def test_decks_are_for_students_unless_the_instructor_edition_is_asked_for(tmp_path):
    answers = answers_of(nbformat.read(EDITION_NOTEBOOK, as_version=4))
    assert len(answers) >= 8 and "Rubric for homework" in answers
    for edition in ("student", "instructor"):
        kwargs = {} if edition == "student" else {"edition": edition}  # the default is the student's
        [deck] = gk_slides.write_slides(NOTEBOOKS, tmp_path / edition, names=[EDITION_NOTEBOOK.stem],
                                        execute=False, reveal_url_prefix="reveal.js", **kwargs)
        assert_edition([deck], edition, answers)
    student = (tmp_path / "student" / f"{EDITION_NOTEBOOK.stem}.slides.html").read_text()
    assert "blind_balanced = ..." in visible_text(student)  # the exercise as the student copy has it
    with pytest.raises(ValueError, match="edition='teacher'; expected one of"):
        gk_slides.write_slides(NOTEBOOKS, tmp_path / "x", names=[EDITION_NOTEBOOK.stem], execute=False,
                               edition="teacher")


@pytest.mark.slow
def test_book_is_for_students_unless_the_instructor_edition_is_asked_for(tmp_path):
    from grounding_kit.course import book

    docs = tmp_path / "docs"  # the kit's Sphinx configuration, with only the course pages (fast)
    docs.mkdir()
    (docs / "conf.py").write_text((book.DOCS / "conf.py").read_text())
    (docs / "index.md").write_text("# grounding_kit\n\n```{toctree}\n:glob:\n\nnotebooks/*\n```\n")
    answers = answers_of(nbformat.read(EDITION_NOTEBOOK, as_version=4))
    for edition in ("student", "instructor"):
        kwargs = {} if edition == "student" else {"edition": edition}
        index = book.write_book([EDITION_NOTEBOOK], tmp_path / edition, docs_dir=docs, execute=False, **kwargs)
        pages = [index, index.parent / "notebooks" / f"{EDITION_NOTEBOOK.stem}.html"]
        assert all(page.is_file() for page in pages)
        assert_edition(pages, edition, answers)


def test_the_student_book_leaves_out_the_instructors_guide(tmp_path):
    """The real docs/: the guide holds the model answers to the discussion questions."""
    from grounding_kit.course import book

    assert "Model answers" in (book.DOCS / "instructor.md").read_text()
    for edition in ("student", "instructor"):
        staged = book.stage([EDITION_NOTEBOOK], tmp_path / edition, execute=False, edition=edition)
        pages = "".join(p.read_text() for p in staged.rglob("*.md"))
        toctree_lines = {line.strip() for line in (staged / "index.md").read_text().splitlines()}
        if edition == "student":
            assert not (staged / "instructor.md").exists() and "instructor" not in toctree_lines
            assert "Model answers" not in pages
        else:
            assert (staged / "instructor.md").is_file() and "instructor" in toctree_lines
