"""Local servers started by the kit's tools, tests and benchmarks: a free port, and waiting for one to answer."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 120.0, poll: float = 0.5) -> None:
    """Poll ``url`` until it answers, failing early if ``process`` (the server) ends.

    Raises
    ------
    RuntimeError
        ``process`` exited before ``url`` answered.
    TimeoutError
        ``url`` did not answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(poll)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
