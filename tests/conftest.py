"""Shared test set-up: offline hub, a private cache, free ports, servers, a headless browser, and
the images, folders and stand-in CLIP model shared by the test_bad_input_*.py files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from urllib.parse import urlparse
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pytest

from grounding_kit.core.servers import free_port, wait_for_http  # noqa: F401  (the tests import them from here)

# Set before any test imports huggingface_hub / datasets, which read them at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if "GROUNDING_KIT_CACHE" not in os.environ:  # a private cache for this session, removed at its end
    _SESSION_CACHE = tempfile.mkdtemp(prefix="gk-test-cache-")
    os.environ["GROUNDING_KIT_CACHE"] = _SESSION_CACHE
else:  # the caller's own folder: left as it is
    _SESSION_CACHE = None

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_sessionfinish(session, exitstatus) -> None:
    """Remove the session's private cache folder (features, grids, vendored assets)."""
    if _SESSION_CACHE is not None:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


def block_external(context) -> list[str]:
    """Route every request of a Playwright browser ``context``: file, data and about URLs and
    127.0.0.1/localhost go through; anything else is aborted and its URL appended to the returned
    list (a test asserts it stays empty: the page asked for nothing outside this machine)."""
    blocked: list[str] = []

    def route(request_route) -> None:
        url = urlparse(request_route.request.url)
        if url.scheme in ("file", "data", "about") or url.hostname in ("127.0.0.1", "localhost"):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    return blocked


class Server:
    """A server process started by a test and stopped by PID (its whole process group)."""

    def __init__(self, command: Sequence[str], log: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = log.open("w")
        self.process = subprocess.Popen(list(command), stdout=self._log_file, stderr=subprocess.STDOUT,
                                        cwd=cwd, env=env, start_new_session=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log_file.close()


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Run a module's torch code on one thread (small tiles run fastest so on a shared machine, and
    one thread matches a Dask worker's bit for bit); the setting is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def start_server() -> Iterator:
    """Start servers with ``start_server(command, log_name)``; all are stopped after the test."""
    servers: list[Server] = []

    def start(command: Sequence[str], log_name: str, **kwargs) -> Server:
        server = Server(command, ARTIFACTS / log_name, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless chromium driven by Playwright: Debian's where installed, else Playwright's own
    download (``make test`` provisions one of the two: scripts/ensure_browser.sh)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        if executable is None and not Path(playwright.chromium.executable_path).exists():
            pytest.fail("no browser: run `make test` (it installs Debian chromium as root, or "
                        "Playwright's chromium with internet), or apt-get install chromium")
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser page that records console errors in ``page.console_errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    new_page = context.new_page()
    new_page.console_errors = []
    new_page.on("console", lambda msg: msg.type == "error" and new_page.console_errors.append(msg.text))
    yield new_page
    context.close()


@pytest.fixture
def lab_url(tmp_path, start_server) -> tuple[str, str]:
    """JupyterLab on a free 127.0.0.1 port over a copy of notebooks/ (autosave can't touch the repo),
    with fresh settings and workspaces (no layout restored from an earlier run)."""
    root = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, root)
    settings = tmp_path / "lab-settings"
    _write_lab_settings(settings)
    port, token = free_port(), "gk-test-token"
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    server = start_server([jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                           f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
                           "--allow-root"], "jupyterlab.log",
                          env={**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
                               "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces")})
    wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", server.process)
    return f"http://127.0.0.1:{port}", token


def _write_lab_settings(folder: Path) -> None:
    """Render every cell (no windowing, so off-screen outputs exist in the page), start the
    notebook's kernel without asking, and ask for no news. RISE slides use reveal's "white" theme:
    the default "simple" theme loads its fonts from fonts.googleapis.com."""
    overrides = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none",
                                                                      "autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
        "jupyterlab-rise/plugin.jupyterlab-settings": {"theme": "white"},
    }
    for relative, values in overrides.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def run_all_cells(page, attempts: int = 3) -> None:
    """Run every cell of the open JupyterLab notebook through its Run menu.

    A click on the menu can land before the notebook holds the focus and then does nothing, so
    the call checks that some cell got an execution count (or is running) and retries if not.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.jp-Notebook .jp-InputPrompt'))"
                ".some(p => /\\[(\\d+|\\*)\\]/.test(p.textContent))", timeout=30_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"Run All Cells started no cell in {attempts} attempts")


# ---------------------------------------------------------------- shared by test_bad_input_*.py


def _folder(tmp_path, images: dict, metadata: bytes | None = None, name: str = "captions.csv"):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir(exist_ok=True)
    for file, image in images.items():
        image.save(folder / file)
    if metadata is None:
        metadata = ("file_name,caption\n" + "".join(f"{f},a photo of {f}\n" for f in images)).encode()
    (folder / name).write_bytes(metadata)
    return folder


def _rgb(color=(10, 200, 30)):
    from PIL import Image

    return Image.new("RGB", (8, 8), color)


class CountingClip:
    """A stand-in for a ClipModel: mean colour features, counting how often it encodes."""

    name, embed_dim = "counting-clip", 3

    def __init__(self):
        self.image_calls = 0

    def weights_hash(self):
        return "0"

    def encode_images(self, images, batch_size=64, progress=False):
        import torch

        self.image_calls += 1
        x = torch.tensor(np.stack([np.asarray(im.convert("RGB"), dtype=np.float32).mean((0, 1)) for im in images]))
        return torch.nn.functional.normalize(x + 1e-3, dim=1)

    def encode_texts(self, texts, progress=False):
        import torch

        x = torch.tensor([[len(t), t.count(" "), 1.0] for t in texts])
        return torch.nn.functional.normalize(x, dim=1)
