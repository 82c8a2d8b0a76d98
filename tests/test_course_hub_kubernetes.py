"""The large-class deployment that ``grounding-kit hub init`` writes for Zero to JupyterHub.

Helm, Kubernetes and repo2docker cannot run on these machines; what can be checked here is checked:
the values file against the chart's own values schema (as ``helm install`` validates it: the chart's
defaults merged with ours), the exchange volume claim against what the values mount, and the image
recipe against the chart's hub version.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO, free_port
from grounding_kit.course import hub as gk_hub

pytest.importorskip("jupyterhub", reason="the class hub needs the kit's [hub] extra")

CHART = REPO / "tests" / "data" / "zero_to_jupyterhub"
ASSIGNMENT = "01_grounding_and_clip"


def helm_merge(defaults: dict, values: dict) -> dict:
    """Helm's coalescing of a chart's defaults with the user's values: maps merge key by key, any
    other value (lists included) replaces the default, and null removes the key."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("k8s") / "hub"
    settings = gk_hub.ClassSettings(students=gk_hub.student_names(3), instructors=["teacher"], mem_limit="1G",
                                    port=free_port(), hub_port=free_port(),
                                    proxy_api_port=free_port())
    gk_hub.init_hub(directory, settings, assignments=[ASSIGNMENT])
    return directory / "zero-to-jupyterhub"


@pytest.fixture(scope="module")
def chart() -> tuple[dict, dict]:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    defaults = json.loads((CHART / "chart-values.json").read_text(encoding="utf-8"))["values"]
    return schema, defaults


def test_values_pass_the_charts_schema(deployment, chart):
    schema, defaults = chart
    values = yaml.safe_load((deployment / "values.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(helm_merge(defaults, values), schema)


@pytest.mark.parametrize("path, bad", [
    (("singleuser", "memory", "limit"), ["1G"]),       # a list where the chart takes a size
    (("cull", "timeot"), 3600),                        # a misspelt key
    (("singleuser", "storage", "extraVolumes"), "nbgrader-exchange"),
])
def test_the_schema_check_catches_a_bad_value(deployment, chart, path, bad):
    schema, defaults = chart
    values = yaml.safe_load((deployment / "values.yaml").read_text(encoding="utf-8"))
    node = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(helm_merge(defaults, values), schema)


def test_the_exchange_claim_is_the_one_the_values_mount(deployment):
    values = yaml.safe_load((deployment / "values.yaml").read_text(encoding="utf-8"))
    claim = yaml.safe_load((deployment / "exchange-pvc.yaml").read_text(encoding="utf-8"))
    volume = values["singleuser"]["storage"]["extraVolumes"][0]
    mount = values["singleuser"]["storage"]["extraVolumeMounts"][0]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert mount["name"] == volume["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # every student's pod mounts it
    nbgrader_config = values["singleuser"]["extraFiles"]["nbgrader-config"]["stringData"]
    assert f'c.Exchange.root = "{mount["mountPath"]}"' in nbgrader_config


def test_the_image_installs_the_hub_version_of_the_chart(deployment):
    chart_version = re.search(r"chart appVersion (\S+?)[;,)]",
                              json.loads((CHART / "values.schema.json").read_text())["$comment"]).group(1)
    recipe = (deployment / "postBuild").read_text(encoding="utf-8")
    assert f"'jupyterhub=={chart_version}'" in recipe


def test_the_hubs_extra_configuration_runs_and_opens_the_instructor_in_the_course(deployment):
    from traitlets.config import Config

    values = yaml.safe_load((deployment / "values.yaml").read_text(encoding="utf-8"))
    config = Config()
    for snippet in values["hub"]["extraConfig"].values():  # z2jh runs each snippet in the hub's config
        exec(compile(snippet, "extraConfig", "exec"), {"c": config})
    assert config.JupyterHub.load_groups["formgrade-grounding-kit"]["users"] == ["teacher"]

    class Spawner:
        def __init__(self, name):
            self.user, self.environment, self.notebook_dir = type("User", (), {"name": name})(), {}, ""

    teacher, student = Spawner("teacher"), Spawner("student01")
    for spawner in (teacher, student):
        config.KubeSpawner.pre_spawn_hook(spawner)
    assert teacher.notebook_dir == "/home/jovyan/course" and teacher.environment["NBGRADER_ROLE"] == "instructor"
    assert student.notebook_dir == "" and student.environment == {}
