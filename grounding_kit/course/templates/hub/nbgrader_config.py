"""nbgrader settings every server of the class reads (written by `grounding-kit hub init`).

JUPYTER_CONFIG_PATH points each user's server here: the course, its shared exchange folder, and
nbgrader's JupyterHub plugin, which admits the members of the hub group nbgrader-<course>.
"""
import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader / Jupyter)
hub_dir = Path(__file__).resolve().parents[2]
CLASS = json.loads((hub_dir / "class.json").read_text(encoding="utf-8"))

c.CourseDirectory.course_id = CLASS["course_id"]
c.Exchange.root = str(hub_dir / "exchange")
c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"
# what a student submits keeps no widget state (megabytes a notebook); their own notebook keeps it
c.ExchangeFactory.submit = "grounding_kit.course.nbgrader_plugins.WidgetFreeSubmit"
# All users share one operating-system account on this single-machine hub, and nbgrader names a
# submission after that account; name it after the hub user instead. (With one account per user,
# as SystemdSpawner or KubeSpawner give, delete these lines.)
if os.environ.get("JUPYTERHUB_USER") and os.environ.get("NBGRADER_ROLE") != "instructor":
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
