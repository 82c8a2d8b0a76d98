"""The set-up promises: a light import, a working doctor, agreeing dependency lists, clean notebooks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import NOTEBOOKS, REPO

HEAVY = ("torch", "open_clip", "transformers", "datasets", "torchvision")


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_import_is_light_and_public_names_resolve_lazily():
    code = (
        "import sys, grounding_kit as gk\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
        "print(sorted(gk.__all__))\n"
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr
    heavy_loaded, names = result.stdout.strip().splitlines()
    assert heavy_loaded == "[]", f"import grounding_kit pulled in heavy modules: {heavy_loaded}"
    for expected in ("emap", "make_task", "load_clip", "doctor", "emap_report"):
        assert expected in names


def test_unknown_attribute_raises_attribute_error():
    import grounding_kit as gk

    with pytest.raises(AttributeError, match="no attribute 'not_a_thing'"):
        gk.not_a_thing


def test_every_public_name_resolves():
    import grounding_kit as gk

    missing = []
    for name in gk.__all__:
        try:
            getattr(gk, name)
        except (ImportError, AttributeError) as err:
            missing.append(f"{name}: {err}")
    assert not missing, missing


def test_no_public_name_is_shadowed_by_a_submodule_of_the_same_name():
    # importing a submodule sets it as an attribute of its package; a public function of the same
    # name would then resolve to the module, depending on import order
    code = (
        "import importlib, types\n"
        "packages = ['grounding_kit', 'grounding_kit.analysis', 'grounding_kit.models', 'grounding_kit.world']\n"
        "for name in packages:\n"
        "    package = importlib.import_module(name)\n"
        "    for module in set({**getattr(package, '_EXPORTS', {}), **getattr(package, '_LAZY', {})}.values()):\n"
        "        importlib.import_module(module if module.startswith('grounding_kit') else f'{name}.{module}')\n"
        "print([f'{p}.{n}' for p in packages for n in importlib.import_module(p).__all__\n"
        "       if isinstance(getattr(importlib.import_module(p), n), types.ModuleType)])\n"
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


def _requirement_names(requirements: list[str]) -> dict[str, str]:
    parsed = {}
    for requirement in requirements:
        match = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", requirement.strip())
        parsed[match.group(1).lower().replace("_", "-")] = match.group(2).replace(" ", "")
    return parsed


def test_environment_yml_installs_what_pyproject_declares():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def expand(requirements: list[str]) -> list[str]:  # "grounding_kit[a,b]" stands for the extras a and b
        out = []
        for requirement in requirements:
            self_reference = re.match(r"^grounding[-_]kit\[(.*)\]$", requirement.strip())
            out += (expand([r for extra in self_reference.group(1).split(",") for r in extras[extra.strip()]])
                    if self_reference else [requirement])
        return out

    declared = _requirement_names(project["dependencies"] + expand(extras["test"]))
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    listed = _requirement_names([r for r in pip_section if not r.startswith("-e")])
    assert listed == declared
    assert "-e ." in pip_section, "environment.yml must install the kit itself"
    python = next(item for item in env["dependencies"] if isinstance(item, str) and item.startswith("python"))
    minimum = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, python.split("=")[1].split("."))) >= tuple(map(int, minimum.split(".")))


def test_notebooks_are_stored_without_outputs():
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert notebooks, "notebooks/ holds no notebook"
    for path in notebooks:
        cells = json.loads(path.read_text())["cells"]
        for index, cell in enumerate(cells):
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{path.name} cell {index} has stored outputs"
                assert cell.get("execution_count") is None, f"{path.name} cell {index} has an execution count"


@pytest.mark.slow
def test_doctor_command_passes_offline():
    start = time.monotonic()
    result = subprocess.run([str(Path(sys.executable).with_name("grounding-kit")), "doctor"],
                            capture_output=True, text=True, timeout=180, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "offline" in result.stdout and "all good" in result.stdout
    for package in ("torch", "open_clip_torch", "transformers", "datasets", "ipywidgets", "plotly", "jupyterlab"):
        assert re.search(rf"ok\s+{package}\s+\d", result.stdout), f"no version line for {package}"
    assert time.monotonic() - start < 120


@pytest.mark.slow
def test_the_doctor_checks_torch_and_the_models_in_a_child_and_leaves_this_process_light():
    code = ("import json, sys, grounding_kit as gk\n"
            "report = gk.doctor(hub_timeout=0.01)\n"
            "print(json.dumps({'names': [c.name for c in report.checks], 'problems': [c.name for c in report.problems],"
            f" 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))")
    result = _run_python(code, HF_HUB_OFFLINE="1")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["heavy"] == [], f"the doctor left {out['heavy']} in the caller's process"
    assert out["problems"] == []
    assert [n for n in out["names"] if n in ("device", "tiny-shapes", "tiny-shapes-vqa")] == [
        "device", "tiny-shapes", "tiny-shapes-vqa"]


def test_a_failing_child_check_is_one_problem_line(monkeypatch):
    from grounding_kit import diagnostics

    monkeypatch.setattr(diagnostics.sys, "executable", "/nonexistent/python")
    checks = diagnostics._torch_checks_in_child(load_models=False)
    assert len(checks) == 1 and checks[0].problem and "the check process failed" in checks[0].detail


def test_model_modules_leave_triton_out_where_there_is_no_gpu_for_it():
    from grounding_kit.core.devices import TRITON_DEVICE_FILES

    code = ("import json, sys\n"
            "import grounding_kit.models, torchvision\n"
            "print(json.dumps({'dynamo': 'torch._dynamo' in sys.modules,\n"
            "                  'absent': sys.modules.get('triton', 0) is None}))")
    result = _run_python(code)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["dynamo"], "torchvision no longer imports torch._dynamo: the Triton skip may be unneeded"
    assert out["absent"] == (not any(os.path.exists(path) for path in TRITON_DEVICE_FILES))


def test_doctor_reports_a_missing_model_as_a_problem(tmp_path, monkeypatch):
    from grounding_kit import diagnostics

    monkeypatch.setenv("GROUNDING_KIT_DATA", str(tmp_path))
    report = diagnostics.doctor(load_models=False)
    assert not report.ok
    assert {c.name for c in report.problems} == {"tiny-shapes", "tiny-shapes-vqa"}
    assert "missing" in report.text() and "problem(s) found" in report.text()


def test_cli_exit_code_is_nonzero_when_a_check_fails(tmp_path):
    result = subprocess.run([str(Path(sys.executable).with_name("grounding-kit")), "doctor"],
                            capture_output=True, text=True, timeout=180,
                            env={**os.environ, "GROUNDING_KIT_DATA": str(tmp_path)})
    assert result.returncode == 1
    assert sum("PROBLEM" in line for line in result.stdout.splitlines()) == 2
