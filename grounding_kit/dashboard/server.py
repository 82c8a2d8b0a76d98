"""Serve ``dashboard.ipynb`` with Voila."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOCAL = "127.0.0.1"
READY_ENV = "GROUNDING_KIT_DASHBOARD_READY"  # file the notebook writes once its labs are built
# after a visit takes the pre-heated kernel, wait this long before heating the next one, so that
# building it does not slow down the live page (a second visitor meanwhile waits for it)
REFILL_DELAY_S = 120


def notebook_path() -> Path:
    """The dashboard notebook that ships inside the package."""
    return Path(__file__).resolve().with_name("dashboard.ipynb")


def voila_command(port: int, host: str = LOCAL) -> list[str]:
    """The Voila command line that serves the dashboard on ``host:port``.

    The kernel is pre-heated: Voila runs the notebook once at start-up, so the first visitor gets
    a page whose labs are already built (the notebook then writes the file named by ``READY_ENV``).
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port must be an integer in 1..65535, got {port!r}")
    if not isinstance(host, str) or not host:
        raise ValueError(f"host must be an address such as {LOCAL!r} or '0.0.0.0', got {host!r}")
    return [sys.executable, "-m", "voila", str(notebook_path()), "--no-browser", f"--port={port}",
            f"--Voila.ip={host}", "--VoilaConfiguration.show_tracebacks=True",
            "--preheat_kernel=True", "--pool_size=1", f"--VoilaKernelManager.fill_delay={REFILL_DELAY_S}"]


def serve(port: int = 8866, host: str = LOCAL) -> int:
    """Serve the dashboard until interrupted; returns Voila's exit code.

    Parameters
    ----------
    port : TCP port.
    host : ``"127.0.0.1"`` (default, this machine only) or ``"0.0.0.0"`` to serve the room
        (``grounding-kit dashboard --room``).

    Prints the address, then a line when the labs are built and the page is ready to open. The
    page uses the offline tiny models, so it needs no network; the hub is switched off
    (``HF_HUB_OFFLINE=1``) unless the environment says otherwise.
    """
    command = voila_command(port, host)
    ready = Path(tempfile.mkdtemp(prefix="gk-dashboard-")) / "ready"
    env = {**os.environ, READY_ENV: str(ready)}
    env.setdefault("HF_HUB_OFFLINE", "1")
    url = f"http://{LOCAL if host in (LOCAL, 'localhost') else host}:{port}/"
    print(f"grounding_kit dashboard: {url} (building the labs before the first visit...)", flush=True)
    if host == "0.0.0.0":
        print(f"  serving the room: http://{socket.gethostname()}:{port}/ (any address of this machine)", flush=True)
    process = subprocess.Popen(command, env=env)
    announced = False
    try:
        while process.poll() is None:
            if not announced and ready.exists():
                print(f"grounding_kit dashboard: ready ({ready.read_text().strip()}), open {url} "
                      "(Ctrl+C stops the server)", flush=True)
                announced = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        return 0
    return process.returncode
