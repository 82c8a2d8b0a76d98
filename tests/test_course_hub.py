"""A class on JupyterHub: ``grounding-kit hub init`` and a small class run through it on loopback."""

from __future__ import annotations

import json
import os
import runpy
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
import requests
import yaml

from conftest import REPO, free_port
from grounding_kit.course import cgroups
from grounding_kit.course import hub as gk_hub

pytest.importorskip("jupyterhub", reason="the class hub needs the kit's [hub] extra")
from grounding_kit.course import hub_spawner, loadtest, nbgrader_plugins  # noqa: E402  (imports jupyterhub)

ASSIGNMENT = "01_grounding_and_clip"  # the in-suite class runs notebook 01; the benchmark runs 02


def settings(**changes) -> gk_hub.ClassSettings:
    values = dict(students=["student01", "student02"], instructors=["teacher"], port=free_port(),
                  hub_port=free_port(), proxy_api_port=free_port())
    values.update(changes)
    return gk_hub.ClassSettings(**values)


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("class") / "hub"
    gk_hub.init_hub(directory, settings(), assignments=[ASSIGNMENT])
    return directory


def load_config(path: Path) -> object:
    """The configuration object Jupyter builds from a configuration file (``jupyterhub_config.py``
    when ``path`` is a folder)."""
    from traitlets.config import Config

    config = Config()
    path = path / "jupyterhub_config.py" if path.is_dir() else path
    runpy.run_path(str(path), init_globals={"get_config": lambda: config})
    return config


