"""Homework: exercise tags, fallbacks, student copies and a real nbgrader course cycle."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import NOTEBOOKS
from grounding_kit.course import sources, student as gk_student, nbgrader as gk_nbgrader
from grounding_kit.exercises import fallbacks
from grounding_kit.exercises import checks
from grounding_kit.exercises.checks import CheckFailed

HOMEWORK_02 = "02_additive_vs_interactive"
BIN = Path(sys.executable).parent
# the one wrong submission: exercise 2.2 answered with zeros
WRONG = ("ex2_2-answer", "residual = np.zeros_like(match_grid)")


def notebook(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)


def tagged(*cells: tuple[str, str, str]) -> nbformat.NotebookNode:
    """A notebook from (header tags, kind, body) triples, through the real source parser."""
    text = "".join(f"# %% {'[markdown] ' if kind == 'md' else ''}- {tags}\n{body}\n" for tags, kind, body in cells)
    return sources.parse_source(text)


# ---------------------------------------------------------------- the convention

def test_header_tags_go_to_metadata_and_points_are_integers():
    nb = tagged(("exercise=9.1", "code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
                ("check=9.1 points=3", "code", "check(x)"),
                ("answer=9.H1 points=2", "md", "# rubric"))
    assert [c.metadata.get("grounding_kit") for c in nb.cells] == [
        {"exercise": "9.1"}, {"check": "9.1", "points": 3}, {"answer": "9.H1", "points": 2}]
    sources.validate_exercises(nb)
    assert sources.points(nb) == {"9.1": 3, "9.H1": 2}
    for bad in ("points=0", "points=two"):
        with pytest.raises(ValueError, match="positive integer"):
            sources.parse_source(f"# %% - check=9.1 {bad}\nx = 1\n", name="bad.py")


@pytest.mark.parametrize("cells, message", [
    ([("exercise=9.1", "code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION")], "has no check=9.1"),
    ([("exercise=9.1", "code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
      ("check=9.1", "code", "check(x)")], "needs points"),
    ([("exercise=9.1", "code", "x = 1"), ("check=9.1 points=1", "code", "check(x)")], "no '### BEGIN SOLUTION'"),
    ([("exercise=9.1", "code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), ("", "code", "y = 2"),
      ("check=9.1 points=1", "code", "check(x)")], "directly follow"),
    ([("fallback=9.2", "code", "x = 1")], "names no exercise=9.2"),
    ([("answer=9.H1 points=1", "code", "x = 1")], "expected a markdown cell"),
    ([("exercise=9.1 points=1", "code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION")], "points go on the check"),
])
def test_validate_exercises_names_the_broken_cell(cells, message):
    with pytest.raises(ValueError, match=message):
        sources.validate_exercises(tagged(*cells), "nb")


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb")), ids=lambda p: p.stem)
def test_every_course_exercise_is_tagged_with_points(path):
    nb = nbformat.read(path, as_version=4)
    sources.validate_exercises(nb, path.name)
    exercises = [ex for _, role, ex, _ in sources.exercise_cells(nb) if role == "exercise"]
    assert len(exercises) == gk_student.count_exercises(nb)  # every solution block is a tagged exercise
    assert all(sources.points(nb)[ex] >= 1 for ex in exercises)


def test_hidden_tests_are_stripped_and_unbalanced_markers_refused():
    code = "check(x)\n### BEGIN HIDDEN TESTS\ncheck(x, strict=True)\n### END HIDDEN TESTS\nprint(1)"
    assert sources.strip_hidden_tests(code) == "check(x)\nprint(1)"
    with pytest.raises(ValueError, match="never closed"):
        sources.strip_hidden_tests("### BEGIN HIDDEN TESTS\nx")


# ---------------------------------------------------------------- fallbacks

def test_own_or_kit_uses_a_right_answer_silently(capsys):
    f_t, f_v = np.array([1.0, 2.0]), np.array([0.5, -1.0, 3.0])
    own = f_t[:, None] + f_v[None, :]
    assert fallbacks.own_or_kit("2.1", "G", f_t, f_v, namespace={"G": own}) is own
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("namespace, state", [({}, "not done yet"), ({"G": ...}, "not done yet"),
                                              ({"G": np.zeros((2, 3))}, "not right yet")])
def test_own_or_kit_falls_back_to_the_kit_with_one_line(capsys, namespace, state):
    f_t, f_v = np.array([1.0, 2.0]), np.array([0.5, -1.0, 3.0])
    value = fallbacks.own_or_kit("2.1", "G", f_t, f_v, namespace=namespace)
    assert capsys.readouterr().out == f"exercise 2.1: {state}, the kit's G is used from here\n"
    from grounding_kit.exercises.checks import check_additive_grid
    check_additive_grid(value, f_t, f_v)  # the kit's value passes the exercise's own check


QUESTIONS, ANSWERS = ["is it red?", "is it red?", "is it red?", "how many?"], ["yes", "yes", "no", "2"]


@pytest.mark.parametrize("stub", ["raise", "placeholder"])
def test_own_or_kit_treats_an_unfinished_function_as_not_done(capsys, stub):
    def blind_accuracy(questions, answers):
        if stub == "raise":  # nbgrader's release copy
            raise NotImplementedError
        return ...  # the student copy's `return ...`

    fallback = fallbacks.own_or_kit("3.1", "blind_accuracy", QUESTIONS, ANSWERS,
                                   namespace={"blind_accuracy": blind_accuracy})
    assert capsys.readouterr().out == "exercise 3.1: not done yet, the kit's blind_accuracy is used from here\n"
    assert fallback(QUESTIONS, ANSWERS) == pytest.approx(3 / 4)


def test_own_or_kit_does_not_raise_under_nbgrader(capsys, monkeypatch):
    """The check cell scores; the fallback after it only supplies the kit's value."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    f_t, f_v = np.array([1.0, 2.0]), np.array([0.5, -1.0, 3.0])
    fallbacks.own_or_kit("2.1", "G", f_t, f_v, namespace={"G": np.zeros((3, 2))})
    assert "not right yet" in capsys.readouterr().out


