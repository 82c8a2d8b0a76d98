"""Static widget outputs (grounding_kit.course.static_widgets) on a hand-made executed notebook, and
the assets the decks and the book copy from installed packages."""

from __future__ import annotations

import os

import nbformat
import pytest

from grounding_kit.course import assets
from grounding_kit.course.static_widgets import FIGURE_CLASS, WIDGET_STATE, WIDGET_VIEW, figure_cells, make_static


def model(name: str, module: str = "@jupyter-widgets/controls", **state) -> dict:
    return {"model_name": name, "model_module": module, "model_module_version": "2.0.0", "state": state}


def executed_notebook() -> nbformat.NotebookNode:
    """Cell 0 shows a VBox (a heading, a figure, a slider, a progress bar); cell 1 prints."""
    state = {
        "box": model("VBoxModel", children=["IPY_MODEL_head", "IPY_MODEL_fig", "IPY_MODEL_slider", "IPY_MODEL_bar"]),
        "head": model("HTMLModel", value="<h3>Reshuffle lab</h3>"),
        "fig": model("AnyModel", "anywidget", _widget_data=[{"type": "bar", "x": ["a", "b"], "y": [1, 2]}],
                     _widget_layout={"title": {"text": "accuracy"}}),
        "slider": model("FloatSliderModel", value=0.5),
        "bar": model("HBoxModel", children=["IPY_MODEL_progress", "IPY_MODEL_done"]),
        "progress": model("FloatProgressModel", value=1.0),
        "done": model("HTMLModel", value="12/12 batches"),
    }
    view = {"output_type": "display_data", "metadata": {},
            "data": {WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0}, "text/plain": "VBox()"}}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("lab", outputs=[nbformat.from_dict(view)]),
        nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output("stream", text="1\n")]),
    ])
    notebook.metadata["widgets"] = {WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return notebook


def test_make_static_turns_a_figure_widget_into_a_plain_plotly_figure():
    notebook = executed_notebook()
    assert figure_cells(notebook) == [0]
    assert make_static(notebook) == 1
    [output] = notebook.cells[0].outputs
    html = output["data"]["text/html"]
    assert list(output["data"]) == ["text/html"]
    assert html.count(f'class="{FIGURE_CLASS}"') == 1 and "Plotly.newPlot" in html and '"accuracy"' in html
    assert "<h3>Reshuffle lab</h3>" in html
    assert "12/12 batches" not in html  # the progress bar is gone, and so is the slider (it needs a kernel)
    assert "widgets" not in notebook.metadata  # no exporter links a widget manager
    assert notebook.cells[1].outputs[0]["text"] == "1\n"
    assert figure_cells(notebook) == [0]  # counted from the static output too


def test_a_static_box_or_text_keeps_the_width_and_margin_of_its_layout():
    notebook = executed_notebook()
    state = notebook.metadata["widgets"][WIDGET_STATE]["state"]
    state["box"]["state"]["layout"] = "IPY_MODEL_box_layout"
    state["box_layout"] = model("LayoutModel", "@jupyter-widgets/base", width="190px", margin="0 8px", height=None)
    state["head"]["state"]["layout"] = "IPY_MODEL_head_layout"
    state["head_layout"] = model("LayoutModel", "@jupyter-widgets/base", width="136px")
    make_static(notebook)
    html = notebook.cells[0].outputs[0]["data"]["text/html"]
    assert 'style="display:flex;flex-flow:column wrap;gap:6px;align-items:flex-start;width:190px;margin:0 8px"' in html
    assert "height" not in html.split(">", 1)[0]  # an unset trait adds nothing
    assert '<div style="width:136px"><h3>Reshuffle lab</h3></div>' in html


def saved_figure_model(fig) -> dict:
    """A FigureWidget's model as nbclient saves it: ipywidgets' own split of the state into JSON and
    binary buffers (base64, each with its path), and a stale one-off update message's buffer."""
    import base64
    import json

    from ipywidgets.widgets.widget import _remove_buffers

    state, paths, buffers = _remove_buffers(fig.get_state())
    state = json.loads(json.dumps(state))  # as the notebook's JSON keeps it
    saved = [{"path": path, "encoding": "base64", "data": base64.b64encode(bytes(buffer)).decode()}
             for path, buffer in zip(paths, buffers)]
    saved.append({"path": ["_py2js_update", "style_data", "y", 0, "buffer"], "encoding": "base64", "data": "AAAA"})
    return {"model_name": "AnyModel", "model_module": "anywidget", "model_module_version": "0.11.0",
            "state": state, "buffers": saved}


def test_a_static_figure_keeps_the_numbers_sent_as_binary_buffers():
    """plotly sends a 1-D float array as a binary buffer (a typed array in the browser); the saved
    state keeps only its dtype and shape, so the static copy must read the buffer (it showed the
    reshuffle lab's scatter with no points)."""
    import numpy as np
    import plotly.graph_objects as go

    from grounding_kit.course.static_widgets import figure_html, with_buffers

    fig = go.FigureWidget([go.Scatter(x=[0, 1], y=[0, 1], mode="lines"),
                           go.Scatter(x=np.array([0.5, -1.25, 2.0]), y=np.array([1.5, 2.5, -3.0], dtype=np.float32),
                                      mode="markers")])
    saved = saved_figure_model(fig)
    assert saved["state"]["_widget_data"][1]["x"] == {"dtype": "float64", "shape": [3]}  # the numbers are apart
    state = with_buffers(saved)
    assert state["_widget_data"][1]["x"] == [0.5, -1.25, 2.0] and state["_widget_data"][1]["y"] == [1.5, 2.5, -3.0]
    assert state["_widget_data"][0]["x"] == [0, 1]
    assert saved["state"]["_widget_data"][1]["x"] == {"dtype": "float64", "shape": [3]}  # the saved model is not changed
    body = figure_html(saved, "f").replace(" ", "")
    assert '"x":[0.5,-1.25,2.0],"y":[1.5,2.5,-3.0]' in body  # what plotly.js draws


def test_make_static_refuses_a_widget_without_saved_state():
    notebook = executed_notebook()
    del notebook.metadata["widgets"]
    with pytest.raises(ValueError, match="cell 0 shows widget 'box'.*nbclient"):
        make_static(notebook)


def test_assets_come_from_installed_packages(tmp_path):
    copies = assets.vendor(tmp_path, ("plotly.min.js", "require.min.js"))
    assert copies["plotly.min.js"].stat().st_size > 1_000_000
    assert (tmp_path / "require.min.js").exists()
    assert assets.source("reveal.js").joinpath("dist", "reveal.js").exists()
    assert assets.source("MathJax").joinpath("MathJax.js").exists()
    assert assets.mathjax_url("assets") == f"assets/MathJax/MathJax.js?config={assets.MATHJAX_CONFIG}"
    with pytest.raises(ValueError, match="unknown asset 'katex'"):
        assets.source("katex")


def test_vendoring_again_copies_nothing_that_is_already_there(tmp_path):
    copies = assets.vendor(tmp_path, ("reveal.js", "plotly.min.js"))
    files = [p for p in copies["reveal.js"].rglob("*") if p.is_file()] + [copies["plotly.min.js"]]
    for path in files:  # mark every copy, so a second copy would be seen
        os.utime(path, ns=(1, 1))
    assets.vendor(tmp_path, ("reveal.js", "plotly.min.js"))
    assert len(files) > 10 and all(path.stat().st_mtime_ns == 1 for path in files)
