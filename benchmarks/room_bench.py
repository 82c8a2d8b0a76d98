"""The dashboard under a room: many visitors open ``grounding-kit dashboard --room`` together.

One Voila server as ``--room`` starts it (:class:`grounding_kit.dashboard.server.Room`: seats,
pre-heated pool, culling), then ``--visitors`` Playwright contexts on one headless chromium
(Debian's, every request outside 127.0.0.1 aborted) open the page together, or spread over
``--spread`` seconds. Per visitor, from its arrival:

- *served*: the page's HTML fully received (the browser's own timing of the response: the
  server's part, kernel included; the rest is the browser's);

- *usable*: the first lab's slider and first figure are drawn **and** a slider move (two
  ArrowRight key presses on its handle) changes that figure's data, as the browser test checks;
- *full*: the visitor got the "room is full" page instead (its time to that page).

The server's memory is sampled every second during the run: the summed RSS of the server and
its kernels (psutil), and the kernels alive. Scenarios:

- ``cold``: the visitors arrive as soon as the server answers (the pool is still being heated);
- ``warm``: the server was started ahead and its pool heated (until every pooled kernel has
  built its page and the server's CPU is quiet, as when a lecturer opens the room a few minutes
  before class); the kit's caches are warm in both.
- ``cap``: more visitors than seats: the last ones must get the full page, fast;
- ``before``: the server as it was before the room (one new kernel per visitor, no pool, no cap,
  Voila's defaults), for comparison in the same conditions.

Usage: python benchmarks/room_bench.py [--scenario warm|cold|cap] [--visitors 20] [--seats S]
       [--pool P] [--spread 0] [--json] [--quick]
``--quick``: 3 visitors on a warm room (``make bench``). Measured figures: benchmarks/room_bench.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import psutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from grounding_kit.core.servers import free_port, wait_for_http  # noqa: E402
from grounding_kit.dashboard.server import READY_ENV, Room, voila_command  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAB = "gk-reshuffle-lab"
HANDLE = f".{LAB} .gk-fraction .noUi-handle"
FIRST_PLOT = f"() => {{ const p = document.querySelector('.{LAB} .js-plotly-plot');" \
             " return p && p.data ? JSON.stringify(p.data) : null; }"


class Sampler(threading.Thread):
    """Samples the server's process tree every second: summed RSS (MB), kernels alive, CPU (%)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root, self.samples, self.stopped = psutil.Process(pid), [], threading.Event()
        self.known: dict[int, psutil.Process] = {}  # the same objects each time: cpu_percent needs the previous call

    def tree(self) -> list[psutil.Process]:
        try:
            found = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        return [self.known.setdefault(process.pid, process) for process in found]

    def sample(self) -> dict:
        rss, kernels, cpu = 0, 0, 0.0
        for process in self.tree():
            try:
                rss += process.memory_info().rss
                kernels += "ipykernel_launcher" in " ".join(process.cmdline())
                cpu += process.cpu_percent(None)
            except psutil.NoSuchProcess:
                continue
        return {"t": time.monotonic(), "rss_mb": rss / 2**20, "kernels": kernels, "cpu": cpu}

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            self.samples.append(self.sample())