def test_own_or_kit_refuses_an_unknown_exercise():
    with pytest.raises(ValueError, match="no kit value for 'Q' of exercise '9.9'"):
        fallbacks.own_or_kit("9.9", "Q", namespace={})


def test_the_kit_references_pass_their_own_checks():
    rng = np.random.default_rng(0)
    P, t, v = rng.normal(size=(5, 5, 3)), rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    inputs = {"1.1": (t, v), "1.3": (t @ v.T,), "1.4": (t @ v.T,), "2.1": (t[:, 0], v[:, 0]),
              "3.1": (QUESTIONS, ANSWERS), "3.3": (QUESTIONS, ANSWERS), "6.1": (t, rng.normal(size=(9, 6)))}
    assert {exercise for exercise, _ in fallbacks.FALLBACKS} == set(inputs)
    for (exercise, name), (check, reference) in fallbacks.FALLBACKS.items():
        check(reference(*inputs[exercise]), *inputs[exercise])


def test_every_kit_fallback_is_used_by_a_fallback_cell():
    used = set()
    for path in sorted(NOTEBOOKS.glob("0*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if sources.cell_role(cell) and sources.cell_role(cell)[0] == "fallback":
                used |= set(re.findall(r'own_or_kit\("([^"]+)", "([^"]+)"', cell.source))
    assert used == set(fallbacks.FALLBACKS)


def test_a_wrong_answer_still_fails_the_check():
    with pytest.raises(CheckFailed):
        fallbacks.FALLBACKS[("2.1", "G")][0](np.zeros((2, 2)), np.ones(2), np.ones(2))


def solution_lines(path: Path) -> list[str]:
    """The lines of code between the solution markers of a notebook, without their whitespace."""
    lines = []
    for cell in nbformat.read(path, as_version=4).cells:
        for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S):
            lines += [re.sub(r"\s+", "", line) for line in block.splitlines()]
    return lines


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb")), ids=lambda p: p.stem)
def test_checks_do_not_hold_the_solutions(path):
    """Neither a solution line nor the right-hand side of a solution's assignment appears in checks.py."""
    text = re.sub(r"\s+", "", (Path(checks.__file__)).read_text())
    for line in solution_lines(path):
        for piece in (line, line.split("=", 1)[-1]):
            assert len(piece) < 12 or piece not in text, piece


def test_majority_answer_accuracy_is_the_in_sample_blind_baseline():
    from grounding_kit.world import majority_answer_accuracy

    questions = ["is it red?", "is it red?", "is it red?", "how many?", "how many?"]
    answers = ["yes", "yes", "no", "2", "3"]
    assert majority_answer_accuracy(questions, answers) == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="got 5 and 4"):
        majority_answer_accuracy(questions, answers[:4])


