"""Serve ``dashboard.ipynb`` with Voila."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grounding_kit.dashboard.voila_app import OFFLINE_TEMPLATE, SLIDES_TEMPLATE  # the kit's Voila templates

LOCAL = "127.0.0.1"
# front-end extensions installed with the kit that a Voila page does not need and cannot load
# (their shared modules exist only in JupyterLab): each would log errors in the page's console;
# and plotly's 4.7 MB mime renderer (plain plotly outputs): the kit's figures are FigureWidgets, whose
# front end is widgetbundle.js (see voila_app.py), so the page need not load it
SKIPPED_LAB_EXTENSIONS = ("@jupyter/nbgrader", "@jupyter-notebook/lab-extension", "jupyterlab-rise",
                          "@voila-dashboards/jupyterlab-preview", "jupyterlab-plotly")
READY_ENV = "GROUNDING_KIT_DASHBOARD_READY"  # file the notebook writes once its labs are built
# with preheat: after a visit takes the pre-heated kernel, wait this long before heating the next
# one, so that building it does not slow down the live page (a second visitor waits for it)
REFILL_DELAY_S = 120

# the room (`grounding-kit dashboard --room`): see grounding_kit.dashboard.room
ROOM_POOL = 20  # pre-heated kernels: a class that arrives together gets rendered pages
KERNEL_BUDGET_MB = 500  # a dashboard kernel's memory budget, which sizes the default number of seats
ROOM_MEMORY_SHARE = 0.75  # of this machine's memory, for the room's kernels (the rest: server, system)
ROOM_CULL_IDLE_S = 600  # a visitor's kernel idle this long with no page connected is shut down
ROOM_CULL_INTERVAL_S = 60
ROOM_FILL_DELAY_S = 20  # after a visitor takes a pre-heated kernel, wait this long before heating another (a
# burst of arrivals loads its pages first; a visitor who comes meanwhile waits for that kernel)
# nbclient waits 4 s by default for a cell's last outputs after its reply; under a room's load they
# came later, and the page then lacked its labs ("Timeout waiting for IOPub output")
ROOM_IOPUB_TIMEOUT_S = 60


def room_seats(memory_bytes: int | None = None) -> int:
    """The default cap on the room's visitors: :data:`ROOM_MEMORY_SHARE` of ``memory_bytes`` (default:
    this machine's physical memory) in kernels of :data:`KERNEL_BUDGET_MB`; at least 1."""
    if memory_bytes is None:
        memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if isinstance(memory_bytes, bool) or not isinstance(memory_bytes, int) or memory_bytes <= 0:
        raise ValueError(f"memory_bytes must be a positive integer, got {memory_bytes!r}")
    return max(1, int(memory_bytes * ROOM_MEMORY_SHARE / (KERNEL_BUDGET_MB * 2**20)))


