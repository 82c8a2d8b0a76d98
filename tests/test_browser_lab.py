"""JupyterLab in a real headless browser: the first notebook opens, runs and renders."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from conftest import ARTIFACTS, NOTEBOOKS, free_port, wait_for_http

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def lab_url(tmp_path, start_server):
    """JupyterLab on a free 127.0.0.1 port over a copy of notebooks/ (autosave can't touch the repo)."""
    root = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, root)
    port, token = free_port(), "gk-test-token"
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    server = start_server([jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                           f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
                           "--allow-root", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
                           "jupyterlab.NeverCheckForUpdate"], "jupyterlab.log")
    wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", server.process)
    return f"http://127.0.0.1:{port}", token


def run_all_cells(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def test_start_here_notebook_runs_in_jupyterlab(lab_url, page):
    base, token = lab_url
    page.goto(f"{base}/lab/tree/00_start_here.ipynb?token={token}", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    run_all_cells(page)
    # the doctor's verdict and a live widget appear once the kernel has run the cells
    page.wait_for_selector("text=doctor: all good", timeout=180_000)
    slider = page.locator(".jp-OutputArea .widget-slider").first
    slider.wait_for(timeout=120_000)
    caption = page.locator(".jp-OutputArea .gk-scene-caption").first
    before = caption.inner_text()
    slider.locator(".noUi-handle").first.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "before => { const el = document.querySelector('.jp-OutputArea .gk-scene-caption');"
        " return el && el.innerText !== before; }", arg=before, timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "jupyterlab_00_start_here.png"), full_page=True)
