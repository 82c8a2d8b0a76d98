"""Voila pages load plotly's FigureWidget front end once, from the Voila server (issue 14, part 4).

The kit's Voila launcher vendors ``widgetbundle.js`` into the kit's cache, serves it as template
static, and tells the kernels where; their figures then carry a small loader ``_esm`` instead of the
5 MB bundle. Without the variable (JupyterLab, nbclient) the figures are plotly's own FigureWidget.
The browser side (the loader imports the bundle and the figures draw) is in test_browser_dashboard.py.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request

import nbformat
import plotly.graph_objects as go
import pytest

from conftest import free_port, wait_for_http
from grounding_kit.course import assets
from grounding_kit.dashboard.server import OFFLINE_TEMPLATE, voila_command
from grounding_kit.widgets import components

BUNDLE_PATH = f"voila/templates/{OFFLINE_TEMPLATE}/static/vendor/{assets.WIDGET_BUNDLE}"


def test_with_the_variable_figures_carry_the_small_loader(monkeypatch):
    monkeypatch.setenv(assets.WIDGET_BUNDLE_ENV, BUNDLE_PATH)
    made = [components.figure([go.Scatter(y=[1, 2])], title="t"), components.widget_of(go.Figure(go.Bar(y=[3])))]
    for fig in made:
        assert isinstance(fig, go.FigureWidget) and type(fig) is not go.FigureWidget
        esm = fig.get_state()["_esm"]
        assert len(esm) < 1000 and f'import(new URL("{BUNDLE_PATH}", base).href)' in esm
        assert "await import" not in esm  # initialize must not wait for the bundle (anywidget's 2 s limit)
    assert list(made[0].data[0].y) == [1, 2] and made[0].layout.title.text == "t"


def test_without_the_variable_figures_are_plotly_s_own_figure_widget(monkeypatch):
    monkeypatch.delenv(assets.WIDGET_BUNDLE_ENV, raising=False)
    fig = components.figure([go.Scatter(y=[1, 2])])
    assert components.figure_class() is go.FigureWidget
    assert fig.get_state()["_esm"] == assets.source(assets.WIDGET_BUNDLE).read_text(encoding="utf-8")


@pytest.mark.parametrize("path", ["", "/voila/x.js", "https://cdn.example/x.js", 'a".js', None])
def test_the_loader_refuses_a_path_that_is_not_relative_to_the_server(path):
    with pytest.raises(ValueError, match="path must be a URL path relative"):
        assets.widget_bundle_loader(path)


def test_the_launcher_vendors_and_serves_the_bundle_and_tells_the_kernel(tmp_path, start_server):
    notebook = tmp_path / "env.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"import os; print('BUNDLE=' + str(os.environ.get({assets.WIDGET_BUNDLE_ENV!r})))")]), notebook)
    port = free_port()
    server = start_server(voila_command(port, notebook=notebook), "voila_widget_bundle.log",
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base}/{BUNDLE_PATH}", server.process)
    with urllib.request.urlopen(f"{base}/{BUNDLE_PATH}", timeout=30) as answer:
        served = answer.read()
        assert "javascript" in answer.headers["Content-Type"]
    assert served == assets.source(assets.WIDGET_BUNDLE).read_bytes()
    with urllib.request.urlopen(f"{base}/", timeout=120) as answer:
        page = answer.read().decode()
    assert f"BUNDLE={BUNDLE_PATH}" in page  # the kernel's output, as Voila renders it in the page
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    extensions = {extension["name"] for extension in config["federated_extensions"]}
    # FigureWidgets need anywidget's front end, not plotly's mime renderer (left out: 4.7 MB)
    assert "anywidget" in extensions and "jupyterlab-plotly" not in extensions