@dataclass(frozen=True)
class Room:
    """How the dashboard serves a room: at most ``seats`` visitors at once (a visitor past them gets a
    "room is full" page), ``pool`` kernels pre-heated within the free seats, kernels idle ``cull_idle_s``
    seconds with no page connected shut down (their seat freed)."""

    seats: int
    pool: int = ROOM_POOL
    cull_idle_s: int = ROOM_CULL_IDLE_S

    def __post_init__(self) -> None:
        for name in ("seats", "pool", "cull_idle_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "pool" else 1):
                raise ValueError(f"{name} must be an integer >= {0 if name == 'pool' else 1}, got {value!r}")
        if self.pool > self.seats:
            raise ValueError(f"pool ({self.pool}) must not exceed seats ({self.seats}): pre-heated kernels fill free seats")

    def voila_args(self) -> list[str]:
        """Voila's options for this room (:class:`grounding_kit.dashboard.room.RoomVoila`)."""
        pool = (["--preheat_kernel=True", f"--pool_size={self.pool}", f"--VoilaKernelManager.fill_delay={ROOM_FILL_DELAY_S}"]
                if self.pool else [])
        return [*pool, f"--RoomVoila.seats={self.seats}",
                f"--MappingKernelManager.cull_idle_timeout={self.cull_idle_s}",
                f"--MappingKernelManager.cull_interval={ROOM_CULL_INTERVAL_S}",
                f"--VoilaExecutor.iopub_timeout={ROOM_IOPUB_TIMEOUT_S}"]


def notebook_path() -> Path:
    """The dashboard notebook that ships inside the package."""
    return Path(__file__).resolve().with_name("dashboard.ipynb")


def check_port_free(port: int, host: str = LOCAL) -> None:
    """Raise ``OSError`` naming ``port`` if nothing can listen on ``host:port`` now (another program has it).

    Voila is started with ``port_retries=0``, so it never moves silently to another port and the
    printed URL is always the one it serves.
    """
    with socket.socket() as sock:
        # as tornado does: a port left in TIME_WAIT by a dashboard just stopped is free, a listener is not
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise OSError(f"port {port} on {host} is already in use by another program ({err.strerror}); "
                          "choose another with --port") from None


def voila_command(port: int, host: str = LOCAL, preheat: bool = False, notebook: Path | None = None,
                  template: str = OFFLINE_TEMPLATE, room: Room | None = None) -> list[str]:
    """The Voila command line that serves ``notebook`` (default: the dashboard) on ``host:port``
    with the kit's offline Voila ``template`` (``gk-offline``; ``gk-slides`` for live reveal.js slides).

    ``preheat=True`` makes Voila run the notebook once at start-up, so that the first visitor
    gets a page whose first lab is already built (one kernel kept heated; after a visit takes it,
    the next is heated :data:`REFILL_DELAY_S` later). ``grounding-kit present`` uses it: Voila's
    reveal page shows no slide before the whole notebook has run. Off by default for the dashboard
    (one visitor; the room has its own pool): pages served from a pre-heated kernel once froze
    their plotly figures in our browser tests (before the kit's figures loaded plotly's bundle from
    the server); tests/test_browser_presenting.py and benchmarks/room_bench.py now check that a
    pre-heated page's figures follow the kernel.

    ``room`` (a :class:`Room`) serves a room instead: a capped number of visitors, a pre-heated pool
    within the free seats (it replaces ``preheat``) and culling of idle kernels.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port must be an integer in 1..65535, got {port!r}")
    if not isinstance(host, str) or not host:
        raise ValueError(f"host must be an address such as {LOCAL!r} or '0.0.0.0', got {host!r}")
    if template not in (OFFLINE_TEMPLATE, SLIDES_TEMPLATE):
        raise ValueError(f"template must be {OFFLINE_TEMPLATE!r} or {SLIDES_TEMPLATE!r}, got {template!r}")
    if room is not None and not isinstance(room, Room):
        raise TypeError(f"room must be a Room or None, got {type(room).__name__}")
    if room is not None and preheat:
        raise ValueError("give preheat or room, not both: a room pre-heats its own pool (Room.pool)")
    notebook = notebook_path() if notebook is None else Path(notebook).resolve()
    if not notebook.is_file():
        raise FileNotFoundError(f"notebook {notebook} does not exist (expected an .ipynb file)")
    return [sys.executable, "-m", "grounding_kit.dashboard.voila_app", str(notebook),
            f"--template={template}", *(f"--VoilaConfiguration.extension_denylist={name}"
                                                for name in SKIPPED_LAB_EXTENSIONS),
            "--no-browser", f"--port={port}",
            f"--Voila.ip={host}", "--Voila.port_retries=0", "--VoilaConfiguration.show_tracebacks=True",
            *(["--preheat_kernel=True", "--pool_size=1", f"--VoilaKernelManager.fill_delay={REFILL_DELAY_S}"]
              if preheat else []),
            *(room.voila_args() if room is not None else [])]


def serve(port: int = 8866, host: str = LOCAL, preheat: bool = False, notebook: Path | None = None,
          template: str = OFFLINE_TEMPLATE, room: Room | None = None) -> int:
    """Serve the dashboard (or ``notebook`` with ``template``) until interrupted; returns Voila's exit code.

    Parameters
    ----------
    port : TCP port.
    host : ``"127.0.0.1"`` (default, this machine only) or ``"0.0.0.0"`` to serve the room
        (``grounding-kit dashboard --room``).
    preheat : build the page before the first visit (see :func:`voila_command`).
    notebook, template : what to serve, and how (see :func:`voila_command`); ``grounding-kit
        present NB`` serves ``notebooks/NB.ipynb`` as live slides (``template="gk-slides"``).
    room : serve a room (:class:`Room`: seats, pre-heated pool, culling); ``grounding-kit dashboard --room``.

    Prints the address, then a line each time a page has built its labs. The
    page uses the offline tiny models, so it needs no network; the hub is switched off
    (``HF_HUB_OFFLINE=1``) unless the environment says otherwise.
    """
    command = voila_command(port, host, preheat, notebook, template, room)
    what = "dashboard" if notebook is None else f"{Path(notebook).stem} slides"
    check_port_free(port, host)
    ready = Path(tempfile.mkdtemp(prefix="gk-dashboard-")) / "ready"
    env = {**os.environ, READY_ENV: str(ready)}
    env.setdefault("HF_HUB_OFFLINE", "1")
    url = f"http://{LOCAL if host in (LOCAL, 'localhost') else host}:{port}/"
    opens = ("a page runs its notebook when it opens: the first visit fills the kit's caches, about half a "
             "minute on 2 cores; later visits show the first lab in 5 to 7 s" if not (preheat or room) else
             "pre-heated: the server runs the notebook now, and pages opened after that show at once; "
             "start it a few minutes ahead")
    print(f"grounding_kit {what}: open {url} ({opens}; "
          "Ctrl+C stops the server)", flush=True)
    if room is not None:
        print(f"  the room: {room.seats} seats (a visitor past them gets a 'room is full' page); {room.pool} "
              f"kernels pre-heated now (about {room.pool * KERNEL_BUDGET_MB / 1024:.1f} GB at most; open it a few "
              f"minutes before class); a kernel idle {room.cull_idle_s} s with no page open is shut down", flush=True)
    if host == "0.0.0.0":
        print(f"  serving the room: http://{socket.gethostname()}:{port}/ (any address of this machine)", flush=True)
    process = subprocess.Popen(command, env=env)
    seen = 0.0
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops Voila too, like Ctrl+C
    try:
        while process.poll() is None:
            if ready.exists() and ready.stat().st_mtime != seen:
                seen = ready.stat().st_mtime
                print(f"grounding_kit dashboard: page ready ({ready.read_text().strip()})", flush=True)
            time.sleep(0.5)
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    return process.returncode


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
