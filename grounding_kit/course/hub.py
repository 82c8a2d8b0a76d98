"""A JupyterHub for a class: ``grounding-kit hub init DIR`` writes the deployment folder.

The folder it writes::

    DIR/jupyterhub_config.py         JupyterHub: the kit's environment as every user's kernel,
                                     instructor and student roles, idle culler, memory limit
    DIR/class.json                   the class: course id, who teaches, who takes it, limits, ports
    DIR/state/passwords.json         the login passwords and the proxy's token (mode 600)
    DIR/etc/jupyter/nbgrader_config.py   what every user's nbgrader reads: course, shared exchange
    DIR/course/                      the nbgrader course (``grounding-kit course init``), the
                                     instructor's server opens here (Formgrader needs that)
    DIR/exchange/                    nbgrader's exchange, shared by every user (mode 1777)
    DIR/cache/                       the kit's cache, shared by every user (GROUNDING_KIT_CACHE)
    DIR/homes/<user>/                each user's home folder, made at the first start
    DIR/zero-to-jupyterhub/          for a large class: values.yaml for the Zero to JupyterHub
                                     Helm chart, exchange-pvc.yaml (the shared exchange volume)
                                     and postBuild (the image recipe's step after environment.yml)

The templates are package data in ``grounding_kit/course/templates/hub/``; the deployment is
explained step by step in ``docs/instructor.md``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import string
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from grounding_kit.course.nbgrader import COURSE_ID, init_course
from grounding_kit.course.sources import REPO_NOTEBOOKS

TEMPLATES = Path(__file__).parent / "templates" / "hub"
PROXY = "configurable-http-proxy"
#: the npm package and version the kit installs (``make hub-proxy``)
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
_MEMORY = re.compile(r"^\d+(\.\d+)?[KMGT]$")


@dataclass
class ClassSettings:
    """The settings of a class hub, written to ``DIR/class.json`` and read by its configuration.

    Attributes
    ----------
    students, instructors : hub user names (lower-case letters, digits, ``.``, ``_``, ``-``).
    course_id : nbgrader's course id; the hub groups are ``nbgrader-<id>`` and ``formgrade-<id>``.
    mem_limit : memory per user (server and kernels together), JupyterHub's ``"1G"`` notation.
    cpu_limit : cores per user (enforced by SystemdSpawner / KubeSpawner, advisory here).
    cull_idle_seconds : a server idle this long is stopped by jupyterhub-idle-culler.
    ip, port : where the hub's proxy listens for the class (``127.0.0.1`` for loopback only).
    hub_port, proxy_api_port : the hub's and the proxy's internal ports (127.0.0.1).
    concurrent_spawn_limit, active_server_limit : JupyterHub's limits on starting/running servers.
    threads_per_kernel : ``OMP_NUM_THREADS`` of each kernel (1 keeps a shared machine fair).
    kit_env : the Python environment with the kit installed (its ``bin/jupyterhub-singleuser``).
    proxy_command : the ``configurable-http-proxy`` executable.
    """

    students: list[str]
    instructors: list[str] = field(default_factory=lambda: ["instructor"])
    course_id: str = COURSE_ID
    mem_limit: str = "1G"
    cpu_limit: float = 1.0
    cull_idle_seconds: int = 3600
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    concurrent_spawn_limit: int = 100
    active_server_limit: int = 0
    threads_per_kernel: int = 1
    kit_env: str = field(default_factory=lambda: sys.prefix)
    proxy_command: str = ""

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        names = [*self.students, *self.instructors]
        for name in names:
            if not isinstance(name, str) or not _NAME.match(name):
                raise ValueError(f"user name {name!r} is not allowed; expected 1-32 lower-case letters, digits, "
                                 "'.', '_' or '-', starting with a letter or digit")
        if not self.instructors:
            raise ValueError("instructors is empty; a class needs at least one instructor")
        both = sorted(set(self.students) & set(self.instructors))
        if both or len(set(names)) != len(names):
            raise ValueError(f"each user is a student or an instructor, once; repeated: {both or names}")
        if not _MEMORY.match(self.mem_limit):
            raise ValueError(f"mem_limit={self.mem_limit!r}; expected a size like '1G' or '512M'")
        for port_name in ("port", "hub_port", "proxy_api_port"):
            port = getattr(self, port_name)
            if not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"{port_name}={port!r}; expected a TCP port in 1..65535")
        if len({self.port, self.hub_port, self.proxy_api_port}) != 3:
            raise ValueError(f"port, hub_port and proxy_api_port must differ, got "
                             f"{self.port}, {self.hub_port}, {self.proxy_api_port}")
        for name in ("cull_idle_seconds", "threads_per_kernel"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r}; expected a positive integer")
        if not (Path(self.kit_env) / "bin" / "jupyterhub-singleuser").is_file():
            raise FileNotFoundError(f"kit_env={self.kit_env}: no bin/jupyterhub-singleuser there; install the "
                                    "kit's hub extra into that environment: pip install 'grounding_kit[hub]'")


def find_proxy(kit_env: str | os.PathLike = sys.prefix) -> str:
    """The ``configurable-http-proxy`` executable: the kit environment's ``bin/`` first, then PATH.

    Raises
    ------
    FileNotFoundError
        It is installed in neither; the message gives the npm command that installs it there.
    """
    found = shutil.which(PROXY, path=os.pathsep.join([str(Path(kit_env) / "bin"), os.environ.get("PATH", "")]))
    if found is None:
        raise FileNotFoundError(f"{PROXY} (npm) is not installed; install it into the kit's environment with "
                                f"`npm install --global --prefix {kit_env} {PROXY_PACKAGE}` (make hub-proxy)")
    return found


def student_names(count: int, prefix: str = "student") -> list[str]:
    """``count`` user names ``student01``, ``student02``, ... (zero-padded to at least two digits)."""
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count={count!r}; expected a positive number of students")
    width = max(2, len(str(count)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def _render(template: str, **values: object) -> str:
    return string.Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)


def init_hub(directory: str | os.PathLike, settings: ClassSettings, *, notebooks_dir: Path = REPO_NOTEBOOKS,
             assignments: Sequence[str] | None = None, force: bool = False) -> dict[str, Path]:
    """Write a class hub's folder (see the module docstring); return ``{what: path}`` of what it wrote.

    Parameters
    ----------
    directory : the deployment folder (made if missing).
    settings : the class; validated first.
    notebooks_dir : the built course notebooks.
    assignments : notebook stems to make assignments of (all with exercises when None).
    force : rewrite the configuration of an existing deployment (its state/, homes/ and exchange/
        are kept); without it an existing one is refused.

    Raises
    ------
    ValueError
        A bad setting, or ``directory`` is a file.
    FileExistsError
        ``directory`` already holds a deployment and ``force`` is False.
    FileNotFoundError
        The kit environment lacks ``jupyterhub-singleuser`` or the proxy is not installed.
    """
    directory = Path(directory).resolve()
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} exists and is not a folder; pass a folder for the hub")
    settings = ClassSettings(**asdict(settings))
    settings.validate()
    if not settings.proxy_command:
        settings.proxy_command = find_proxy(settings.kit_env)
    config = directory / "jupyterhub_config.py"
    if config.exists() and not force:
        raise FileExistsError(f"{directory} already holds a hub ({config} exists); pass force=True (--force) "
                              "to rewrite its configuration")
    for sub in ("state", "homes", "etc/jupyter", "zero-to-jupyterhub"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    (directory / "state").chmod(0o700)
    exchange = directory / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o1777)  # nbgrader's exchange: every user writes, nobody removes another's files
    cache = directory / "cache"
    cache.mkdir(exist_ok=True)
    cache.chmod(0o1777)  # the class's shared cache of the kit (GROUNDING_KIT_CACHE of every server)
    written = {"config": config, "class": directory / "class.json",
               "nbgrader_config": directory / "etc" / "jupyter" / "nbgrader_config.py",
               "values": directory / "zero-to-jupyterhub" / "values.yaml",
               "image": directory / "zero-to-jupyterhub" / "postBuild",
               "exchange_volume": directory / "zero-to-jupyterhub" / "exchange-pvc.yaml",
               "passwords": directory / "state" / "passwords.json"}
    shutil.copyfile(TEMPLATES / "jupyterhub_config.py", config)
    shutil.copyfile(TEMPLATES / "nbgrader_config.py", written["nbgrader_config"])
    written["class"].write_text(json.dumps(asdict(settings), indent=2) + "\n", encoding="utf-8")
    if not written["passwords"].exists():
        secrets_ = {"student_password": secrets.token_urlsafe(9), "instructor_password": secrets.token_urlsafe(32),
                    "proxy_token": secrets.token_hex(32)}
        written["passwords"].touch(mode=0o600)
        written["passwords"].write_text(json.dumps(secrets_, indent=2) + "\n", encoding="utf-8")
    memory = settings.mem_limit
    written["values"].write_text(_render(
        "values.yaml", course_id=settings.course_id, mem_limit=memory, mem_guarantee=memory,
        cpu_limit=settings.cpu_limit, cull_idle_seconds=settings.cull_idle_seconds,
        students=json.dumps(settings.students), instructors=json.dumps(settings.instructors),
        threads=settings.threads_per_kernel), encoding="utf-8")
    shutil.copyfile(TEMPLATES / "postBuild", written["image"])
    shutil.copyfile(TEMPLATES / "exchange-pvc.yaml", written["exchange_volume"])
    written["image"].chmod(0o755)
    courses = init_course(directory / "course", notebooks_dir, names=assignments, course_id=settings.course_id,
                          exchange=exchange, force=force)
    written.update({f"assignment {name}": path for name, path in courses.items()})
    return written


def next_steps(directory: str | os.PathLike) -> str:
    """What the instructor does next (printed by ``grounding-kit hub init``)."""
    directory = Path(directory).resolve()
    settings = json.loads((directory / "class.json").read_text(encoding="utf-8"))
    return "\n".join([
        f"class hub in {directory}",
        f"  start:  {Path(settings['kit_env']) / 'bin' / 'jupyterhub'} -f {directory / 'jupyterhub_config.py'}",
        f"  open:   http://{settings['ip']}:{settings['port']}/  (passwords: {directory / 'state' / 'passwords.json'})",
        f"  stop:   kill $(cat {directory / 'state' / 'jupyterhub.pid'})   (the students' servers keep running)",
        f"  course: the instructor's server opens in {directory / 'course'}: Nbgrader > Formgrader releases, "
        "collects and grades",
        f"  large class: {directory / 'zero-to-jupyterhub'} and docs/instructor.md",
    ])
