"""JupyterHub configuration of a grounding_kit class (written by `grounding-kit hub init`).

Start the hub:   jupyterhub -f <this folder>/jupyterhub_config.py   (stop it: kill $(cat state/jupyterhub.pid))
Everything below is plain JupyterHub / nbgrader configuration; the values the instructor is most
likely to change are the CLASS settings at the top. The hub's own state (its database, cookie
secret, proxy token and log) lives in state/ beside this file.
"""
import json
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)
here = Path(__file__).resolve().parent

# ---------------------------------------------------------------- the class
CLASS = json.loads((here / "class.json").read_text(encoding="utf-8"))
COURSE_ID = CLASS["course_id"]
INSTRUCTORS = CLASS["instructors"]
STUDENTS = CLASS["students"]
KIT_ENV = Path(CLASS["kit_env"])          # the Python environment the kit is installed in
MEM_LIMIT = CLASS["mem_limit"]            # per user (server + kernels), e.g. "1G"
CPU_LIMIT = CLASS["cpu_limit"]            # per user, in cores (enforced by systemd/docker/k8s spawners)
CULL_AFTER = CLASS["cull_idle_seconds"]   # stop a server idle this long
PASSWORDS = json.loads((here / "state" / "passwords.json").read_text(encoding="utf-8"))

# ---------------------------------------------------------------- where the hub listens
c.JupyterHub.bind_url = f"http://{CLASS['ip']}:{CLASS['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = CLASS["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{CLASS['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [CLASS["proxy_command"]]
c.ConfigurableHTTPProxy.auth_token = PASSWORDS["proxy_token"]
c.ConfigurableHTTPProxy.pid_file = str(here / "state" / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{here / 'state' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(here / "state" / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(here / "state" / "jupyterhub.pid")
# a restarted hub finds the students' servers still running (nothing of theirs is lost)
c.JupyterHub.cleanup_servers = False
c.JupyterHub.cleanup_proxy = False
# a class arrives at once: let every student's server start, give each a minute
c.JupyterHub.concurrent_spawn_limit = CLASS["concurrent_spawn_limit"]
c.JupyterHub.active_server_limit = CLASS["active_server_limit"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# ---------------------------------------------------------------- who logs in
# One password for the students, another (32+ characters) for the instructors, in state/passwords.json.
# For a class on a public address, use a real authenticator instead (see docs/instructor.md).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = PASSWORDS["student_password"]
c.SharedPasswordAuthenticator.admin_password = PASSWORDS["instructor_password"]
c.Authenticator.allowed_users = set(STUDENTS) | set(INSTRUCTORS)
c.Authenticator.admin_users = set(INSTRUCTORS)

# ---------------------------------------------------------------- roles: nbgrader's course groups
# nbgrader's JupyterHubAuthPlugin reads these groups: nbgrader-<course> = students of the course,
# formgrade-<course> = its graders.
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE_ID}": {"users": INSTRUCTORS},
    f"nbgrader-{COURSE_ID}": {"users": STUDENTS},
}
c.JupyterHub.load_roles = [
    {"name": "instructor", "description": "teaches the course: sees the class, opens a student's server",
     "groups": [f"formgrade-{COURSE_ID}"],
     "scopes": ["admin-ui", "list:users", "read:users", "read:groups", "read:servers",
                f"access:servers!group=nbgrader-{COURSE_ID}", f"servers!group=nbgrader-{COURSE_ID}"]},
    {"name": "student", "description": "takes the course: their own server, their own groups",
     "groups": [f"nbgrader-{COURSE_ID}"], "scopes": ["self"]},
    # each server's own token may read its user's groups (nbgrader's course membership check)
    {"name": "server", "scopes": ["access:servers!server", "users:activity!user", "read:users:groups!user",
                                  "read:users:name!user"]},
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]

# ---------------------------------------------------------------- idle servers go away
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={CULL_AFTER}",
                f"--cull-every={max(CULL_AFTER // 6, 10)}", "--concurrency=5"],
}]

# ---------------------------------------------------------------- each user's server
# Single machine, one operating-system account: every user gets a home folder of their own under
# homes/ and a memory limit of their own (a memory cgroup where this machine lets the hub make one).
# A real single-machine class uses The Littlest JupyterHub's SystemdSpawner (one system account per
# user); a large class uses KubeSpawner (Zero to JupyterHub; see docs/instructor.md).
c.JupyterHub.spawner_class = "grounding_kit.course.hub_spawner.ClassSpawner"
c.ClassSpawner.home_dir_template = str(here / "homes" / "{username}")
from grounding_kit.course.hub_spawner import class_cgroup_name  # noqa: E402

c.ClassSpawner.cgroup_name = class_cgroup_name(COURSE_ID, here)  # /sys/fs/cgroup/memory/<this>/<user> (v1)
c.Spawner.mem_limit = MEM_LIMIT
c.Spawner.cpu_limit = CPU_LIMIT
c.Spawner.cmd = [str(KIT_ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
if os.geteuid() == 0:  # this spawner runs every server as the hub's own account; Jupyter asks to be told
    c.Spawner.args = ["--allow-root"]
c.Spawner.environment = {
    # the kit's environment is the users' kernel: its python first on PATH
    "PATH": f"{KIT_ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "HF_HUB_OFFLINE": "1",
    "OMP_NUM_THREADS": str(CLASS["threads_per_kernel"]),
    "OMP_WAIT_POLICY": "PASSIVE",
    # every server reads etc/jupyter/nbgrader_config.py: the course and its shared exchange
    "JUPYTER_CONFIG_PATH": str(here / "etc" / "jupyter"),
    # one cache for the class: the datasets, features and logit grids the first run computes
    # (keyed on everything that changes them, written atomically) are read by every later student
    "GROUNDING_KIT_CACHE": str(here / "cache"),
}


def start_in_course_folder(spawner):
    """Instructors' servers open in the course folder, where Formgrader finds nbgrader_config.py."""
    if spawner.user.name in INSTRUCTORS:
        spawner.notebook_dir = str(here / "course")
        spawner.environment = {**spawner.environment, "NBGRADER_ROLE": "instructor"}


c.Spawner.pre_spawn_hook = start_in_course_folder
