"""`make test` provisions its own browser (scripts/ensure_browser.sh), or fails at once in one line.

Each case runs the script with a PATH of stand-in commands (`id`, `apt-get`, `chromium`, ...), so the
machine's own browser and packages are never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from conftest import REPO

SCRIPT = REPO / "scripts" / "ensure_browser.sh"
BASH = shutil.which("bash")
# a stand-in apt-get: records its arguments and, on install, puts a chromium on PATH as the real one would
_APT_GET = ('echo "$@" >> "$BIN/../apt.log"\n'
            'case "$*" in *install*) printf "#!/bin/sh\\n" > "$BIN/chromium"; /bin/chmod +x "$BIN/chromium";; esac')


def _stand_in(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


def _run(tmp_path: Path, *, uid: int, tools: dict[str, str], download_host: str,
         args: tuple[str, ...] = ("system",)) -> subprocess.CompletedProcess:
    """Run the script with only ``tools`` (name -> shell body) and `timeout` on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    os.symlink(shutil.which("timeout"), bin_dir / "timeout")
    _stand_in(bin_dir, "id", f"echo {uid}")
    for name, body in tools.items():
        _stand_in(bin_dir, name, body)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "BIN": str(bin_dir),
           "PLAYWRIGHT_DOWNLOAD_HOST": download_host}
    return subprocess.run([BASH, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=60)


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_an_installed_chromium_is_enough(tmp_path):
    result = _run(tmp_path, uid=1000, tools={"chromium": "exit 0"}, download_host=_closed_port())
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""


def test_root_installs_debian_chromium_with_apt_get(tmp_path):
    result = _run(tmp_path, uid=0, tools={"apt-get": _APT_GET}, download_host=_closed_port())
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1].split()[-2:] == ["chromium", "chromium-driver"]


def test_passwordless_sudo_is_used_when_not_root(tmp_path):
    sudo = 'if [ "$1" = -n ] && [ "$2" = true ]; then exit 0; fi; shift; echo sudo >> "$BIN/../apt.log"; "$@"'
    result = _run(tmp_path, uid=1000, tools={"apt-get": _APT_GET, "sudo": sudo}, download_host=_closed_port())
    assert result.returncode == 0, result.stderr
    assert "sudo" in (tmp_path / "apt.log").read_text()


def test_no_root_no_browser_no_network_fails_at_once_in_one_line(tmp_path):
    start = time.monotonic()
    result = _run(tmp_path, uid=1000, tools={"sudo": "exit 1"}, download_host=_closed_port())
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert elapsed < 10, f"took {elapsed:.1f} s"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install chromium chromium-driver" in lines[0], result.stderr


def test_a_reachable_playwright_server_defers_to_playwrights_download(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        host = f"http://127.0.0.1:{server.getsockname()[1]}"
        result = _run(tmp_path, uid=1000, tools={"sudo": "exit 1"}, download_host=host)
    assert result.returncode == 0, result.stderr
    assert "Playwright will download" in result.stdout


def test_the_playwright_phase_downloads_only_when_no_browser_is_there(tmp_path):
    python = 'echo "$@" >> "$BIN/../python.log"'
    result = _run(tmp_path, uid=1000, tools={"python": python}, download_host=_closed_port(),
                  args=("playwright", str(tmp_path / "bin" / "python")))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "python.log").read_text().split() == ["-m", "playwright", "install", "chromium"]
    (tmp_path / "home" / ".cache" / "ms-playwright" / "chromium-1234").mkdir(parents=True)
    (tmp_path / "python.log").unlink()
    shutil.rmtree(tmp_path / "bin")
    result = _run(tmp_path, uid=1000, tools={"python": python}, download_host=_closed_port(),
                  args=("playwright", str(tmp_path / "bin" / "python")))
    assert result.returncode == 0 and not (tmp_path / "python.log").exists()


def test_the_makefile_provisions_the_browser_before_the_python_install():
    recipe = subprocess.run(["make", "-n", "-C", str(REPO), "test"], capture_output=True, text=True,
                            env={**os.environ, "VENV": "/nonexistent-venv"}).stdout
    lines = recipe.splitlines()
    first_browser = next(i for i, line in enumerate(lines) if "ensure_browser.sh system" in line)
    first_install = next(i for i, line in enumerate(lines) if "test-installed" in line or "pip install" in line)
    assert first_browser < first_install, recipe
