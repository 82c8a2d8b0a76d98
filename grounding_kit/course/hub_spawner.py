"""The spawner of a single-machine class hub: a home folder and a memory cgroup per user.

JupyterHub loads this module (``c.JupyterHub.spawner_class``) from the configuration that
``grounding-kit hub init`` writes; nothing else imports it. Every user's server runs under the
hub's own operating-system account, as JupyterHub's ``SimpleLocalProcessSpawner`` does, in a home
folder of its own; where the machine lets the hub make memory cgroups (root on a cgroup v1 or v2
host), each user's server and kernels share one cgroup capped at ``mem_limit``, which is what
SystemdSpawner's ``MemoryMax`` and KubeSpawner's container limit do on real deployments.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from traitlets import Unicode

from grounding_kit.core.extras import require
from grounding_kit.course.cgroups import memory_cgroup_root

_spawner = require("jupyterhub.spawner", "hub")

def class_cgroup_name(course_id: str, directory: str | os.PathLike) -> str:
    """The parent cgroup of a class's users (``ClassSpawner.cgroup_name`` in the hub's configuration).

    Named after the course and the hub's folder, so that two hubs on one machine (two courses, or
    the same course twice) never share a user's cgroup.
    """
    folder = hashlib.sha256(str(Path(directory).resolve()).encode()).hexdigest()[:8]
    return f"grounding-kit-{course_id}-{folder}"


class ClassSpawner(_spawner.SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner plus a memory cgroup per user, capped at ``mem_limit``.

    Without a writable cgroup hierarchy the server starts all the same and the hub logs, once per
    start, that ``mem_limit`` is not enforced on this machine.
    """

    cgroup_name = Unicode("grounding-kit-hub", config=True,
                          help="The parent cgroup of the users' cgroups (one folder per user inside it).")

    def user_cgroup(self) -> tuple[Path, str] | None:
        """This user's cgroup folder and the file that caps it (None where cgroups are unavailable)."""
        found = memory_cgroup_root()
        if found is None:
            return None
        folder, limit_file = found
        return folder / self.cgroup_name / self.user.name, limit_file

    def _prepare_cgroup(self) -> Path | None:
        cgroup = self.user_cgroup()
        if cgroup is None or not self.mem_limit:
            if self.mem_limit:
                self.log.warning("mem_limit=%s for %s is not enforced: no writable memory cgroup here",
                                 self.mem_limit, self.user.name)
            return None
        folder, limit_file = cgroup
        if limit_file == "memory.max":  # cgroup v2: the parent must hand the memory controller down
            folder.parent.mkdir(exist_ok=True)
            (folder.parent / "cgroup.subtree_control").write_text("+memory")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / limit_file).write_text(str(int(self.mem_limit)))
        return folder

    def make_preexec_fn(self, name):
        home_preexec = super().make_preexec_fn(name)
        folder = self._prepare_cgroup()

        def preexec():
            home_preexec()
            if folder is not None:  # join the cgroup before exec: the server and its kernels are inside
                (folder / "cgroup.procs").write_text(str(os.getpid()))

        return preexec

    async def stop(self, now=False):
        await super().stop(now=now)
        cgroup = self.user_cgroup()
        if cgroup is not None and cgroup[0].is_dir():
            try:
                cgroup[0].rmdir()
            except OSError as err:  # a process of the user still runs in it; the next start reuses it
                self.log.warning("could not remove %s: %s", cgroup[0], err)
