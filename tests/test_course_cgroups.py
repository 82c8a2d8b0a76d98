"""Notebooks under a hub's per-student memory limit: each kernel in a memory cgroup capped at 1 GiB."""

from __future__ import annotations

import pytest

from conftest import NOTEBOOKS
from grounding_kit.course import cgroups

HUB_LIMIT_MIB = 1024  # a common per-student limit of course hubs (and the kit's hub default, "1G")

needs_cgroups = pytest.mark.skipif(cgroups.memory_cgroup_root() is None,
                                   reason="no writable memory cgroup on this machine (needs root and cgroup v1 "
                                          "memory or cgroup v2 with the memory controller)")


@pytest.mark.slow
@needs_cgroups
def test_notebook_05_with_its_dask_cluster_finishes_within_a_1_gib_limit():
    """Notebook 05 starts a Dask cluster: with two worker processes (each importing torch and the model)
    its kernel was OOM-killed in a 1 GiB cgroup; its workers are threads now."""
    run = cgroups.run_notebook_capped(NOTEBOOKS / "05_scaling_up.ipynb", HUB_LIMIT_MIB)
    assert run.finished, run.error
    assert run.oom_kills == 0 and 0 < run.charged_peak_mib <= HUB_LIMIT_MIB


@needs_cgroups
def test_a_capped_run_reports_the_oom_kill_of_a_kernel_over_its_limit(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("hog = bytearray(96 * 2**20); hog[::4096] = b'x' * len(hog[::4096])"),
        nbformat.v4.new_code_cell("print('never reached')")])
    path = tmp_path / "hog.ipynb"
    nbformat.write(notebook, path)
    run = cgroups.run_notebook_capped(path, 64, timeout=120)
    assert not run.finished and "DeadKernelError" in run.error and run.oom_kills >= 1
    assert run.charged_peak_mib <= 64
    small = cgroups.run_notebook_capped(path, 512, timeout=120)
    assert small.finished and small.oom_kills == 0 and small.resident_peak_mib > 96


def test_a_capped_run_refuses_bad_arguments_by_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.ipynb"):
        cgroups.run_notebook_capped(tmp_path / "missing.ipynb")
    (tmp_path / "x.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="limit_mib=0"):
        cgroups.run_notebook_capped(tmp_path / "x.ipynb", 0)


def test_oom_kills_reads_v1_and_v2_counters(tmp_path):
    (tmp_path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 5\noom 1\noom_kill 3\n")
    assert cgroups.oom_kills(tmp_path, "memory.limit_in_bytes") == 2
    assert cgroups.oom_kills(tmp_path, "memory.max") == 3
