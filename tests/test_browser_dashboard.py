"""The live-demo dashboard in a real headless browser: one Voila server, one page, every tab.

Offline for real: the page may fetch nothing outside 127.0.0.1 (requests elsewhere are aborted,
listed and fail the test; the kit's Voila template drops the CDN font-awesome links). The time from the first request to a usable page (first lab built and
drawn) is measured and saved in test-artifacts/dashboard_timing.json (reported, not asserted).
"""

from __future__ import annotations

import json
import os
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from conftest import ARTIFACTS, Server, block_external, free_port, wait_for_http
from grounding_kit.dashboard.server import READY_ENV, voila_command

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LABS = {  # tab title -> CSS class of its lab
    "Reshuffle lab": "gk-reshuffle-lab",
    "EMAP lab": "gk-emap-lab",
    "Rebalancing lab": "gk-rebalancing-lab",
    "Grounding explorer": "gk-explorer",
}
PAGE_N = "200"  # evaluation pairs per lab for the test page


def plot_data(page, lab: str, k: int = 0):
    """The plotly data (list of traces) of the k-th figure inside the lab ``lab``, read from the page."""
    return page.evaluate(
        "([lab, k]) => { const plots = document.querySelectorAll('.' + lab + ' .js-plotly-plot');"
        " return plots.length > k ? JSON.parse(JSON.stringify(plots[k].data)) : null; }", [lab, k])


def wait_for_change(page, lab: str, k: int, before, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "([lab, k, before]) => { const plots = document.querySelectorAll('.' + lab + ' .js-plotly-plot');"
        " return plots.length > k && JSON.stringify(plots[k].data) !== before; }",
        arg=[lab, k, json.dumps(before, separators=(",", ":"))], timeout=timeout)


def act_until_changed(page, act, lab: str, k: int, tries: int = 4) -> None:
    """Do ``act()`` until the lab's k-th figure changes: an interaction made while Voila is still
    connecting the page to its kernel can be lost, as it would be for a person clicking that early."""
    before = plot_data(page, lab, k)
    for attempt in range(tries):
        act()
        try:
            wait_for_change(page, lab, k, before, timeout=15_000 if attempt < tries - 1 else 60_000)
            return
        except PlaywrightTimeout:
            continue
    page.screenshot(path=str(ARTIFACTS / f"dashboard_{lab}_unchanged.png"), full_page=True)
    status = page.locator(f".{lab} .gk-status").first.inner_text()
    counts = page.evaluate("lab => [document.querySelectorAll('.' + lab).length,"
                           " document.querySelectorAll('.' + lab + ' .js-plotly-plot').length]", lab)
    raise AssertionError(f"the figure {k} of .{lab} did not change after {tries} tries; lab status: {status!r}; "
                         f"(labs, plots) in the page: {counts}")


@pytest.fixture(scope="module")
def dashboard(browser, tmp_path_factory):
    """(page, records): the dashboard page loaded once; records hold timing, console errors, blocked URLs."""
    port = free_port()
    ready = tmp_path_factory.mktemp("dashboard") / "ready"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GROUNDING_KIT_DASHBOARD_N": PAGE_N, READY_ENV: str(ready)}
    server = Server(voila_command(port), ARTIFACTS / "voila_dashboard.log", env=env)  # as `grounding-kit dashboard`
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/voila/static/voila.js", server.process)  # a static file: starts no kernel
        page = context.new_page()
        records = {"console_errors": [], "blocked": block_external(context)}
        page.on("console", lambda msg: msg.type == "error" and records["console_errors"].append(
            {"text": msg.text, "url": (msg.location or {}).get("url", "")}))
        start = time.monotonic()
        page.goto(f"{base}/", timeout=300_000)
        # the first lab's figure, or a failed cell (then fail now, with the server log's tail)
        page.wait_for_function(
            "() => document.querySelector('.gk-reshuffle-lab .js-plotly-plot') ||"
            " /Traceback|There was an error when executing/.test(document.body.innerText)", timeout=300_000)
        if page.query_selector(".gk-reshuffle-lab .js-plotly-plot") is None:
            pytest.fail("the dashboard notebook failed:\n" + page.inner_text("body")[-3000:])
        page.wait_for_selector(".gk-reshuffle-lab .gk-fraction .noUi-handle", timeout=60_000)
        records["usable_s"] = round(time.monotonic() - start, 1)
        built = ready.read_text() if ready.exists() else "no ready signal"  # written by the notebook
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "dashboard_timing.json").write_text(json.dumps(
            {"first_request_to_usable_s": records["usable_s"], "kernel": built, "page_n": int(PAGE_N)}, indent=2))
        print(f"dashboard: page usable {records['usable_s']} s after the first request ({built} in the kernel)")
        yield page, records
    finally:
        context.close()
        server.stop()


def test_reshuffle_lab_renders_and_responds(dashboard):
    page, _ = dashboard
    lab = LABS["Reshuffle lab"]
    accuracy_before = plot_data(page, lab, 0)
    assert accuracy_before and len(accuracy_before[0]["y"]) >= 5
    handle = page.locator(f".{lab} .gk-fraction .noUi-handle").first

    def move_slider() -> None:
        handle.focus()
        for _ in range(2):
            page.keyboard.press("ArrowRight")

    act_until_changed(page, move_slider, lab, 0)
    running_before = plot_data(page, lab, 1)
    act_until_changed(page, page.locator(f".{lab} .gk-reshuffle").first.click, lab, 1)
    running_after = plot_data(page, lab, 1)
    assert len(running_after[2]["x"]) > len(running_before[2]["x"])  # new points on the gap curve
    page.screenshot(path=str(ARTIFACTS / "dashboard_reshuffle_lab.png"), full_page=True)


@pytest.mark.parametrize("title", ["EMAP lab", "Rebalancing lab", "Grounding explorer"])
def test_every_tab_renders_its_figure(dashboard, title):
    page, _ = dashboard
    lab = LABS[title]
    page.locator(".lm-TabBar-tab", has_text=title).first.click()
    page.wait_for_function(  # its figure, or the error the dashboard shows in a tab that failed to build
        "lab => document.querySelector('.' + lab + ' .js-plotly-plot') ||"
        " Array.from(document.querySelectorAll('.gk-error')).some(e => e.offsetParent !== null)",
        arg=lab, timeout=240_000)
    failed = [e.inner_text() for e in page.query_selector_all(".gk-error") if e.is_visible()]
    assert not failed, failed
    page.wait_for_function(
        "lab => { const p = document.querySelector('.' + lab + ' .js-plotly-plot');"
        " return p && p.data && p.data.length > 0; }", arg=lab, timeout=60_000)
    if title == "EMAP lab":  # a slider recomputes the decomposition heatmaps
        handle = page.locator(f".{lab} .gk-n .noUi-handle").first

        def smaller_n() -> None:
            handle.focus()
            page.keyboard.press("ArrowLeft")  # the N slider starts at its maximum

        act_until_changed(page, smaller_n, lab, 0)
    page.screenshot(path=str(ARTIFACTS / f"dashboard_{lab}.png"), full_page=True)


def test_page_is_offline_and_has_no_console_errors_from_the_kit(dashboard):
    _, records = dashboard
    assert records["blocked"] == []
    assert records["console_errors"] == []
