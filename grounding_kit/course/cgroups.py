"""Memory cgroups: where a hub can cap a user's memory, and a notebook run under such a cap.

A hub enforces its per-user memory limit with a memory cgroup (SystemdSpawner's ``MemoryMax``, a
Kubernetes container limit, the kit's ``ClassSpawner``). What the cgroup counts is not a process's
resident set: pages of shared libraries already in the page cache are charged to the cgroup that
read them first, and clean file pages are reclaimed under the limit before anything is killed. So
the question "does this notebook survive a 1 GiB hub?" is answered by running it in a 1 GiB cgroup
(:func:`run_notebook_capped`), not by reading its ``VmHWM``.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def memory_cgroup_root(root: Path = CGROUP_ROOT) -> tuple[Path, str] | None:
    """Where memory cgroups can be made here, and the file that caps one; None when nowhere.

    Returns ``(folder, limit_file)``: ``(/sys/fs/cgroup/memory, "memory.limit_in_bytes")`` on a
    cgroup v1 host, ``(/sys/fs/cgroup, "memory.max")`` on a cgroup v2 host with the memory
    controller, None when neither is writable by this process.
    """
    v1 = root / "memory"
    if (v1 / "memory.limit_in_bytes").is_file() and os.access(v1, os.W_OK):
        return v1, "memory.limit_in_bytes"
    controllers = root / "cgroup.controllers"
    if controllers.is_file() and "memory" in controllers.read_text().split() and os.access(root, os.W_OK):
        return root, "memory.max"
    return None


def peak_file(limit_file: str) -> str:
    """The file holding a memory cgroup's peak usage, for the cgroup version of ``limit_file``."""
    return "memory.max_usage_in_bytes" if limit_file == "memory.limit_in_bytes" else "memory.peak"


def oom_kills(folder: Path, limit_file: str) -> int:
    """How many processes the kernel's OOM killer ended in the cgroup ``folder``."""
    name = "memory.oom_control" if limit_file == "memory.limit_in_bytes" else "memory.events"
    fields = (folder / name).read_text().split()
    return int(fields[fields.index("oom_kill") + 1]) if "oom_kill" in fields else 0


@dataclass(frozen=True)
class CappedRun:
    """A notebook run in a memory cgroup.

    Attributes
    ----------
    notebook : the notebook's file name.
    limit_mib : the cgroup's cap (MiB = 2**20 bytes).
    finished : every cell ran without an error and the kernel lived.
    error : the first error, or why the kernel died ("" when finished).
    charged_peak_mib : the cgroup's peak usage: what a hub's limit compares with the cap.
    resident_peak_mib : the kernel process's own peak resident set (``VmHWM``), shared pages included.
    oom_kills : processes the OOM killer ended in the cgroup.
    seconds : the run's wall time.
    """

    notebook: str
    limit_mib: int
    finished: bool
    error: str
    charged_peak_mib: float
    resident_peak_mib: float | None
    oom_kills: int
    seconds: float


def run_notebook_capped(path: str | os.PathLike, limit_mib: int = 1024, *, timeout: float = 900) -> CappedRun:
    """Execute the notebook at ``path`` with its kernel in a fresh memory cgroup capped at ``limit_mib``.

    The kernel joins the cgroup right after it starts, before any cell runs (its threads and child
    processes, e.g. Dask workers, are then inside it too); the cgroup is removed afterwards.

    Raises
    ------
    RuntimeError
        No writable memory cgroup here (needs root and cgroup v1 memory or cgroup v2 with the
        memory controller).
    ValueError
        ``limit_mib`` is not a positive integer.
    FileNotFoundError
        ``path`` does not exist.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"notebook {path} does not exist")
    if not isinstance(limit_mib, int) or limit_mib < 1:
        raise ValueError(f"limit_mib={limit_mib!r}; expected a positive number of MiB")
    found = memory_cgroup_root()
    if found is None:
        raise RuntimeError("no writable memory cgroup on this machine (needs root and cgroup v1 memory or cgroup "
                           "v2 with the memory controller); a capped run needs one")
    root, limit_file = found
    folder = root / f"grounding-kit-probe-{uuid.uuid4().hex[:8]}"
    if limit_file == "memory.max":
        (root / "cgroup.subtree_control").write_text("+memory")
    folder.mkdir()
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    error, resident = "", None
    start = time.perf_counter()
    try:
        (folder / limit_file).write_text(str(limit_mib * 2**20))
        with client.setup_kernel():
            pid = client.km.provisioner.process.pid
            (folder / "cgroup.procs").write_text(str(pid))
            try:
                for index, cell in enumerate(notebook.cells):
                    client.execute_cell(cell, index)
                resident = peak_resident_mib(pid)
            except Exception as err:  # a cell's error or the kernel's death: recorded, not raised
                error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"[:300]
        seconds = time.perf_counter() - start
        charged = int((folder / peak_file(limit_file)).read_text()) / 2**20
        kills = oom_kills(folder, limit_file)
    finally:
        _remove_cgroup(folder)
    return CappedRun(path.name, limit_mib, not error, error, round(charged, 1),
                     None if resident is None else round(resident, 1), kills, round(seconds, 1))


def peak_resident_mib(pid: int) -> float:
    """The peak resident set (``VmHWM``) of process ``pid`` in MiB (2**20 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def _remove_cgroup(folder: Path, wait: float = 10.0) -> None:
    """Remove an emptied cgroup (its processes may take a moment to end)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            folder.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
