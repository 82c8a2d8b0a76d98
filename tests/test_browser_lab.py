"""JupyterLab in a real headless browser: the first notebook opens, runs and renders."""

from __future__ import annotations

import pytest

from conftest import ARTIFACTS, run_all_cells

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_start_here_notebook_runs_in_jupyterlab(lab_url, page):
    base, token = lab_url
    page.goto(f"{base}/lab/tree/00_start_here.ipynb?token={token}", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    run_all_cells(page)
    try:  # the doctor's verdict and a live widget appear once the kernel has run the cells
        page.wait_for_selector("text=doctor: all good", timeout=180_000)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_00_doctor.png"), full_page=True)
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
