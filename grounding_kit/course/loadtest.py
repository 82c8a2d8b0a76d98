"""A class at once, simulated on loopback: students log in, start servers, run a notebook, submit.

A small driver over JupyterHub's REST API, the Jupyter server's REST and websocket API and
nbgrader's assignment-list API, the same requests a student's browser makes. It is bounded: a
fixed list of students, each arriving once at a seeded time in ``arrival_seconds``, every step
under a deadline; it stops by itself and stops what it started by PID.

    with RunningHub(hub_dir) as hub:
        run = run_class(hub, "01_grounding_and_clip", students=["student01", "student02"])
    print(run.table())

Each step of a student's (:func:`login`, :func:`start_server`, :func:`fetch`, :func:`save_notebook`,
:func:`open_kernel`, :func:`submit`) is a function of its own, so that a test can put a fault
between two of them (a killed kernel, :meth:`RunningHub.restart`).

The instructor's side (release, collect, autograde) runs nbgrader's own commands in the course
folder with the instructor's hub token, as an instructor does in a terminal on the hub.
(A locust or hubtraf user would do the same requests; neither adds to a one-shot class, and
locust's gevent patching does not mix with the websocket client.)
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import threading
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import nbformat
import psutil
import requests
import websocket

from grounding_kit.course.cgroups import memory_cgroup_root, peak_file
from grounding_kit.course.hub_spawner import class_cgroup_name
from grounding_kit.course.nbgrader import filled_submission

PEAK_CODE = ("print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")


class RunningHub:
    """A class hub started from its folder, and stopped, with everything it started, by PID.

    Parameters
    ----------
    directory : a folder written by :func:`grounding_kit.course.hub.init_hub`.
    env : extra environment for the hub (e.g. ``PYTHONPATH`` of a kit checkout).
    start_timeout : seconds to wait for the hub's API.

    Raises
    ------
    FileNotFoundError
        ``directory`` holds no ``jupyterhub_config.py``.
    RuntimeError
        The hub did not answer within ``start_timeout`` (its log's last lines are in the message).
    """

    def __init__(self, directory: str | os.PathLike, *, env: dict[str, str] | None = None,
                 start_timeout: float = 90.0) -> None:
        self.directory = Path(directory).resolve()
        if not (self.directory / "jupyterhub_config.py").is_file():
            raise FileNotFoundError(f"{self.directory} holds no jupyterhub_config.py; write it with "
                                    "`grounding-kit hub init`")
        self.settings = json.loads((self.directory / "class.json").read_text(encoding="utf-8"))
        self.passwords = json.loads((self.directory / "state" / "passwords.json").read_text(encoding="utf-8"))
        self.url = f"http://{self.settings['ip']}:{self.settings['port']}"
        self.api = f"http://127.0.0.1:{self.settings['hub_port']}/hub/api"
        self.env = {**os.environ, **(env or {})}
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.log_path = self.directory / "state" / "hub.log"
        self.token = ""
        self.started_pids: set[int] = set()

    @property
    def jupyterhub(self) -> str:
        return str(Path(self.settings["kit_env"]) / "bin" / "jupyterhub")

    def instructor_token(self) -> str:
        """An API token of the first instructor (an admin), from ``jupyterhub token``."""
        result = subprocess.run([self.jupyterhub, "token", "-f", "jupyterhub_config.py",
                                 self.settings["instructors"][0]], cwd=self.directory, env=self.env,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"jupyterhub token failed: {result.stderr[-2000:]}")
        return result.stdout.strip().splitlines()[-1]

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"token {token or self.token}"}

    def start(self) -> "RunningHub":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.jupyterhub, "-f", "jupyterhub_config.py"], cwd=self.directory,
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.started_pids.add(self.proc.pid)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    if not self.token:
                        self.token = self.instructor_token()
                    self._remember_children()
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"the hub in {self.directory} did not start within {self.start_timeout} s:\n{tail}")

    def _remember_children(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.started_pids |= {p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)}
            except psutil.NoSuchProcess:
                pass

    def restart(self) -> None:
        """Stop the hub process alone (the users' servers keep running) and start it again."""
        self._remember_children()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.start()

    def stop_servers(self) -> None:
        """Stop every user's server through the hub's API (the hub waits for each to end)."""
        if self.proc is None or self.proc.poll() is not None or not self.token:
            return
        self._remember_children()
        users = requests.get(f"{self.api}/users", headers=self.headers(), timeout=30).json()
        for user in users:
            if user.get("servers"):
                requests.delete(f"{self.api}/users/{user['name']}/server", headers=self.headers(), timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            users = requests.get(f"{self.api}/users", headers=self.headers(), timeout=30).json()
            if not any(user.get("servers") for user in users):
                return
            time.sleep(1)

    def stop(self) -> None:
        """Stop the servers, the hub and its proxy; then end any process it started that is left, by PID."""
        try:
            self.stop_servers()
        except requests.RequestException:
            pass
        self._remember_children()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        proxy_pid = self.directory / "state" / "proxy.pid"
        if proxy_pid.is_file() and proxy_pid.read_text().strip().isdigit():
            self.started_pids.add(int(proxy_pid.read_text()))
        for pid in sorted(self.started_pids):
            try:
                process = psutil.Process(pid)
                process.terminate()
                process.wait(timeout=10)
            except psutil.TimeoutExpired:
                process.kill()
            except psutil.NoSuchProcess:
                pass

    def __enter__(self) -> "RunningHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ the instructor's commands
    def instructor_env(self) -> dict[str, str]:
        kit_bin = Path(self.settings["kit_env"]) / "bin"
        return {**self.env, "PATH": f"{kit_bin}:{self.env.get('PATH', '')}", "HF_HUB_OFFLINE": "1",
                "JUPYTER_CONFIG_PATH": str(self.directory / "etc" / "jupyter"), "NBGRADER_ROLE": "instructor",
                "JUPYTERHUB_USER": self.settings["instructors"][0], "JUPYTERHUB_API_TOKEN": self.token,
                "JUPYTERHUB_API_URL": self.api, "OMP_NUM_THREADS": str(self.settings["threads_per_kernel"])}

    def nbgrader(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        """Run ``nbgrader ARGS`` in the course folder as the instructor; raise RuntimeError if it fails."""
        nbgrader = str(Path(self.settings["kit_env"]) / "bin" / "nbgrader")
        result = subprocess.run([nbgrader, *args], cwd=self.directory / "course", env=self.instructor_env(),
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
        return result


# ---------------------------------------------------------------- one student
@dataclass
class StudentResult:
    """What happened to one simulated student (seconds; None where the step was not reached)."""

    name: str
    arrived_s: float
    login_s: float | None = None
    spawn_s: float | None = None
    notebook_s: float | None = None
    cells: int = 0
    kernel_peak_mb: float | None = None
    user_peak_mb: float | None = None
    submitted: bool = False
    error: str | None = None


def _decode_frame(frame: str | bytes) -> dict:
    """A kernel message from a websocket frame: JSON text, or (with binary buffers, e.g. widget
    comms) Jupyter's binary framing: a big-endian count n, n offsets, the JSON, then the buffers."""
    if isinstance(frame, str):
        return json.loads(frame)
    count = int.from_bytes(frame[:4], "big")
    offsets = [int.from_bytes(frame[4 * (i + 1):4 * (i + 2)], "big") for i in range(count)]
    return json.loads(frame[offsets[0]:offsets[1] if count > 1 else len(frame)])


class KernelClient:
    """Execute code in a server's kernel over its websocket (the channels a notebook page uses)."""

    def __init__(self, ws_url: str, headers: dict[str, str], timeout: float) -> None:
        self.ws = websocket.create_connection(ws_url, header=[f"{k}: {v}" for k, v in headers.items()],
                                              timeout=timeout)
        self.session = uuid.uuid4().hex

    def execute(self, code: str) -> tuple[str, list]:
        """Run ``code``; return (``"ok"`` or ``"error"``, its nbformat outputs)."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": self.session,
                       "username": "student", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        outputs, status, idle = [], None, False
        while status is None or not idle:
            msg = _decode_frame(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if msg["channel"] == "shell" and kind == "execute_reply":
                status = msg["content"]["status"]
            elif kind == "status":
                idle = msg["content"]["execution_state"] == "idle"
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(msg))
            elif kind == "clear_output":
                outputs.clear()
        return status, outputs

    def close(self) -> None:
        self.ws.close()


def _cgroup_peak_mb(hub: RunningHub, name: str) -> float | None:
    found = memory_cgroup_root()
    if found is None:
        return None
    path = found[0] / class_cgroup_name(hub.settings["course_id"], hub.directory) / name / peak_file(found[1])
    return int(path.read_text()) / 2**20 if path.is_file() else None


def login(hub: RunningHub, name: str) -> str:
    """Log ``name`` in with the class password, as the login page does; return an API token of theirs
    (made by their own session, as JupyterLab's token page makes one), valid two hours."""
    http = requests.Session()
    http.get(f"{hub.url}/hub/login", timeout=60)
    answer = http.post(f"{hub.url}/hub/login", allow_redirects=False, timeout=60,
                       data={"username": name, "password": hub.passwords["student_password"],
                             "_xsrf": http.cookies.get("_xsrf", path="/hub/")})
    if answer.status_code != 302:
        raise RuntimeError(f"login of {name} answered {answer.status_code}")
    made = http.post(f"{hub.url}/hub/api/users/{name}/tokens", json={"note": "class", "expires_in": 7200},
                     headers={"X-XSRFToken": http.cookies.get("_xsrf", path="/hub/")}, timeout=60)
    made.raise_for_status()
    return made.json()["token"]


def start_server(hub: RunningHub, name: str, token: str, timeout: float = 300) -> None:
    """Start ``name``'s server through the hub's API and wait until the hub calls it ready."""
    start = time.monotonic()
    spawn = requests.post(f"{hub.url}/hub/api/users/{name}/server", headers=hub.headers(token), timeout=120)
    if spawn.status_code not in (201, 202):
        raise RuntimeError(f"starting the server answered {spawn.status_code}: {spawn.text[:200]}")
    while True:
        user = requests.get(f"{hub.url}/hub/api/users/{name}", headers=hub.headers(token), timeout=60).json()
        server = user.get("servers", {}).get("")
        if server and server.get("ready"):
            return
        if time.monotonic() - start > timeout or (server is None and spawn.status_code == 202
                                                  and time.monotonic() - start > 5):
            raise RuntimeError(f"server not ready after {time.monotonic() - start:.0f} s")
        time.sleep(0.5)


def server_url(hub: RunningHub, name: str) -> str:
    """``name``'s server, through the hub's proxy (as the student's browser reaches it)."""
    return f"{hub.url}/user/{name}"


def assignment_path(hub: RunningHub, assignment: str) -> str:
    """Where nbgrader's fetch puts ``assignment``'s notebook in a student's folder (the contents API path)."""
    return f"{hub.settings['course_id']}/{assignment}/{assignment}.ipynb"


def fetch(hub: RunningHub, name: str, token: str, assignment: str) -> nbformat.NotebookNode:
    """Fetch ``assignment`` into ``name``'s folder (nbgrader's assignment list) and return its notebook."""
    query = {"course_id": hub.settings["course_id"], "assignment_id": assignment}
    requests.post(f"{server_url(hub, name)}/assignments/fetch", params=query, headers=hub.headers(token),
                  timeout=300).raise_for_status()
    return load_notebook(hub, name, token, assignment_path(hub, assignment))


def load_notebook(hub: RunningHub, name: str, token: str, path: str) -> nbformat.NotebookNode:
    """The notebook at ``path`` in ``name``'s folder, through the server's contents API."""
    got = requests.get(f"{server_url(hub, name)}/api/contents/{path}", headers=hub.headers(token), timeout=60)
    got.raise_for_status()
    return nbformat.from_dict(got.json()["content"])


def save_notebook(hub: RunningHub, name: str, token: str, path: str, notebook: nbformat.NotebookNode) -> None:
    """Save ``notebook`` at ``path`` in ``name``'s folder, as JupyterLab's save does (contents API)."""
    requests.put(f"{server_url(hub, name)}/api/contents/{path}", headers=hub.headers(token), timeout=120,
                 json={"type": "notebook", "format": "json", "content": notebook}).raise_for_status()


def open_kernel(hub: RunningHub, name: str, token: str, path: str, timeout: float = 900) -> tuple[dict, KernelClient]:
    """Open the notebook at ``path`` with a new kernel (a session); return the session and a client of its kernel."""
    session = requests.post(f"{server_url(hub, name)}/api/sessions", headers=hub.headers(token), timeout=120,
                            json={"path": path, "name": Path(path).name, "type": "notebook",
                                  "kernel": {"name": "python3"}})
    session.raise_for_status()
    return session.json(), connect_kernel(hub, name, token, session.json()["kernel"]["id"], timeout)


def connect_kernel(hub: RunningHub, name: str, token: str, kernel_id: str, timeout: float = 900) -> KernelClient:
    """A client of kernel ``kernel_id`` of ``name``'s server, over its websocket through the proxy."""
    ws_url = server_url(hub, name).replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
    return KernelClient(ws_url, hub.headers(token), timeout)


def submit(hub: RunningHub, name: str, token: str, assignment: str) -> None:
    """Submit ``assignment`` from ``name``'s folder (nbgrader's assignment list); raise RuntimeError if refused."""
    query = {"course_id": hub.settings["course_id"], "assignment_id": assignment}
    answer = requests.post(f"{server_url(hub, name)}/assignments/submit", params=query, headers=hub.headers(token),
                           timeout=300)
    answer.raise_for_status()
    reply = answer.json()
    if isinstance(reply, dict) and not reply.get("success", True):
        raise RuntimeError(f"submit failed: {str(reply.get('value', reply))[:300]}")


def run_student(hub: RunningHub, name: str, assignment: str, source: nbformat.NotebookNode,
                arrived_s: float, *, cell_timeout: float = 900, spawn_timeout: float = 300) -> StudentResult:
    """One student's visit: log in, start the server, fetch, run every cell, save, submit."""
    result = StudentResult(name=name, arrived_s=round(arrived_s, 2))
    try:
        start = time.monotonic()
        token = login(hub, name)
        result.login_s = round(time.monotonic() - start, 2)

        start = time.monotonic()
        start_server(hub, name, token, spawn_timeout)
        result.spawn_s = round(time.monotonic() - start, 2)

        notebook = filled_submission(fetch(hub, name, token, assignment), source)
        path = assignment_path(hub, assignment)
        start = time.monotonic()
        session, kernel = open_kernel(hub, name, token, path, cell_timeout)
        try:
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                status, cell.outputs = kernel.execute(cell.source)
                result.cells += 1
                if status != "ok":
                    error = next((o for o in cell.outputs if o.output_type == "error"), {})
                    result.error = f"cell {index}: {error.get('ename', status)}: {error.get('evalue', '')}"[:300]
                    break
            result.notebook_s = round(time.monotonic() - start, 2)
            status, outputs = kernel.execute(PEAK_CODE)
            if status == "ok":
                result.kernel_peak_mb = round(int(outputs[0]["text"].strip()) / 1024, 1)
        finally:
            kernel.close()
        result.user_peak_mb = _cgroup_peak_mb(hub, name)
        if result.user_peak_mb is not None:
            result.user_peak_mb = round(result.user_peak_mb, 1)
        save_notebook(hub, name, token, path, notebook)
        requests.delete(f"{server_url(hub, name)}/api/sessions/{session['id']}", headers=hub.headers(token),
                        timeout=60)
        submit(hub, name, token, assignment)
        result.submitted = True
    except Exception as err:  # the run records every failure and goes on with the other students
        where = traceback.extract_tb(err.__traceback__)[-1]
        result.error = result.error or f"{type(err).__name__}: {err} (line {where.lineno})"[:300]
    return result


# ---------------------------------------------------------------- the class
@dataclass
class ClassRun:
    """A class's run: every student's result and the instructor's collection and grading."""

    assignment: str
    students: list[StudentResult]
    submitted_in_exchange: int = 0
    collected: int = 0
    autograded: int = 0
    scores: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def failures(self) -> list[StudentResult]:
        return [s for s in self.students if s.error]

    def summary(self) -> dict:
        """Medians and 95th percentiles of the timings, peaks, failures and the submission counts."""
        def stats(values: list[float]) -> dict:
            if not values:
                return {"median": None, "p95": None, "max": None}
            ordered = sorted(values)
            return {"median": round(statistics.median(ordered), 2),
                    "p95": round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 2),
                    "max": round(ordered[-1], 2)}
        pick = lambda attr: [getattr(s, attr) for s in self.students if getattr(s, attr) is not None]  # noqa: E731
        return {"assignment": self.assignment, "students": len(self.students), "wall_s": round(self.wall_s, 1),
                "login_s": stats(pick("login_s")), "spawn_s": stats(pick("spawn_s")),
                "notebook_s": stats(pick("notebook_s")), "kernel_peak_mb": stats(pick("kernel_peak_mb")),
                "user_peak_mb": stats(pick("user_peak_mb")), "failures": len(self.failures),
                "submitted": sum(s.submitted for s in self.students),
                "submitted_in_exchange": self.submitted_in_exchange, "collected": self.collected,
                "autograded": self.autograded}

    def table(self) -> str:
        """One row per student, then the summary."""
        rows = ["student    arrive  login  spawn  notebook  kernel_MB  user_MB  submitted  error"]
        fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
        for s in self.students:
            rows.append(f"{s.name:<10} {s.arrived_s:6.1f} {fmt(s.login_s):>6} {fmt(s.spawn_s):>6} "
                        f"{fmt(s.notebook_s):>9} {fmt(s.kernel_peak_mb):>10} {fmt(s.user_peak_mb):>8} "
                        f"{str(s.submitted):>10}  {s.error or ''}")
        rows.append(json.dumps(self.summary(), indent=1))
        return "\n".join(rows)

    def to_json(self) -> dict:
        return {"summary": self.summary(), "students": [asdict(s) for s in self.students], "scores": self.scores}


def release(hub: RunningHub, assignment: str) -> None:
    """The instructor releases ``assignment`` to the exchange (nbgrader generate + release)."""
    hub.nbgrader("generate_assignment", assignment, "--force")
    hub.nbgrader("release_assignment", assignment, "--force")


def collect(hub: RunningHub, assignment: str, students: Sequence[str]) -> int:
    """The instructor collects ``assignment`` from the exchange; return how many of ``students`` it holds."""
    hub.nbgrader("collect", assignment, "--update")
    course = hub.directory / "course"
    return sum((course / "submitted" / name / assignment).is_dir() for name in students)


def collect_and_grade(hub: RunningHub, assignment: str,
                      students: Sequence[str]) -> tuple[int, int, dict[str, float]]:
    """The instructor collects and autogrades; return ``students``' (collected, autograded, {student: score})."""
    from nbgrader.api import Gradebook

    collected = collect(hub, assignment, students)
    course = hub.directory / "course"
    hub.nbgrader("autograde", assignment, timeout=3600)
    autograded = sum((course / "autograded" / name / assignment).is_dir() for name in students)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s.student.id: s.score for s in gradebook.assignment_submissions(assignment)
                  if s.student.id in students}
    return collected, autograded, scores


def arrival_times(count: int, arrival_seconds: float, seed: int = 0) -> list[float]:
    """``count`` seeded arrival offsets in [0, arrival_seconds], sorted (a class trickling in)."""
    generator = random.Random(seed)
    return sorted(generator.uniform(0, arrival_seconds) for _ in range(count))


def run_class(hub: RunningHub, assignment: str, students: Sequence[str], *, arrival_seconds: float = 60.0,
              seed: int = 0, deadline_s: float = 1800, grade: bool = True) -> ClassRun:
    """Release ``assignment``, let ``students`` arrive and work, then collect and autograde.

    Parameters
    ----------
    hub : a started :class:`RunningHub`.
    assignment : an assignment of the hub's course (a notebook stem with exercises).
    students : hub user names (students of the class).
    arrival_seconds : the students arrive at seeded times spread over this many seconds.
    seed : the arrival times' seed.
    deadline_s : the whole class ends by then: a student still working is recorded as failed.
    grade : collect and autograde after the class.

    Raises
    ------
    ValueError
        A student is not in the class, or ``assignment`` is not in its course.
    """
    unknown = sorted(set(students) - set(hub.settings["students"]))
    if unknown:
        raise ValueError(f"students {unknown} are not in the class {hub.directory} "
                         f"(it has {len(hub.settings['students'])}: {hub.settings['students'][:3]}...)")
    source_path = hub.directory / "course" / "source" / assignment / f"{assignment}.ipynb"
    if not source_path.is_file():
        raise ValueError(f"assignment {assignment!r} is not in the course: no {source_path}")
    source = nbformat.read(source_path, as_version=4)
    release(hub, assignment)
    started = time.monotonic()
    results: dict[str, StudentResult] = {}
    offsets = arrival_times(len(students), arrival_seconds, seed)

    def visit(name: str, offset: float) -> None:
        time.sleep(max(0.0, offset - (time.monotonic() - started)))
        results[name] = run_student(hub, name, assignment, source, time.monotonic() - started)

    threads = [threading.Thread(target=visit, args=pair, daemon=True) for pair in zip(students, offsets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline_s - (time.monotonic() - started)))
    run = ClassRun(assignment=assignment, students=[
        results.get(name) or StudentResult(name=name, arrived_s=round(offset, 2), error="deadline passed")
        for name, offset in zip(students, offsets)])
    inbound = hub.directory / "exchange" / hub.settings["course_id"] / "inbound"
    run.submitted_in_exchange = sum(any(inbound.glob(f"{name}+{assignment}+*")) for name in students)
    if grade:
        run.collected, run.autograded, run.scores = collect_and_grade(hub, assignment, students)
    run.wall_s = time.monotonic() - started
    return run