# ---------------------------------------------------------------- student copies and the nbgrader source

def test_student_copy_replaces_rubrics_and_hidden_tests():
    nb = tagged(("exercise=9.1", "code", "a = 2\n### BEGIN SOLUTION\nhelper = a + 1\nx = helper - 2\n### END SOLUTION"),
                ("check=9.1 points=1", "code", "check(x)\n### BEGIN HIDDEN TESTS\nsecret(x, y)\n### END HIDDEN TESTS"),
                ("answer=9.H1 points=2", "md", "# the rubric: x is one"))
    student = gk_student.student_notebook(nb)
    # only the answer the check reads gets a placeholder (not the helper, nor a name of a hidden test)
    assert [c.source for c in student.cells] == [
        "a = 2\n# YOUR CODE HERE: write your answer in place of ...\nx = ...", "check(x)", sources.ANSWER_STUB]


def test_nbgrader_source_of_notebook_02_has_one_graded_cell_per_exercise():
    nb = gk_nbgrader.nbgrader_notebook(notebook(HOMEWORK_02), HOMEWORK_02)
    graded = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    assert {k: v["points"] for k, v in graded.items()} == {
        "ex2_1-check": 1, "ex2_2-check": 2, "ex2_3-check": 1, "ex2_4-check": 1, "ex2_H1-answer": 2,
        "ex2_H2-answer": 2, "ex2_Q-check": 2}
    assert graded["ex2_H1-answer"]["solution"] and not graded["ex2_1-check"]["solution"]
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if cell.cell_type == "markdown" and not meta["grade"]:
            assert meta["locked"], cell.source[:60]
        if sources.cell_role(cell) and sources.cell_role(cell)[0] == "exercise":
            assert meta["solution"] and not meta["locked"] and not meta["grade"]
    inputs = [c for c in nb.cells if c.id.endswith("-inputs")]  # the exercises' set-up, read-only
    assert len(inputs) == 4 and all(c.metadata.nbgrader["locked"] for c in inputs)
    assert inputs[0].source.startswith("f_t = np.array") and "BEGIN SOLUTION" not in "".join(c.source for c in inputs)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)


def test_init_course_writes_a_course_and_refuses_to_overwrite_it(tmp_path):
    written = gk_nbgrader.init_course(tmp_path / "c", NOTEBOOKS, names=[HOMEWORK_02])
    assert written == {HOMEWORK_02: tmp_path / "c" / "source" / HOMEWORK_02 / f"{HOMEWORK_02}.ipynb"}
    import runpy
    import stat
    from traitlets.config import Config
    from grounding_kit.course import nbgrader_plugins

    config = Config()
    runpy.run_path(str(tmp_path / "c" / "nbgrader_config.py"), init_globals={"get_config": lambda: config})
    course = (tmp_path / "c").resolve()
    assert config.CourseDirectory.root == str(course) and config.Execute.timeout == 600
    assert config.CourseDirectory.db_url == f"sqlite:///{course / 'gradebook.db'}"
    # the exchange is there from the start (Formgrader does not warn that it cannot be created)
    assert config.Exchange.root == str(course / "exchange")
    assert stat.S_IMODE((course / "exchange").stat().st_mode) == 0o1777
    assert config.ExchangeFactory.submit is nbgrader_plugins.WidgetFreeSubmit
    assert nbgrader_plugins.DropWidgetState in config.Autograde.autograde_preprocessors
    assert config.HTMLExporter.extra_template_basedirs == nbgrader_plugins.feedback_template_dirs()
    with pytest.raises(FileExistsError, match="already holds a course"):
        gk_nbgrader.init_course(tmp_path / "c", NOTEBOOKS, names=[HOMEWORK_02])
    gk_nbgrader.init_course(tmp_path / "c", NOTEBOOKS, names=[HOMEWORK_02], force=True)
    with pytest.raises(FileNotFoundError, match="no_such"):
        gk_nbgrader.init_course(tmp_path / "d", NOTEBOOKS, names=["no_such"])


