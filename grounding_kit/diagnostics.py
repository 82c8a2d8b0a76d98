"""``gk.doctor()`` and ``grounding-kit doctor``: is this installation ready for a lecture?

Checks the Python and package versions, the compute device, the embedded models (present and
loadable), the model hub (reachable or not, decided within seconds) and the cache folder.
Offline is a normal mode, not a problem: the embedded defaults need no network.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata

from grounding_kit.core import hub, paths

PACKAGES = ("torch", "torchvision", "open_clip_torch", "transformers", "datasets", "ipywidgets",
            "plotly", "anywidget", "jupyterlab", "voila")
MIN_PYTHON = (3, 10)


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, what was found, and whether it is a problem."""

    name: str
    detail: str
    problem: bool = False


@dataclass
class DoctorReport:
    """The doctor's findings; ``ok`` is False when any check found a problem."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(check.problem for check in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [check for check in self.checks if check.problem]

    def text(self) -> str:
        lines = [f"{'PROBLEM' if c.problem else 'ok':>7}  {c.name:<18} {c.detail}" for c in self.checks]
        verdict = "all good" if self.ok else f"{len(self.problems)} problem(s) found"
        return "\n".join(lines + [f"grounding_kit doctor: {verdict}"])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{'&#10060;' if c.problem else '&#9989;'}</td><td>{c.name}</td><td>{c.detail}</td></tr>"
            for c in self.checks)
        verdict = "all good" if self.ok else f"{len(self.problems)} problem(s) found"
        return f"<table class='gk-doctor'>{rows}</table><p><b>doctor: {verdict}</b></p>"

    def __repr__(self) -> str:
        return self.text()


def doctor(hub_timeout: float = hub.DEFAULT_TIMEOUT_S, load_models: bool = True,
           in_child: bool = True) -> DoctorReport:
    """Check the installation and return a :class:`DoctorReport` (one line per check).

    Parameters
    ----------
    hub_timeout : seconds to wait for the model hub before calling it unreachable.
    load_models : also load the embedded tiny models (a few seconds), not just look for them.
    in_child : run the checks that import torch (the device, the embedded models) in a child
        Python process, so that this process does not keep torch, open_clip and the two models
        resident: notebook 00's kernel peaks at 81 MiB instead of 1105 MiB (the child, for the few
        seconds of the check, at 990 MiB; benchmarks/notebook_costs.md). False: in this process
        (the ``grounding-kit doctor`` command, which exits right after).
    """
    report = DoctorReport()
    report.checks.append(_check_python())
    report.checks.extend(_check_package(name) for name in PACKAGES)
    report.checks.extend(_torch_checks_in_child(load_models) if in_child else _torch_checks(load_models))
    report.checks.append(_check_hub(hub_timeout))
    report.checks.append(_check_cache())
    return report


def _torch_checks(load_models: bool) -> list[Check]:
    """The checks that import torch: the compute device and the embedded models."""
    return [_check_device(), *_check_embedded_models(load_models)]


def _torch_checks_in_child(load_models: bool) -> list[Check]:
    """:func:`_torch_checks` in a fresh Python process with this one's ``sys.path`` and environment."""
    code = ("import json, sys\n"
            "sys.path[:0] = json.loads(sys.argv[1])\n"
            "from dataclasses import asdict\n"
            "from grounding_kit.diagnostics import _torch_checks\n"
            "print(json.dumps([asdict(c) for c in _torch_checks(sys.argv[2] == '1')]))")
    try:
        result = subprocess.run([sys.executable, "-c", code, json.dumps(sys.path), "1" if load_models else "0"],
                                capture_output=True, text=True, timeout=600)
        lines = result.stdout.strip().splitlines()
        if result.returncode != 0 or not lines:
            raise RuntimeError(f"exit code {result.returncode}: {result.stderr.strip()[-300:]}")
        return [Check(**fields) for fields in json.loads(lines[-1])]
    except (OSError, subprocess.SubprocessError, RuntimeError, ValueError, TypeError) as err:
        return [Check("device", f"the check process failed ({type(err).__name__}: {err})", problem=True)]


def _check_python() -> Check:
    version = platform.python_version()
    too_old = sys.version_info[:2] < MIN_PYTHON
    need = ".".join(map(str, MIN_PYTHON))
    return Check("python", f"{version}" + (f" (needs >= {need})" if too_old else ""), too_old)


def _check_package(name: str) -> Check:
    try:
        return Check(name, metadata.version(name))
    except metadata.PackageNotFoundError:
        return Check(name, f"not installed: pip install {name}", problem=True)


def _check_device() -> Check:
    try:
        import torch
    except ImportError as err:
        return Check("device", f"torch does not import ({err})", problem=True)
    if torch.cuda.is_available():
        return Check("device", f"cuda ({torch.cuda.get_device_name(0)})")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return Check("device", "mps (Apple GPU)")
    return Check("device", f"cpu ({torch.get_num_threads()} threads)")


def _check_embedded_models(load: bool) -> list[Check]:
    from grounding_kit import models

    checks = []
    for name, loader in (("tiny-shapes", models.load_clip), ("tiny-shapes-vqa", models.load_vqa)):
        folder = paths.models_dir() / name
        if not folder.is_dir():
            checks.append(Check(name, f"missing: {folder} (retrain with `grounding-kit train`)", True))
            continue
        if not load:
            checks.append(Check(name, f"present in {folder}"))
            continue
        start = time.perf_counter()
        try:
            loader(name)
        except Exception as err:  # noqa: BLE001 - the doctor reports every failure as one line
            checks.append(Check(name, f"fails to load: {type(err).__name__}: {err}", True))
        else:
            checks.append(Check(name, f"loads in {time.perf_counter() - start:.1f} s from {folder}"))
    return checks


def _check_hub(timeout: float) -> Check:
    verdict = hub.check_hub(timeout)
    if verdict.ok:
        return Check("model hub", f"reachable ({verdict.reason}): real CLIP/ViLT models can be loaded")
    return Check("model hub", f"offline ({verdict.reason}): the embedded tiny models will be used")


def _check_cache() -> Check:
    try:
        folder = paths.cache_dir()
    except paths.CacheDirError as err:
        return Check("cache", f"{err}: results are computed but not cached", problem=True)
    probe = folder / ".doctor-write-test"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        return Check("cache", f"{folder} is not writable ({err})", problem=True)
    return Check("cache", f"{folder} (safe to delete; set GROUNDING_KIT_CACHE to move it)")
