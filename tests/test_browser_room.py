"""`grounding-kit dashboard --room` in a real headless browser, small: 3 seats, all pre-heated.

Three visitors get a usable first lab (its slider moves its figure); the fourth gets the "room is
full" page at once (HTTP 503), with no kernel started for it; when a visitor closes the page, its
seat is freed (Voila shuts its kernel down) and the turned-away visitor gets in. The 20-visitor
room is measured in benchmarks/room_bench.py, not here.
"""

from __future__ import annotations

import os
import time

import pytest

from conftest import ARTIFACTS, Server, block_external, free_port, wait_for_http
from grounding_kit.dashboard.server import READY_ENV, Room, voila_command
from test_browser_dashboard import LABS, act_until_changed

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SEATS = 3
LAB = LABS["Reshuffle lab"]


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """The room's base URL and server, once Voila has started its pre-heated kernels."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GROUNDING_KIT_DASHBOARD_N": "200",
           READY_ENV: str(tmp_path_factory.mktemp("room") / "ready")}
    server = Server(voila_command(port, room=Room(seats=SEATS, pool=SEATS)), ARTIFACTS / "voila_room.log", env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/voila/static/voila.js", server.process)
        deadline = time.monotonic() + 300
        while "Kernel pool of" not in server.log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "Voila did not start its pre-heated kernels within 300 s"
            time.sleep(0.5)
        yield base, server
    finally:
        server.stop()


def kernels_started(server: Server) -> int:
    return server.log.read_text(errors="replace").count("Kernel started:")


def open_visitor(browser, base: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    blocked = block_external(context)
    page = context.new_page()
    response = page.goto(f"{base}/", timeout=300_000)
    return page, response, blocked


def test_three_seats_then_the_room_is_full_then_a_freed_seat(room, browser):
    base, server = room
    visitors = [open_visitor(browser, base) for _ in range(SEATS)]
    assert [response.status for _, response, _ in visitors] == [200] * SEATS
    started = kernels_started(server)
    start = time.monotonic()
    late, response, _ = open_visitor(browser, base)
    turned_away_s = time.monotonic() - start
    assert response.status == 503 and response.headers.get("retry-after") == "60"
    assert late.inner_text("h1") == "The room is full"
    assert f"{SEATS} of {SEATS} seats are taken" in late.inner_text("body")
    assert turned_away_s < 5, f"the full page took {turned_away_s:.1f} s"
    assert kernels_started(server) == started  # no kernel for a visitor past the cap
    for page, _, blocked in visitors:  # every seated visitor's first lab is usable
        page.wait_for_selector(f".{LAB} .gk-fraction .noUi-handle", timeout=240_000)
        handle = page.locator(f".{LAB} .gk-fraction .noUi-handle").first

        def move_slider(page=page, handle=handle) -> None:
            handle.focus()
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")

        act_until_changed(page, move_slider, LAB, 0)
        assert blocked == []
    ARTIFACTS.mkdir(exist_ok=True)
    late.screenshot(path=str(ARTIFACTS / "room_full.png"))
    first = visitors[0][0]
    first.close(run_before_unload=True)  # Voila's page shuts its kernel down as it unloads: the seat is free
    deadline = time.monotonic() + 60
    while True:
        response = late.goto(f"{base}/", timeout=300_000)
        if response.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert response.status == 200, "the seat of the visitor who left was not freed within 60 s"
    late.wait_for_selector(f".{LAB} .js-plotly-plot", timeout=240_000)
    for page, _, _ in visitors:
        page.context.close()
    late.context.close()