def test_init_hub_writes_a_deployment(hub_dir):
    config = load_config(hub_dir)
    cls = json.loads((hub_dir / "class.json").read_text())
    assert config.JupyterHub.spawner_class == "grounding_kit.course.hub_spawner.ClassSpawner"
    # the users' cgroups are where the class run reads their peaks (loadtest._cgroup_peak_mb)
    assert config.ClassSpawner.cgroup_name == hub_spawner.class_cgroup_name(cls["course_id"], hub_dir)
    assert config.Spawner.cmd == [str(Path(sys.prefix) / "bin" / "jupyterhub-singleuser")]
    assert config.Spawner.environment["PATH"].startswith(str(Path(sys.prefix) / "bin"))
    assert config.Spawner.mem_limit == "1G"
    assert config.Authenticator.allowed_users == {"student01", "student02", "teacher"}
    assert config.Authenticator.admin_users == {"teacher"}
    assert config.JupyterHub.load_groups == {"formgrade-grounding-kit": {"users": ["teacher"]},
                                             "nbgrader-grounding-kit": {"users": ["student01", "student02"]}}
    roles = {role["name"]: role for role in config.JupyterHub.load_roles}
    assert "access:servers!group=nbgrader-grounding-kit" in roles["instructor"]["scopes"]
    assert roles["idle-culler"]["services"] == ["idle-culler"]
    culler = config.JupyterHub.services[0]["command"]
    assert culler[1:3] == ["-m", "jupyterhub_idle_culler"] and "--timeout=3600" in culler
    assert config.JupyterHub.bind_url == f"http://127.0.0.1:{cls['port']}"
    assert config.JupyterHub.cleanup_servers is False  # a restarted hub keeps the students' servers
    assert Path(config.ConfigurableHTTPProxy.command[0]).name == "configurable-http-proxy"
    # the exchange is shared: world-writable with the sticky bit (nbgrader then does not warn that it
    # cannot create it), and both nbgrader configurations name it
    mode = (hub_dir / "exchange").stat().st_mode
    assert stat.S_IMODE(mode) == 0o1777
    # one cache for the class, shared as the exchange is
    assert config.Spawner.environment["GROUNDING_KIT_CACHE"] == str(hub_dir / "cache")
    assert stat.S_IMODE((hub_dir / "cache").stat().st_mode) == 0o1777
    for nbgrader_config in (hub_dir / "etc" / "jupyter" / "nbgrader_config.py", hub_dir / "course" / "nbgrader_config.py"):
        loaded = load_config(nbgrader_config)
        assert loaded.Exchange.root == str(hub_dir / "exchange") and loaded.Exchange.path_includes_course is True
        assert loaded.ExchangeFactory.submit in ("grounding_kit.course.nbgrader_plugins.WidgetFreeSubmit",
                                                 nbgrader_plugins.WidgetFreeSubmit)
    assert stat.S_IMODE((hub_dir / "state" / "passwords.json").stat().st_mode) == 0o600
    passwords = json.loads((hub_dir / "state" / "passwords.json").read_text())
    assert len(passwords["instructor_password"]) >= 32 and passwords["student_password"] != passwords["instructor_password"]
    assert (hub_dir / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


def test_instructor_server_opens_in_the_course_folder(hub_dir):
    config = load_config(hub_dir)

    class Spawner:
        def __init__(self, name):
            self.user = type("User", (), {"name": name})()
            self.environment = {}
            self.notebook_dir = ""

    teacher, student = Spawner("teacher"), Spawner("student01")
    config.Spawner.pre_spawn_hook(teacher)
    config.Spawner.pre_spawn_hook(student)
    assert teacher.notebook_dir == str(hub_dir / "course") and teacher.environment["NBGRADER_ROLE"] == "instructor"
    assert student.notebook_dir == "" and "NBGRADER_ROLE" not in student.environment


def test_every_user_nbgrader_config_names_the_student_after_the_hub_user(hub_dir):
    from traitlets.config import Config

    def load(env):
        config = Config()
        old = dict(os.environ)
        os.environ.update(env)
        try:
            runpy.run_path(str(hub_dir / "etc" / "jupyter" / "nbgrader_config.py"),
                           init_globals={"get_config": lambda: config})
        finally:
            os.environ.clear()
            os.environ.update(old)
        return config

    student = load({"JUPYTERHUB_USER": "student02"})
    assert student.CourseDirectory.student_id == "student02"
    assert student.Exchange.root == str(hub_dir / "exchange")
    assert student.Authenticator.plugin_class == "nbgrader.auth.JupyterHubAuthPlugin"
    assert "student_id" not in load({"JUPYTERHUB_USER": "teacher", "NBGRADER_ROLE": "instructor"}).CourseDirectory


def test_zero_to_jupyterhub_values_carry_the_class(hub_dir):
    values = yaml.safe_load((hub_dir / "zero-to-jupyterhub" / "values.yaml").read_text())
    assert values["singleuser"]["memory"] == {"limit": "1G", "guarantee": "1G"}
    assert values["hub"]["config"]["Authenticator"]["allowed_users"] == ["student01", "student02"]
    assert values["cull"] == {"enabled": True, "timeout": 3600, "every": 600}
    nbgrader_config = values["singleuser"]["extraFiles"]["nbgrader-config"]["stringData"]
    mount = values["singleuser"]["storage"]["extraVolumeMounts"][0]["mountPath"]
    assert f'c.Exchange.root = "{mount}"' in nbgrader_config
    claim = values["singleuser"]["storage"]["extraVolumes"][0]["persistentVolumeClaim"]["claimName"]
    volume = yaml.safe_load((hub_dir / "zero-to-jupyterhub" / "exchange-pvc.yaml").read_text())
    assert volume["metadata"]["name"] == claim and volume["spec"]["accessModes"] == ["ReadWriteMany"]
    assert os.access(hub_dir / "zero-to-jupyterhub" / "postBuild", os.X_OK)


@pytest.mark.parametrize("change, message", [
    ({"students": ["Student 1"]}, "user name 'Student 1' is not allowed"),
    ({"instructors": []}, "needs at least one instructor"),
    ({"instructors": ["student01"]}, "a student or an instructor"),
    ({"mem_limit": "lots"}, "mem_limit='lots'"),
    ({"port": 70000}, "port=70000"),
    ({"cull_idle_seconds": 0}, "cull_idle_seconds=0"),
])
def test_bad_settings_are_refused_by_name(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        gk_hub.init_hub(tmp_path / "hub", settings(**change), assignments=[ASSIGNMENT])
    assert not (tmp_path / "hub" / "jupyterhub_config.py").exists()


def test_init_hub_refuses_an_existing_deployment_and_a_missing_proxy(tmp_path, hub_dir, monkeypatch):
    with pytest.raises(FileExistsError, match="already holds a hub"):
        gk_hub.init_hub(hub_dir, settings(), assignments=[ASSIGNMENT])
    with pytest.raises(FileNotFoundError, match="no bin/jupyterhub-singleuser"):
        gk_hub.init_hub(tmp_path / "h", settings(kit_env=str(tmp_path)), assignments=[ASSIGNMENT])
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"npm install --global --prefix {tmp_path} configurable-http-proxy@"):
        gk_hub.find_proxy(tmp_path)


def test_hub_init_command_line(tmp_path):
    command = [sys.executable, "-m", "grounding_kit.cli", "hub", "init", str(tmp_path / "hub"), "--students", "3",
               "--only", ASSIGNMENT, "--port", str(free_port())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert "jupyterhub -f" in result.stdout and "state/passwords.json" in result.stdout
    assert json.loads((tmp_path / "hub" / "class.json").read_text())["students"] == ["student01", "student02",
                                                                                   "student03"]
    again = subprocess.run(command, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
    assert again.returncode == 2 and "already holds a hub" in again.stderr


def test_memory_cgroup_root_finds_v1_and_v2_and_none(tmp_path):
    (tmp_path / "v1" / "memory").mkdir(parents=True)
    (tmp_path / "v1" / "memory" / "memory.limit_in_bytes").write_text("max")
    assert cgroups.memory_cgroup_root(tmp_path / "v1") == (tmp_path / "v1" / "memory", "memory.limit_in_bytes")
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "cgroup.controllers").write_text("cpu io memory pids")
    assert cgroups.memory_cgroup_root(tmp_path / "v2") == (tmp_path / "v2", "memory.max")
    (tmp_path / "none").mkdir()
    assert cgroups.memory_cgroup_root(tmp_path / "none") is None


ALLOCATE = "x = bytearray({mb} * 2**20)\nfor i in range(0, len(x), 4096): x[i] = 1\nprint(len(x) // 2**20)"


def test_class_spawner_caps_each_users_memory(tmp_path):
    """Where the hub can make memory cgroups (root on cgroup v1 or v2), a user's processes run in one
    capped at mem_limit: a process going over it is killed, one under it runs, and the peak the
    class run reports is read from that cgroup."""
    if cgroups.memory_cgroup_root() is None:
        pytest.skip("no writable memory cgroup on this machine (needs root and a cgroup v1 memory hierarchy "
                    "or cgroup v2 with the memory controller): ClassSpawner cannot enforce mem_limit here")
    course = f"test-{os.getpid()}"
    user = type("User", (), {"name": "capped", "escaped_name": "capped", "url": "/user/capped/"})()
    spawner = hub_spawner.ClassSpawner(user=user, mem_limit="64M", cgroup_name=hub_spawner.class_cgroup_name(course, tmp_path),
                                       home_dir_template=str(tmp_path / "{username}"))
    preexec = spawner.make_preexec_fn("capped")
    folder = spawner.user_cgroup()[0]
    try:
        over = subprocess.run([sys.executable, "-c", ALLOCATE.format(mb=256)], preexec_fn=preexec,
                              capture_output=True, text=True, timeout=120)
        assert over.returncode == -9, (over.returncode, over.stdout, over.stderr[-500:])  # the OOM killer's SIGKILL
        under = subprocess.run([sys.executable, "-c", ALLOCATE.format(mb=16)], preexec_fn=preexec,
                               capture_output=True, text=True, timeout=120)
        assert under.returncode == 0 and under.stdout.strip() == "16", under.stderr[-500:]
        assert (tmp_path / "capped").is_dir()  # and the server starts in the user's home folder
        hub = type("Hub", (), {"settings": {"course_id": course}, "directory": tmp_path})()
        peak = loadtest._cgroup_peak_mb(hub, "capped")
        assert peak is not None and 16 < peak <= 64, peak
    finally:
        folder.rmdir()
        folder.parent.rmdir()


def test_arrivals_are_seeded_and_within_the_window():
    times = loadtest.arrival_times(10, 60.0, seed=0)
    assert times == sorted(times) == loadtest.arrival_times(10, 60.0, seed=0)
    assert 0 <= times[0] and times[-1] <= 60 and times != loadtest.arrival_times(10, 60.0, seed=1)
    assert len(set(times)) == 10 and times[-1] - times[0] > 30  # spread over the window, not one instant


@pytest.mark.slow
def test_a_class_of_three_runs_a_homework_cycle_on_the_hub(tmp_path):
    """Three students arrive within 20 s, run notebook 01 in their own kernels and submit; the
    instructor collects and autogrades every submission; nothing is lost; all is stopped by PID."""
    directory = tmp_path / "hub"
    students = gk_hub.student_names(3)
    gk_hub.init_hub(directory, settings(students=students), assignments=[ASSIGNMENT])
    hub = loadtest.RunningHub(directory, env={"PYTHONPATH": str(REPO)})
    with hub:
        run = loadtest.run_class(hub, ASSIGNMENT, students, arrival_seconds=20, deadline_s=1200)
        started = set(hub.started_pids)
    print(run.table())
    summary = run.summary()
    assert summary["failures"] == 0, [s.error for s in run.failures]
    assert summary["submitted"] == summary["submitted_in_exchange"] == summary["collected"] == 3
    assert summary["autograded"] == 3 and set(run.scores) == set(students)
    source = nbformat.read(directory / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    full = sum(c.metadata["nbgrader"].get("points", 0) for c in source.cells
               if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
    assert all(score == full for score in run.scores.values()), run.scores  # the filled solutions pass
    assert all(s.kernel_peak_mb and s.kernel_peak_mb > 100 for s in run.students)
    if cgroups.memory_cgroup_root() is None:  # nothing enforced, nothing measured (the cap test says so)
        assert all(s.user_peak_mb is None for s in run.students)
    else:  # each user's server and kernel ran in their own cgroup, under the class's 1G (the cgroup is
        # charged less than the kernel's VmHWM: shared libraries' pages go to the cgroup that first read them)
        assert all(s.user_peak_mb and 100 < s.user_peak_mb <= 1024 for s in run.students), run.table()
    submitted = nbformat.read(next((directory / "course" / "submitted" / "student01" / ASSIGNMENT).glob("*.ipynb")),
                              as_version=4)
    # what was collected is what the student ran and saved (its widget state: the kernel-kill test)
    assert sum(bool(c.outputs) for c in submitted.cells if c.cell_type == "code") > 5
    assert not [pid for pid in started if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]


# ---------------------------------------------------------------- faults, with nothing lost

def widget_state(size: int) -> dict:
    """Saved widget state as JupyterLab writes it into a notebook's metadata (``size`` characters of it)."""
    return {"application/vnd.jupyter.widget-state+json": {
        "state": {"m1": {"model_name": "IntSliderModel", "model_module": "@jupyter-widgets/controls",
                         "state": {"value": 1, "description": "x" * size}}},
        "version_major": 2, "version_minor": 0}}


def inbound(hub: loadtest.RunningHub, name: str) -> list[Path]:
    """``name``'s submissions of ASSIGNMENT in the exchange."""
    return sorted((hub.directory / "exchange" / hub.settings["course_id"] / "inbound").glob(f"{name}+{ASSIGNMENT}+*"))


@pytest.mark.slow
def test_a_kernel_killed_mid_notebook_loses_nothing_saved(tmp_path):
    """A student's kernel is killed (SIGKILL) halfway through: the notebook saved before is intact,
    the student restarts the kernel, goes on and submits (without the widget state in the copy)."""
    started = time.monotonic()
    gk_hub.init_hub(tmp_path / "hub", settings(students=["student01"]), assignments=[ASSIGNMENT])
    with loadtest.RunningHub(tmp_path / "hub", env={"PYTHONPATH": str(REPO)}) as hub:
        loadtest.release(hub, ASSIGNMENT)
        token = loadtest.login(hub, "student01")
        loadtest.start_server(hub, "student01", token)
        path = loadtest.assignment_path(hub, ASSIGNMENT)
        notebook = loadtest.fetch(hub, "student01", token, ASSIGNMENT)
        notebook.cells[0].source += "\n\nmy note, saved before the kernel died"
        notebook.metadata["widgets"] = widget_state(50_000)
        loadtest.save_notebook(hub, "student01", token, path, notebook)
        saved = loadtest.load_notebook(hub, "student01", token, path)

        session, kernel = loadtest.open_kernel(hub, "student01", token, path, timeout=120)
        try:
            assert kernel.execute("answer = 41") == ("ok", [])
            status, outputs = kernel.execute("import os; print(os.getpid())")
            pid = int(outputs[0]["text"])
            os.kill(pid, signal.SIGKILL)  # the kernel dies mid-notebook (out of memory, say)
        finally:
            kernel.close()
        kernel_url = f"{loadtest.server_url(hub, 'student01')}/api/kernels/{session['kernel']['id']}"
        restarted = requests.post(f"{kernel_url}/restart", headers=hub.headers(token), timeout=120)
        assert restarted.status_code == 200, restarted.text[:300]
        kernel = loadtest.connect_kernel(hub, "student01", token, session["kernel"]["id"], timeout=120)
        try:
            status, outputs = kernel.execute("print(os.getpid())")
            assert status == "error" and outputs[0]["ename"] == "NameError"  # a fresh kernel: its state went
            status, outputs = kernel.execute("import os; answer = 42; print(os.getpid(), answer)")
            assert status == "ok" and outputs[0]["text"].split()[1] == "42" and int(outputs[0]["text"].split()[0]) != pid
        finally:
            kernel.close()
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"

        after = loadtest.load_notebook(hub, "student01", token, path)
        assert after == saved and "my note, saved before the kernel died" in after.cells[0].source
        after.cells[1].source += "\n# finished after the restart"
        loadtest.save_notebook(hub, "student01", token, path, after)
        loadtest.submit(hub, "student01", token, ASSIGNMENT)
        submission = inbound(hub, "student01")
        assert len(submission) == 1
        sent = nbformat.read(submission[0] / f"{ASSIGNMENT}.ipynb", as_version=4)
        assert [c.source for c in sent.cells] == [c.source for c in after.cells]  # what they saved last
        assert "widgets" not in sent.metadata  # the exchange's copy keeps no widget state
        assert "widgets" in loadtest.load_notebook(hub, "student01", token, path).metadata  # theirs: kept
    print(f"\nkernel killed mid-notebook: {time.monotonic() - started:.0f} s")


@pytest.mark.slow
def test_a_hub_restarted_mid_class_loses_no_server_and_no_submission(tmp_path):
    """The hub process is restarted while one student has submitted and another is working: the
    running servers survive and are reached through the proxy as before (the kernel keeps its
    state), and every submission, before and after the restart, is in the exchange and collected."""
    started = time.monotonic()
    students = ["student01", "student02"]
    gk_hub.init_hub(tmp_path / "hub", settings(students=students), assignments=[ASSIGNMENT])
    with loadtest.RunningHub(tmp_path / "hub", env={"PYTHONPATH": str(REPO)}) as hub:
        loadtest.release(hub, ASSIGNMENT)
        tokens = {name: loadtest.login(hub, name) for name in students}
        for name in students:
            loadtest.start_server(hub, name, tokens[name])
            loadtest.fetch(hub, name, tokens[name], ASSIGNMENT)
        loadtest.submit(hub, "student01", tokens["student01"], ASSIGNMENT)
        session, kernel = loadtest.open_kernel(hub, "student02", tokens["student02"],
                                               loadtest.assignment_path(hub, ASSIGNMENT), timeout=120)
        try:
            assert kernel.execute("work = 7")[0] == "ok"
        finally:
            kernel.close()
        servers = {p.pid for name in students for p in user_processes(hub, name)}
        assert servers

        hub.restart()  # the hub alone: its proxy and the students' servers keep running

        assert servers <= {p.pid for name in students for p in user_processes(hub, name)}
        for name in students:
            user = requests.get(f"{hub.api}/users/{name}", headers=hub.headers(), timeout=30).json()
            assert user["servers"][""]["ready"], user
            status = requests.get(f"{loadtest.server_url(hub, name)}/api/status", headers=hub.headers(tokens[name]),
                                  timeout=30)
            assert status.status_code == 200, (name, status.status_code)
        kernel = loadtest.connect_kernel(hub, "student02", tokens["student02"], session["kernel"]["id"], timeout=120)
        try:
            status, outputs = kernel.execute("print(work)")
            assert status == "ok" and outputs[0]["text"].strip() == "7"  # the kernel kept its state
        finally:
            kernel.close()
        # the feedback pages' MathJax is what each server serves (jupyter-server-mathjax)
        mathjax = requests.get(f"{loadtest.server_url(hub, 'student02')}/static/jupyter_server_mathjax/MathJax.js",
                               timeout=30)
        assert mathjax.status_code == 200 and "MathJax" in mathjax.text[:5000]
        loadtest.submit(hub, "student02", tokens["student02"], ASSIGNMENT)
        assert all(len(inbound(hub, name)) == 1 for name in students)
        assert loadtest.collect(hub, ASSIGNMENT, students) == 2
    print(f"\nhub restarted mid-class: {time.monotonic() - started:.0f} s")


def user_processes(hub: loadtest.RunningHub, name: str) -> list:
    """The processes of ``name``'s server: those whose working folder is their home folder."""
    home = str(hub.directory / "homes" / name)
    found = []
    for process in psutil.process_iter(["cwd", "cmdline"]):
        if process.info["cwd"] == home and "jupyterhub-singleuser" in " ".join(process.info["cmdline"] or ()):
            found.append(process)
    return found
