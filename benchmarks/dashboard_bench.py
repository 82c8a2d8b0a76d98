"""Server time of every dashboard callback, against rebuilding the lab from scratch.

Each lab is built once (the cost a naive widget would pay on every slider tick: recompute and
rebuild its figures), then each callback (what a slider tick or button click runs) is called
directly, several times, with features, heads and grids cached. Widgets are not displayed;
ipywidgets still serializes every state change, so the times include the messages' payloads
but not the socket. The issue's budget: <= 100 ms per callback at N = 1,000.

With ``--page`` it times the page itself instead: a fresh Voila server per visit, Debian chromium
through Playwright, from the first request to the first lab's slider being usable, with an empty
kit cache (cold), then with the cache that visit filled (warm), against a one-slider Voila page
(server, kernel and widget start-up alone) measured in the same run. Measured figures, before and
after the first lab read cached grids (``grounding_kit.experiments.grid_cache``): ``benchmarks/dashboard_bench.md``
(warm 24.2 s -> 11.0 s, 5.1x -> 2.8x the one-slider page; cold 27 -> 28 s; load average about 5).

Usage: python benchmarks/dashboard_bench.py [--n 1000] [--repeats 7] [--quick] [--json] [--page [--visits 3]]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BUDGET_MS = 100.0


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - start)


def measure(rows: list[dict], lab: str, build_ms: float, name: str, fn: Callable[[], Any], repeats: int) -> None:
    times = [timed(fn) for _ in range(repeats)]
    rows.append({"lab": lab, "callback": name, "median_ms": statistics.median(times), "max_ms": max(times),
                 "rebuild_ms": build_ms, "speedup": build_ms / max(statistics.median(times), 1e-6),
                 "within_budget": statistics.median(times) <= BUDGET_MS})


def run(n: int, repeats: int) -> tuple[list[dict], dict]:
    import torch

    torch.set_num_threads(2)
    import grounding_kit as gk
    from grounding_kit import widgets as gkw
    from grounding_kit.experiments.protocol import task_experiment

    setup: dict[str, float] = {}
    start = time.perf_counter()
    clip = gk.load_clip()
    sc = task_experiment(clip, "mixed", n, seed=0, interaction=0.5)
    heads = {kind: sc.head(kind) for kind in ("interactive", "additive")}
    setup["data, features and heads (s)"] = time.perf_counter() - start
    rows: list[dict] = []
    cycle = iter(range(10**9))

    build = timed(lambda: setattr(run, "lab", gkw.reshuffle_lab(
        heads["interactive"], sc.feats_eval, sc.labels_eval, additive=heads["additive"],
        images=sc.eval_ds["image"], texts=sc.eval_ds["text"], seed=0)))
    lab = run.lab
    measure(rows, "reshuffle", build, "fraction slider", lambda: lab.set_fraction((next(cycle) % 20 + 1) / 20), repeats)
    measure(rows, "reshuffle", build, "reshuffle button", lab.reshuffle, repeats)
    measure(rows, "reshuffle", build, "+10 reshuffles", lambda: lab.reshuffle(10), repeats)
    measure(rows, "reshuffle", build, "reset average", lab.reset, repeats)

    build = timed(lambda: setattr(run, "lab", gkw.emap_lab(clip, n=n, seed=0, task="mixed",
                                                            levels=(0.25, 0.5, 0.75))))
    lab = run.lab
    lab.configure(kind="additive")  # fit and grid once: the first visit of a model is not a tick
    lab.configure(kind="interactive")
    sizes = [n // 2, n]
    measure(rows, "emap", build, f"N slider (exact, N<={n})", lambda: lab.configure(n=sizes[next(cycle) % 2]), repeats)
    measure(rows, "emap", build, "model dropdown (cached)",
            lambda: lab.configure(kind=("additive", "interactive")[next(cycle) % 2]), repeats)
    lab.configure(method="Monte Carlo", n=n)
    measure(rows, "emap", build, "partners slider (Monte Carlo)",
            lambda: lab.configure(partners=(8, 16)[next(cycle) % 2]), repeats)
    lab.configure(method="exact")

    images, texts = sc.eval_ds["image"][:64], sc.eval_ds["scene"][:64]
    build = timed(lambda: setattr(run, "lab", gkw.similarity_widget(clip, images[:16], texts[:16])))
    lab = run.lab
    measure(rows, "similarity", build, "reshuffle", lab.reshuffle, repeats)

    try:
        vqa = gk.load_vqa()
    except (FileNotFoundError, OSError, RuntimeError, ImportError) as err:
        vqa = None
        print(f"[no VQA model ({type(err).__name__}): rebalancing lab and explorer's VQA skipped]", file=sys.stderr)
    if vqa is not None:
        build = timed(lambda: setattr(run, "lab", gkw.grounding_explorer(clip, images, texts, vqa)))
        lab = run.lab
        measure(rows, "explorer", build, "caption -> images", lambda: lab.search(("a red circle", "a blue square")[next(cycle) % 2]), repeats)
        measure(rows, "explorer", build, "pick an image (+VQA)", lambda: lab.pick(next(cycle) % len(images)), repeats)
        measure(rows, "explorer", build, "ask a question", lambda: lab.ask(("what color is the circle?", "how many objects are there?")[next(cycle) % 2]), repeats)
        build = timed(lambda: setattr(run, "lab", gkw.rebalancing_lab(vqa, priors=(0.0, 0.9), n=max(60, n // 5), seed=0)))
        lab = run.lab
        measure(rows, "rebalancing", build, "prior dial / rebalance toggle",
                lambda: lab.show(prior=(0.0, 0.9)[next(cycle) % 2], balanced=bool(next(cycle) % 2)), repeats)
    else:
        build = timed(lambda: setattr(run, "lab", gkw.retrieval_widget(clip, images, texts)))
        lab = run.lab
        measure(rows, "retrieval", build, "caption -> images", lambda: lab.search(("a red circle", "a blue square")[next(cycle) % 2]), repeats)
        measure(rows, "retrieval", build, "pick an image", lambda: lab.pick(next(cycle) % len(images)), repeats)
    return rows, setup


BASELINE_NOTEBOOK = {  # a Voila page with one slider: the server, kernel and widget start-up alone
    "cells": [{"cell_type": "code", "execution_count": None, "id": "c0", "metadata": {}, "outputs": [],
               "source": "import ipywidgets as w\nw.IntSlider(description='baseline')"}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5}


def first_usable_s(command: list[str], port: int, selector: str, env: dict[str, str], log: str) -> dict[str, float]:
    """Seconds from the first request of a fresh Voila server's page to ``selector`` being visible
    (``usable``; Debian chromium through Playwright, every request outside 127.0.0.1 aborted), and
    to the page's HTML being loaded (``html``: Voila sends the rest of the page once the kernel has
    run the notebook; what follows is the browser loading and drawing the widgets)."""
    import shutil
    import subprocess
    import urllib.request

    from playwright.sync_api import sync_playwright

    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:  # a static file answers once the server listens (it starts no kernel)
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/static/voila.js", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"Voila did not start; see {log}")
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                                 args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.route("**/*", lambda route: route.continue_() if "//127.0.0.1" in route.request.url else route.abort())
            start = time.monotonic()
            page.goto(f"http://127.0.0.1:{port}/", timeout=600_000, wait_until="domcontentloaded")
            html = time.monotonic() - start
            page.wait_for_selector(selector, timeout=600_000)
            usable = time.monotonic() - start
            browser.close()
        return {"usable": usable, "html": html}
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def page_times(n: int, visits: int = 1) -> dict[str, dict[str, float]]:
    """The dashboard page's first request -> first lab usable, cold (empty kit cache) and warm
    (the cache that the cold visit filled), against a one-slider Voila page in the same run; with
    each visit's HTML time and (dashboard) the seconds the kernel spent building the first lab.
    The baseline and the warm page are visited ``visits`` times, each on a fresh server (the
    median of each time is reported, and the range of ``usable``)."""
    import re
    import socket
    import tempfile
    from pathlib import Path

    from grounding_kit.dashboard.server import READY_ENV, notebook_path, voila_command

    def port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    folder = Path(tempfile.mkdtemp(prefix="gk-dashboard-bench-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GROUNDING_KIT_DASHBOARD_N": str(n),
           "GROUNDING_KIT_CACHE": str(folder / "cache")}
    baseline = folder / "baseline.ipynb"
    baseline.write_text(json.dumps(BASELINE_NOTEBOOK))
    def visit(notebook: Path | None, selector: str, name: str) -> dict[str, float]:
        p, ready = port(), folder / f"{name}.ready"
        command = voila_command(p)
        if notebook is not None:  # same server and template, another notebook
            command[command.index(str(notebook_path()))] = str(notebook)
        out = first_usable_s(command, p, selector, {**env, READY_ENV: str(ready)}, str(folder / f"{name}.log"))
        built = re.search(r"built in ([0-9.]+) s", ready.read_text()) if ready.exists() else None
        out["kernel build"] = float(built.group(1)) if built else float("nan")
        return out

    def median(runs: list[dict[str, float]]) -> dict[str, float]:
        out = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        out["usable min"], out["usable max"] = min(r["usable"] for r in runs), max(r["usable"] for r in runs)
        return out

    lab = ".gk-reshuffle-lab .gk-fraction .noUi-handle"
    times = {"baseline: one-slider page": median([visit(baseline, ".widget-slider", f"baseline{k}")
                                                  for k in range(visits)])}
    times["cold: empty cache"] = median([visit(None, lab, "cold")])
    times["warm: cache filled"] = median([visit(None, lab, f"warm{k}") for k in range(visits)])
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="evaluation pairs (default 1000, the issue's N)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="N=300, 3 repeats (for `make bench`)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--page", action="store_true",
                        help="time the dashboard page itself (Voila + chromium): first request to first lab usable")
    parser.add_argument("--visits", type=int, default=3, help="with --page: visits of the baseline and warm pages")
    args = parser.parse_args(argv)
    if args.page:
        n = 300 if args.quick else args.n
        load = os.getloadavg()[0]
        times = page_times(n, max(1, args.visits))
        load = max(load, os.getloadavg()[0])
        base = times["baseline: one-slider page"]["usable"]
        if args.json:
            print(json.dumps({"n": n, "load_average_1min_max": load, "page": times}, indent=2))
            return 0
        print(f"dashboard page, first request -> first lab usable, N={n} (Voila + chromium, offline; "
              f"1-min load average up to {load:.1f} on {os.cpu_count()} cores)")
        print(f"  medians of {max(1, args.visits)} visits (cold: 1), each on a fresh Voila server")
        print(f"  {'visit':<26} {'usable s':>8} {'range':>11} {'vs baseline':>12} {'HTML s':>7} {'kernel build s':>15}")
        for key, value in times.items():
            print(f"  {key:<26} {value['usable']:8.1f} {value['usable min']:5.1f}-{value['usable max']:<5.1f} "
                  f"{value['usable'] / base:11.1f}x {value['html']:7.1f} {value['kernel build']:15.1f}")
        return 0
    n, repeats = (300, 3) if args.quick else (args.n, args.repeats)
    rows, setup = run(n, repeats)
    if args.json:
        print(json.dumps({"n": n, "repeats": repeats, "budget_ms": BUDGET_MS, "setup": setup, "rows": rows}, indent=2))
        return 0
    print(f"dashboard callbacks at N={n} ({repeats} calls each; budget {BUDGET_MS:.0f} ms); "
          f"baseline = rebuilding the lab from cached features and heads")
    for key, value in setup.items():
        print(f"  setup, once: {key} {value:.1f}")
    header = f"{'lab':<12} {'callback':<32} {'median ms':>10} {'max ms':>8} {'rebuild ms':>11} {'speedup':>8}  budget"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['lab']:<12} {r['callback']:<32} {r['median_ms']:>10.1f} {r['max_ms']:>8.1f} {r['rebuild_ms']:>11.0f} "
              f"{r['speedup']:>7.0f}x  {'ok' if r['within_budget'] else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
