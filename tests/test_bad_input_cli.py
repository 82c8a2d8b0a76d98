"""Bad input to the grounding-kit CLI (on a copy of data/): the kit's convention is a clear error naming the argument, shape or file."""

from __future__ import annotations

from pathlib import Path

import pytest


def _cli(args, tmp_path, **env):
    import os
    import subprocess
    import sys

    environment = {**os.environ, "GROUNDING_KIT_DATA": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "grounding_kit.cli", *args], capture_output=True, text=True,
                          timeout=300, env=environment)


@pytest.fixture
def data_copy(tmp_path):
    """A copy of the shipped data/ in tmp_path/data, and a snapshot of its files' bytes."""
    import shutil

    from grounding_kit.core.paths import PACKAGE_DIR

    shutil.copytree(PACKAGE_DIR.parent / "data", tmp_path / "data")
    return {p: p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()}


def _one_line_error(result, *needles):
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("grounding-kit "), result.stderr
    for needle in needles:
        assert needle in last, (needle, last)


@pytest.mark.parametrize("model", ["tiny-clip", "tiny-vqa"])
def test_train_never_writes_into_the_shipped_data_by_default(model, tmp_path, data_copy):
    _one_line_error(_cli(["train", model, "--steps", "1"], tmp_path), "--overwrite-shipped", "--output-dir")
    inside = tmp_path / "data" / "models" / "new"
    _one_line_error(_cli(["train", model, "--steps", "1", "--output-dir", str(inside)], tmp_path),
                    "shipped data folder", "--overwrite-shipped")
    assert {p: p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()} == data_copy


@pytest.mark.parametrize("steps", ["0", "-3", "2.5", "abc"])
def test_train_steps_must_be_at_least_one(steps, tmp_path, data_copy):
    _one_line_error(_cli(["train", "tiny-clip", "--steps", steps, "--output-dir", str(tmp_path / "out")], tmp_path),
                    "--steps", "integer >= 1")


def test_train_checks_the_output_folder_before_training(tmp_path, data_copy):
    a_file = tmp_path / "weights.bin"
    a_file.write_text("x")
    busy = tmp_path / "photos"
    busy.mkdir()
    (busy / "cat.jpg").write_text("x")
    cases = [(a_file, "is a file"), (a_file / "sub", "is a file"), (busy, "not a previous training output"),
             (Path("/proc/1/gk-out"), "not writable")]
    for out, needle in cases:
        result = _cli(["train", "tiny-vqa", "--steps", "1", "--output-dir", str(out)], tmp_path)
        _one_line_error(result, "--output-dir", needle)
    assert (busy / "cat.jpg").read_text() == "x" and a_file.read_text() == "x"


@pytest.mark.slow
def test_train_one_step_into_a_new_folder(tmp_path, data_copy):
    out = tmp_path / "retrained"
    result = _cli(["train", "tiny-clip", "--steps", "1", "--output-dir", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "training.json").is_file() and (out / "model.safetensors").is_file()
    assert {p: p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()} == data_copy


@pytest.mark.parametrize("port", ["0", "99999", "-1", "65536", "http", "80.5"])
def test_dashboard_port_out_of_range_is_a_one_line_error(port, tmp_path):
    _one_line_error(_cli(["dashboard", "--port", port], tmp_path), "--port", "1..65535")


def test_dashboard_refuses_a_port_in_use_naming_it(tmp_path):
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = _cli(["dashboard", "--port", str(port)], tmp_path)
    _one_line_error(result, f"port {port}", "already in use")
    assert "http://" not in result.stdout + result.stderr  # never a URL that serves another program


def test_present_names_a_missing_notebook(tmp_path):
    _one_line_error(_cli(["present", "99_nope"], tmp_path), "99_nope.ipynb", "04_emap")


@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf", "abc"])
def test_doctor_refuses_a_bad_hub_timeout(timeout, tmp_path):
    _one_line_error(_cli(["doctor", "--hub-timeout", timeout], tmp_path), "--hub-timeout")


def test_doctor_reports_an_unusable_cache_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _cli(["doctor", "--hub-timeout", "0.01"], tmp_path, GROUNDING_KIT_CACHE=str(blocker))
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "GROUNDING_KIT_CACHE" in result.stdout and "unusable" in result.stdout
