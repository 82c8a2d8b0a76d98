"""A class on JupyterHub: ``grounding-kit hub init`` and a small class run through it on loopback."""

from __future__ import annotations

import json
import os
import runpy
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import NOTEBOOKS, REPO
from grounding_kit.course import hub as gk_hub

pytest.importorskip("jupyterhub", reason="the class hub needs the kit's [hub] extra")
from grounding_kit.course import hub_spawner, loadtest, nbgrader_plugins  # noqa: E402  (imports jupyterhub)

ASSIGNMENT = "01_grounding_and_clip"  # the in-suite class runs notebook 01; the benchmark runs 02


def settings(**changes) -> gk_hub.ClassSettings:
    values = dict(students=["student01", "student02"], instructors=["teacher"], port=loadtest.free_port(),
                  hub_port=loadtest.free_port(), proxy_api_port=loadtest.free_port())
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
    assert config.ClassSpawner.cgroup_name == hub_spawner.class_cgroup_name(cls["course_id"])
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
               "--only", ASSIGNMENT, "--port", str(loadtest.free_port())]
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
    assert hub_spawner.memory_cgroup_root(tmp_path / "v1") == (tmp_path / "v1" / "memory", "memory.limit_in_bytes")
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "cgroup.controllers").write_text("cpu io memory pids")
    assert hub_spawner.memory_cgroup_root(tmp_path / "v2") == (tmp_path / "v2", "memory.max")
    (tmp_path / "none").mkdir()
    assert hub_spawner.memory_cgroup_root(tmp_path / "none") is None


ALLOCATE = "x = bytearray({mb} * 2**20)\nfor i in range(0, len(x), 4096): x[i] = 1\nprint(len(x) // 2**20)"


def test_class_spawner_caps_each_users_memory(tmp_path):
    """Where the hub can make memory cgroups (root on cgroup v1 or v2), a user's processes run in one
    capped at mem_limit: a process going over it is killed, one under it runs, and the peak the
    class run reports is read from that cgroup."""
    if hub_spawner.memory_cgroup_root() is None:
        pytest.skip("no writable memory cgroup on this machine (needs root and a cgroup v1 memory hierarchy "
                    "or cgroup v2 with the memory controller): ClassSpawner cannot enforce mem_limit here")
    course = f"test-{os.getpid()}"
    user = type("User", (), {"name": "capped", "escaped_name": "capped", "url": "/user/capped/"})()
    spawner = hub_spawner.ClassSpawner(user=user, mem_limit="64M", cgroup_name=hub_spawner.class_cgroup_name(course),
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
        peak = loadtest._cgroup_peak_mb({"course_id": course}, "capped")
        assert peak is not None and 16 < peak <= 64, peak
    finally:
        folder.rmdir()
        folder.parent.rmdir()


def test_arrivals_are_seeded_and_within_the_window():
    times = loadtest.arrival_times(10, 60.0, seed=0)
    assert times == sorted(times) == loadtest.arrival_times(10, 60.0, seed=0)
    assert 0 <= times[0] and times[-1] <= 60 and times != loadtest.arrival_times(10, 60.0, seed=1)


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
    if hub_spawner.memory_cgroup_root() is None:  # nothing enforced, nothing measured (the cap test says so)
        assert all(s.user_peak_mb is None for s in run.students)
    else:  # each user's server and kernel ran in their own cgroup, under the class's 1G
        assert all(s.kernel_peak_mb < s.user_peak_mb <= 1024 for s in run.students), run.table()
    submitted = nbformat.read(next((directory / "course" / "submitted" / "student01" / ASSIGNMENT).glob("*.ipynb")),
                              as_version=4)
    assert "widgets" not in submitted.metadata  # submissions keep no widget state
    import psutil
    assert not [pid for pid in started if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