def wait_until_heated(sampler: Sampler, log: Path, pool: int, timeout: float = 600.0) -> float:
    """Seconds until Voila reports its pool filled, every pooled kernel has built its page (the
    notebook's ready file) and the server's tree has used under 15% CPU for 5 s."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        text = log.read_text(errors="replace")
        filled = pool == 0 or "Kernel pool of" in text
        recent = sampler.samples[-5:]
        if filled and len(recent) == 5 and all(s["cpu"] < 15 for s in recent) and recent[-1]["kernels"] >= pool \
                and all(s["t"] > start + 10 for s in recent):
            return time.monotonic() - start
        time.sleep(1)
    raise TimeoutError(f"the pool was not heated within {timeout:.0f} s")


async def visit(browser, base: str, delay: float, timeout_s: float) -> dict:
    await asyncio.sleep(delay)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})

    async def route(request_route) -> None:
        host = urlparse(request_route.request.url).hostname
        await (request_route.continue_() if host in ("127.0.0.1", "localhost") else request_route.abort())

    await context.route("**/*", route)
    page = await context.new_page()
    start = time.monotonic()
    result: dict = {"arrival_s": delay}
    try:
        response = await page.goto(f"{base}/", timeout=timeout_s * 1000)
        result["status"] = response.status if response else None
        result["html_s"] = time.monotonic() - start  # the page's HTML and scripts loaded
        if response is not None:  # the server's part: its HTML fully received (the browser's own timing)
            result["served_s"] = response.request.timing["responseEnd"] / 1000
        if await page.query_selector(".gk-room-full"):
            result.update(outcome="full", full_s=time.monotonic() - start, text=await page.inner_text("h1"))
            return result
        await page.wait_for_selector(HANDLE, timeout=timeout_s * 1000)
        await page.wait_for_function(FIRST_PLOT, timeout=timeout_s * 1000)
        result["shown_s"] = time.monotonic() - start
        before = await page.evaluate(FIRST_PLOT)
        for attempt in range(4):  # a key press before the page's widgets are connected can be lost
            await page.focus(HANDLE)
            await page.keyboard.press("ArrowRight")
            await page.keyboard.press("ArrowRight")
            try:
                await page.wait_for_function(f"before => ({FIRST_PLOT})() !== before", arg=before,
                                             timeout=15_000 if attempt < 3 else 60_000)
                result.update(outcome="usable", usable_s=time.monotonic() - start)
                return result
            except Exception:  # noqa: BLE001 - a Playwright timeout: press again
                continue
        result.update(outcome="frozen", error="the slider did not change the figure")
    except Exception as err:  # noqa: BLE001 - a visitor that never got a usable lab is a result
        result.update(outcome="failed", error=f"{type(err).__name__}: {str(err).splitlines()[0][:200]}")
    finally:
        result["elapsed_s"] = time.monotonic() - start
        await context.close()
    return result


async def visit_all(base: str, visitors: int, spread: float, timeout_s: float) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            delays = [spread * k / max(visitors - 1, 1) for k in range(visitors)]
            return list(await asyncio.gather(*(visit(browser, base, d, timeout_s) for d in delays)))
        finally:
            await browser.close()


def run(scenario: str, visitors: int, seats: int, pool: int, spread: float = 0.0, timeout_s: float = 240.0,
        log_dir: Path | None = None) -> dict:
    """One scenario; returns its summary and every visitor's record."""
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="room-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), log_dir / f"voila_room_{scenario}.log"
    room = None if scenario == "before" else Room(seats=seats, pool=pool)
    env = {**os.environ, READY_ENV: str(log_dir / "ready")}
    with log.open("w") as out:
        server = subprocess.Popen(voila_command(port, room=room), stdout=out, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
    sampler = Sampler(server.pid)
    sampler.start()
    try:
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        wait_for_http(f"{base}/voila/static/voila.js", server)
        heated_s = wait_until_heated(sampler, log, pool) if scenario in ("warm", "cap") else None
        before = sampler.sample()
        began = time.monotonic()
        records = asyncio.run(visit_all(base, visitors, spread, timeout_s))
        settle = sampler.sample()
    finally:
        sampler.stopped.set()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    during = [s for s in sampler.samples if s["t"] >= began] or [settle]
    usable = [r["usable_s"] for r in records if r.get("outcome") == "usable"]
    served = [r["served_s"] for r in records if r.get("outcome") == "usable" and r.get("served_s", -1) >= 0]
    full = [r["full_s"] for r in records if r.get("outcome") == "full"]
    summary = {
        "scenario": scenario, "visitors": visitors, "seats": seats, "pool": pool, "spread_s": spread,
        "server_up_s": round(began - started, 1), "heated_s": None if heated_s is None else round(heated_s, 1),
        "usable": len(usable), "full": len(full),
        "failed": [r for r in records if r.get("outcome") not in ("usable", "full")],
        "usable_median_s": round(statistics.median(usable), 1) if usable else None,
        "usable_max_s": round(max(usable), 1) if usable else None,
        "served_median_s": round(statistics.median(served), 1) if served else None,
        "served_max_s": round(max(served), 1) if served else None,
        "full_max_s": round(max(full), 2) if full else None,
        "memory_before_mb": round(before["rss_mb"]), "kernels_before": before["kernels"],
        "memory_peak_mb": round(max(s["rss_mb"] for s in during)), "kernels_peak": max(s["kernels"] for s in during),
        "memory_after_mb": round(settle["rss_mb"]), "kernels_after": settle["kernels"],
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "iopub_timeouts": log.read_text(errors="replace").count("Timeout waiting for IOPub output"),
    }
    return {"summary": summary, "visitors": records}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["warm", "cold", "cap", "before"], default="warm")
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--seats", type=int, default=None, help="default: visitors (cap: visitors - 3)")
    parser.add_argument("--pool", type=int, default=None, help="default: seats")
    parser.add_argument("--spread", type=float, default=0.0, help="arrivals spread over this many seconds")
    parser.add_argument("--timeout", type=float, default=240.0, help="a visitor gives up after this many seconds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="3 visitors, warm (make bench)")
    args = parser.parse_args(argv)
    if args.quick:
        args.scenario, args.visitors = "warm", 3
    seats = args.seats or (args.visitors - 3 if args.scenario == "cap" else args.visitors)
    pool = 0 if args.scenario == "before" else seats if args.pool is None else args.pool
    result = run(args.scenario, args.visitors, seats, pool, args.spread, args.timeout)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        s = result["summary"]
        print(json.dumps({k: v for k, v in s.items() if k != "failed"}))
        for record in s["failed"]:
            print("not usable:", record)
        print("per visitor (usable s):", sorted(round(r["usable_s"], 1) for r in result["visitors"] if "usable_s" in r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