def test_grounding_kit_course_init(tmp_path, capsys):
    from grounding_kit import cli

    assert cli.main(["course", "init", str(tmp_path / "c"), "--only", HOMEWORK_02]) == 0
    assert f"assignment {HOMEWORK_02}:" in capsys.readouterr().out
    assert cli.main(["course", "init", str(tmp_path / "c"), "--only", HOMEWORK_02]) == 2
    assert "already holds a course" in capsys.readouterr().err


def test_course_init_command_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "grounding_kit.course", "nbgrader", str(tmp_path / "c"),
                             "--only", HOMEWORK_02], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c" / "source" / HOMEWORK_02 / f"{HOMEWORK_02}.ipynb").exists()
    assert "nbgrader generate_assignment" in result.stdout


# ---------------------------------------------------------------- the nbgrader cycle

def nbgrader(course_dir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", HF_HUB_OFFLINE="1")
    result = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course_dir, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A temporary course of every notebook with exercises; notebook 02 generated (release copy made)."""
    root = tmp_path_factory.mktemp("course")
    gk_nbgrader.init_course(root, NOTEBOOKS)
    nbgrader(root, "generate_assignment", HOMEWORK_02)
    return root


def release_copy(root: Path, stem: str = HOMEWORK_02) -> nbformat.NotebookNode:
    return nbformat.read(root / "release" / stem / f"{stem}.ipynb", as_version=4)


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb")), ids=lambda p: p.stem)
def test_release_copy_holds_no_graded_answer(released, path):
    if not (released / "release" / path.stem).exists():
        nbgrader(released, "generate_assignment", path.stem)
    source = gk_nbgrader.nbgrader_notebook(notebook(path.stem))
    text = nbformat.writes(release_copy(released, path.stem))
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    hidden = 0
    for cell in source.cells:
        role = sources.cell_role(cell)
        if role and role[0] in ("exercise", "answer"):  # no line of a solution or a rubric survives
            answer = cell.source.split("### BEGIN SOLUTION")[-1].split("### END SOLUTION")[0].strip()
            for line in answer.splitlines():
                assert len(line.strip()) < 8 or line.strip() not in text, line
        if role and role[0] == "check" and sources.HIDDEN_BEGIN in cell.source:
            hidden += 1
            for line in cell.source.split(sources.HIDDEN_BEGIN)[1].split(sources.HIDDEN_END)[0].splitlines():
                assert len(line.strip()) < 8 or line.strip() not in text, line
    roles = [role for _, role, _, _ in sources.exercise_cells(source)]
    # each exercise as the kit's student copy has it: placeholders that Run All goes through
    assert text.count("# YOUR CODE HERE") == roles.count("exercise") and "raise NotImplementedError" not in text
    student = {c.metadata["nbgrader"]["grade_id"]: c.source for c in gk_student.student_notebook(source).cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release_copy(released, path.stem).cells
             if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    assert stubs == student
    assert text.count(sources.ANSWER_STUB) == roles.count("answer")
    assert hidden == {"03": 1, "04": 1}.get(path.stem[:2], 0)  # 3.1, 4.1: also graded on unseen data


def submission(root: Path, wrong: tuple[str, str] | None = None) -> nbformat.NotebookNode:
    """The release copy with the instructor's solutions filled in (one of them replaced by ``wrong``)."""
    source = nbformat.read(root / "source" / HOMEWORK_02 / f"{HOMEWORK_02}.ipynb", as_version=4)
    return gk_nbgrader.filled_submission(release_copy(root), source, dict([wrong]) if wrong else None)


def test_filled_submission_puts_solutions_back_and_refuses_unknown_ids():
    source = gk_nbgrader.nbgrader_notebook(notebook(HOMEWORK_02))
    release = gk_student.student_notebook(source)  # the same cells as nbgrader's release copy
    filled = gk_nbgrader.filled_submission(release, source, {WRONG[0]: WRONG[1]})
    by_id = {c.metadata["nbgrader"]["grade_id"]: c.source for c in filled.cells if "nbgrader" in c.metadata}
    assert by_id["ex2_1-answer"] == next(c.source for c in source.cells
                                         if c.metadata.get("nbgrader", {}).get("grade_id") == "ex2_1-answer")
    assert by_id[WRONG[0]] == WRONG[1]
    with pytest.raises(ValueError, match="not solution cells"):
        gk_nbgrader.filled_submission(release, source, {"ex9_9-answer": "x = 1"})


def widget_notebook() -> nbformat.NotebookNode:
    """A notebook with a widget's output and its saved state, as JupyterLab or nbclient save it."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("slider", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/plain": "IntSlider(value=1)",
                              "application/vnd.jupyter.widget-view+json": {"model_id": "m1", "version_major": 2,
                                                                            "version_minor": 0}})])])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"m1": {"model_name": "IntSliderModel", "state": {"value": 1, "big": "x" * 100_000}}},
        "version_major": 2, "version_minor": 0}}
    return nb


def test_submissions_and_autograded_copies_keep_no_widget_state(tmp_path):
    from nbgrader.auth import Authenticator
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import Execute
    from grounding_kit.course import nbgrader_plugins

    # what a student submits: the exchange's copy has no widget state, the student's notebook keeps it
    (tmp_path / "mine").mkdir()
    original = widget_notebook()
    nbformat.write(original, tmp_path / "mine" / "hw.ipynb")
    (tmp_path / "mine" / "data.txt").write_text("not a notebook")
    submit = nbgrader_plugins.WidgetFreeSubmit(coursedir=CourseDirectory(), authenticator=Authenticator())
    submit.do_copy(str(tmp_path / "mine"), str(tmp_path / "inbound"))
    sent = nbformat.read(tmp_path / "inbound" / "hw.ipynb", as_version=4)
    assert "widgets" not in sent.metadata and sent.cells == original.cells
    assert (tmp_path / "inbound" / "data.txt").read_text() == "not a notebook"
    assert "widgets" in nbformat.read(tmp_path / "mine" / "hw.ipynb", as_version=4).metadata
    # the autograder drops it right after executing (the submission's and what executing made)
    steps = nbgrader_plugins.autograde_preprocessors()
    assert steps[steps.index(Execute) + 1] is nbgrader_plugins.DropWidgetState
    assert [s for s in steps if s is not nbgrader_plugins.DropWidgetState] == \
        Autograde.class_traits()["autograde_preprocessors"].default()
    graded, _ = nbgrader_plugins.DropWidgetState().preprocess(nbformat.from_dict(original), {})
    assert "widgets" not in graded.metadata and graded.cells == original.cells
    assert nbgrader_plugins.drop_widget_state(graded) == 0


@pytest.mark.slow
def test_full_nbgrader_cycle_on_notebook_02(released):
    root = released
    full = sum(sources.points(notebook(HOMEWORK_02)).values())
    submissions = {"solutions": submission(root), "one_wrong": submission(root, WRONG),
                   "untouched": release_copy(root)}
    for student, nb in submissions.items():
        target = root / "submitted" / student / HOMEWORK_02 / f"{HOMEWORK_02}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)

    start = time.perf_counter()
    nbgrader(root, "autograde", HOMEWORK_02)
    print(f"\nnbgrader autograde, 3 submissions of {HOMEWORK_02}: {time.perf_counter() - start:.1f} s")

    # the manually graded answers, as a grader would score them in formgrader
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in ("solutions", "one_wrong"):
            for grade_id in ("ex2_H1-answer", "ex2_H2-answer"):
                grade = gb.find_grade(grade_id, HOMEWORK_02, HOMEWORK_02, student)
                grade.manual_score = grade.max_score
        gb.db.commit()

    nbgrader(root, "generate_feedback", HOMEWORK_02)
    nbgrader(root, "export", "--to", str(root / "grades.csv"))
    with open(root / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle) if row["assignment"] == HOMEWORK_02}
    expected = {"solutions": full, "one_wrong": full - 2, "untouched": 0}
    assert {s: float(rows[s]["score"]) for s in expected} == expected
    assert all(float(rows[s]["max_score"]) == full for s in expected)
    for student in expected:
        feedback = root / "feedback" / student / HOMEWORK_02 / f"{HOMEWORK_02}.html"
        assert feedback.exists() and "<html" in feedback.read_text()[:2000].lower(), feedback
        # MathJax from the Jupyter server that serves the page (jupyter-server-mathjax's files), no CDN
        html = feedback.read_text()
        assert not re.search(r"https?://[^\"' ]*mathjax", html, re.IGNORECASE) and "cdnjs" not in html
        served = re.findall(r'"static/jupyter_server_mathjax/([^"?]+)\?config=([^"]+)"', html)
        assert served == [("MathJax.js", "TeX-AMS-MML_HTMLorMML-full,Safe")], served
        import jupyter_server_mathjax
        static = Path(jupyter_server_mathjax.__file__).parent / "static"
        assert (static / "MathJax.js").is_file() and (static / "config" / f"{served[0][1].split(',')[0]}.js").is_file()
    # the autograded copies keep no widget state (notebook 02's figures: 10.2 MB of the 10.3 MB a copy)
    for student in expected:
        path = root / "autograded" / student / HOMEWORK_02 / f"{HOMEWORK_02}.ipynb"
        assert "widgets" not in nbformat.read(path, as_version=4).metadata
        assert path.stat().st_size < 1_000_000, path.stat().st_size

    # the untouched copy (placeholders `G = ...`): it runs; each check fails for the autograder with
    # its one-line verdict in place of a traceback (`CheckFailed._render_traceback_`); the fallbacks said so
    graded = nbformat.read(root / "autograded" / "untouched" / HOMEWORK_02 / f"{HOMEWORK_02}.ipynb", as_version=4)
    for cell in graded.cells:
        role = sources.cell_role(cell)
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if role and role[0] == "check":
            assert len(errors) == 1 and errors[0].ename == "NotDone", (role, errors)
            assert len(errors[0].traceback) == 1 and errors[0].traceback[0].startswith("○ Exercise"), errors
        else:
            assert not errors, (role, errors)
    text = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    assert "exercise 2.1: not done yet, the kit's G is used from here" in text


STUDENT_NOTEBOOKS = sorted(NOTEBOOKS.glob("0[0-9]_*.ipynb"))


def run_all(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Execute ``nb`` as JupyterLab's *Run All* does: cell after cell, stopping at the first error
    (nbclient, ``allow_errors=False``). Fails the test, naming the cell, if a cell raised."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    except CellExecutionError as error:
        pytest.fail(f"Run All stopped: {str(error)[-1500:]}")
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert last.execution_count is not None, "the last cell never ran"
    return nb


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


@pytest.mark.slow
@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=lambda p: p.stem)
def test_run_all_goes_through_a_student_copy_with_every_exercise_unanswered(path, tmp_path):
    copies = gk_student.write_student_copies(path.parent, tmp_path)  # where `make student-lab` puts them
    nb = run_all(nbformat.read(tmp_path / path.name, as_version=4), tmp_path)
    assert len(copies) == len(STUDENT_NOTEBOOKS)
    for index, cell in enumerate(nb.cells):
        role = sources.cell_role(cell)
        if role and role[0] == "check":  # one "not done yet" line per check, and no traceback
            lines = printed(cell).splitlines()
            assert lines and all(line.startswith("○ Exercise") and "not done yet" in line for line in lines), (index, lines)
        if role and role[0] == "fallback":
            assert printed(cell).startswith(f"exercise {role[1]}: not done yet, the kit's "), (index, printed(cell))


@pytest.mark.slow
@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=lambda p: p.stem)
def test_run_all_goes_through_a_student_copy_with_every_exercise_wrong(path):
    """Every placeholder answered with -1 (a value, a function result, a choice or a dict: wrong
    everywhere): each check prints one ✘ line, each fallback takes the kit's value, nothing stops."""
    nb = gk_student.student_notebook(nbformat.read(path, as_version=4), path.stem)
    for cell in nb.cells:
        role = sources.cell_role(cell)
        if role and role[0] == "exercise":
            cell.source = re.sub(r"(=|return) \.\.\.$", r"\1 -1", cell.source, flags=re.MULTILINE)
    run_all(nb, NOTEBOOKS)
    for index, cell in enumerate(nb.cells):
        role = sources.cell_role(cell)
        if role and role[0] == "check":
            lines = printed(cell).splitlines()
            assert lines and all(line.startswith("✘ Exercise") and "not quite" in line for line in lines), (index, lines)
        if role and role[0] == "fallback":
            assert printed(cell).startswith(f"exercise {role[1]}: not right yet, the kit's "), (index, printed(cell))


# the student copy of notebook 01 with one exercise left, two typical mistakes and one right answer
MISTAKES_01 = {
    "1.1": "S = text_emb @ image_emb",  # a forgotten transpose: N = D = 64, so the shape is right
    "1.3": "zero_shot = S_zs.argmax(axis=0)",  # right
    "1.4": "predicted_recall = 0.5\nS_add = S_np.mean(axis=1) + S_np.mean(axis=0) - S_np.mean()",  # no keepdims
}


@pytest.mark.slow
def test_run_all_goes_through_typical_mistakes_with_one_line_verdicts(tmp_path):
    stem = "01_grounding_and_clip"
    nb = gk_student.student_notebook(notebook(stem), stem)
    for cell in nb.cells:
        role = sources.cell_role(cell)
        if role and role[0] == "exercise" and role[1] in MISTAKES_01:
            head, _, _ = cell.source.partition("# YOUR CODE HERE")
            cell.source = head + MISTAKES_01[role[1]]
    run_all(nb, NOTEBOOKS)
    said = {(role[0], role[1]): printed(cell) for cell in nb.cells if (role := sources.cell_role(cell))}
    assert said[("check", "1.1")].startswith("✘ Exercise 1.1 (similarity matrix): not quite. `S` has the "
                                             "expected shape (64, 64) but other values. Hint: `text_emb @ image_emb`")
    assert said[("fallback", "1.1")] == "exercise 1.1: not right yet, the kit's S is used from here\n"
    assert said[("check", "1.2")].startswith("○ Exercise 1.2 (retrieval accuracy): not done yet.")
    assert said[("check", "1.3")].startswith("✔ Exercise 1.3 (zero-shot classification): correct.")
    assert "exercise 1.3" not in said[("fallback", "1.3")]  # a right answer is kept, silently
    first, second = said[("check", "1.4")].splitlines()
    assert first.startswith("✘ Exercise 1.4 (the additive part of S): not quite.") and "keepdims=True" in first
    assert second.startswith("✘ Exercise 1.4 (predict: retrieval without the interaction): not quite.")
    for (role, exercise), text in said.items():
        if role == "check":
            print(text, end="")
        assert "Traceback" not in text


def test_student_copies_can_open_on_colab(tmp_path):
    copies = gk_student.write_student_copies(NOTEBOOKS, tmp_path, colab="my-org/course/blob/main/student")
    for path in copies:
        first = nbformat.read(path, as_version=4).cells[0]
        assert first.cell_type == "markdown"
        assert (f"(https://colab.research.google.com/github/my-org/course/blob/main/student/{path.name})"
                in first.source)
    plain = gk_student.write_student_copies(NOTEBOOKS, tmp_path / "plain")
    assert all("colab.research" not in nbformat.read(p, as_version=4).cells[0].source for p in plain)
    with pytest.raises(ValueError, match="OWNER/REPO/blob/BRANCH"):
        gk_student.write_student_copies(NOTEBOOKS, tmp_path / "bad", colab="my-org/course")
    assert not (tmp_path / "bad").exists()  # refused before anything is written
    result = subprocess.run([sys.executable, "-m", "grounding_kit.course", "student", "--output",
                             str(tmp_path / "cli"), "--colab", "nope"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("error: --colab: colab must read")
