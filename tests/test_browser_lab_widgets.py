"""The kit's widgets inside JupyterLab, in a real headless browser: notebook 01 runs, and its
retrieval widget renders a plotly figure that answers a typed caption and a picked image."""

from __future__ import annotations

import uuid

import pytest

from conftest import ARTIFACTS, NOTEBOOKS, run_all_cells

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NOTEBOOK = "01_grounding_and_clip.ipynb"
WIDGET = ".jp-OutputArea .gk-retrieval"


def figure_data(page, k: int) -> str:
    """The k-th plotly figure's data inside the retrieval widget, as JSON."""
    return page.evaluate(
        "([sel, k]) => { const p = document.querySelectorAll(sel + ' .js-plotly-plot')[k];"
        " return p ? JSON.stringify(p.data) : null; }", [WIDGET, k])


def wait_for_change(page, k: int, before: str) -> None:
    page.wait_for_function(
        "([sel, k, before]) => { const p = document.querySelectorAll(sel + ' .js-plotly-plot')[k];"
        " return p && JSON.stringify(p.data) !== before; }", arg=[WIDGET, k, before], timeout=60_000)


def test_notebook_01_widgets_render_and_respond_in_jupyterlab(lab_url, page):
    if not (NOTEBOOKS / NOTEBOOK).exists():
        pytest.fail(f"{NOTEBOOK} is missing from notebooks/")
    base, token = lab_url
    # a fresh workspace (`reset`): no tab restored from an earlier session takes the focus
    page.goto(f"{base}/lab/workspaces/gk-widgets-{uuid.uuid4().hex[:8]}/tree/{NOTEBOOK}?token={token}&reset",
              timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    run_all_cells(page)
    try:
        check_retrieval_widget(page)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_01_grounding_and_clip.png"), full_page=True)


def check_retrieval_widget(page) -> None:
    # JupyterLab renders cells lazily as they scroll into view: wait until the widget exists, show it
    widget = page.locator(WIDGET).first
    widget.wait_for(state="attached", timeout=300_000)
    widget.scroll_into_view_if_needed()
    page.locator(f"{WIDGET} .js-plotly-plot").nth(1).wait_for(state="attached", timeout=120_000)
    page.wait_for_function(
        "sel => { const p = document.querySelector(sel + ' .js-plotly-plot');"
        " return p && p.data && p.data[0].x && p.data[0].x.length > 0; }", arg=WIDGET, timeout=60_000)
    # type a caption: the images are ranked again
    images_before = figure_data(page, 0)
    query = page.locator(f"{WIDGET} .gk-query input").first
    query.fill("a large blue square")
    query.press("Enter")
    wait_for_change(page, 0, images_before)
    # pick another image: the captions are ranked again
    captions_before = figure_data(page, 1)
    page.locator(f"{WIDGET} .widget-slider .noUi-handle").first.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    wait_for_change(page, 1, captions_before)
    widget_errors = [e for e in page.console_errors if any(w in e.lower() for w in ("widget", "plotly", "anywidget"))]
    assert widget_errors == [], widget_errors
    widget.screenshot(path=str(ARTIFACTS / "jupyterlab_01_retrieval_widget.png"))
