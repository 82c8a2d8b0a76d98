"""nbgrader's feedback page, as a student opens it from their server, typesets its formulas offline.

A one-exercise course goes through nbgrader's own commands (generate, autograde, generate_feedback)
with the kit's ``nbgrader_config.py``; a Jupyter server with a hub user's base URL serves the page
and headless chromium opens it with the network blocked (only 127.0.0.1 answers).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import NOTEBOOKS, block_external, free_port, wait_for_http
from grounding_kit.course import nbgrader as gk_nbgrader

pytestmark = [pytest.mark.slow, pytest.mark.browser]

BIN = Path(sys.executable).parent


def nbgrader(course: Path, *args: str) -> None:
    import subprocess

    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def one_exercise() -> nbformat.NotebookNode:
    """An assignment with a formula and one autograded check, with nbgrader's cell metadata."""
    def meta(grade_id, **flags):
        return {"nbgrader": {"grade_id": grade_id, "schema_version": gk_nbgrader.NBGRADER_SCHEMA, "locked": True,
                             "solution": False, "grade": False, **flags}}
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("The loss is $$\\mathcal{L} = -\\log p_{ii}$$ and $x^2$ inline.",
                                      metadata=meta("formula")),
        nbformat.v4.new_code_cell("answer = 2\n", metadata=meta("answer", locked=False, solution=True)),
        nbformat.v4.new_code_cell("assert answer == 2", metadata=meta("check", grade=True, points=1)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def test_feedback_page_typesets_formulas_from_the_students_server(tmp_path, browser, start_server):
    course = tmp_path / "course"
    gk_nbgrader.init_course(course, NOTEBOOKS, names=["02_additive_vs_interactive"])  # the kit's configuration
    (course / "source" / "ps1").mkdir(parents=True)
    nbformat.write(one_exercise(), course / "source" / "ps1" / "ps1.ipynb")
    nbgrader(course, "generate_assignment", "ps1")
    (course / "submitted" / "student01" / "ps1").mkdir(parents=True)
    nbformat.write(nbformat.read(course / "release" / "ps1" / "ps1.ipynb", as_version=4),
                   course / "submitted" / "student01" / "ps1" / "ps1.ipynb")
    nbgrader(course, "autograde", "ps1")
    nbgrader(course, "generate_feedback", "ps1")
    page_path = "feedback/student01/ps1/ps1.html"
    assert "cdnjs" not in (course / page_path).read_text()

    port, token, base = free_port(), "gk-feedback-token", "/user/student01/"
    server = start_server([str(BIN / "jupyter"), "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                           f"--ServerApp.token={token}", f"--ServerApp.root_dir={course}",
                           f"--ServerApp.base_url={base}", "--allow-root"], "feedback-server.log")
    wait_for_http(f"http://127.0.0.1:{port}{base}api/status?token={token}", server.process)
    context = browser.new_context()
    try:
        page = context.new_page()
        blocked = block_external(context)
        page.goto(f"http://127.0.0.1:{port}{base}files/{page_path}?token={token}")
        page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                               " && document.querySelectorAll('.MathJax, .MathJax_Display').length >= 2",
                               timeout=60_000)
        assert blocked == []
        text = page.inner_text("body")
        assert "$$" not in text and "\\mathcal" not in text  # typeset, not raw TeX
        scripts = page.eval_on_selector_all("script[src]", "nodes => nodes.map(n => n.src)")
        assert any(src.startswith(f"http://127.0.0.1:{port}{base}static/jupyter_server_mathjax/MathJax.js")
                   for src in scripts), scripts
    finally:
        context.close()
