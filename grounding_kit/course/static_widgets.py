"""Executed notebooks without a kernel: widget outputs become static HTML, figures plain plotly.

A notebook executed headless (nbclient) keeps each widget's last state in
``metadata.widgets``, but a page shows it only with a widget manager and, for plotly's
``FigureWidget`` (an anywidget), with the 5 MB of plotly.js that every figure's state carries.
:class:`StaticWidgetsPreprocessor` (an nbconvert preprocessor, used by the slide decks, the book
and any rendered notebook) replaces every widget output by what it showed last:

- a ``FigureWidget`` becomes a plain plotly figure (a ``<div>`` and a ``Plotly.newPlot`` call;
  the page loads plotly.js once, see :mod:`grounding_kit.course.assets`);
- boxes keep their layout (row for ``HBox``, column otherwise), ``HTML``/``Label`` widgets their
  text (a ``width`` or ``margin`` set on a box's or a text's layout is kept too), ``Image`` widgets their picture, ``Output`` widgets their outputs;
- controls (sliders, buttons, dropdowns) and progress bars are dropped: they need a kernel.

The widget state is then removed from the metadata, so no exporter links a widget manager.
"""

from __future__ import annotations

import copy
import html
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FIGURE_CLASS = "gk-static-figure"  # every static figure's div has it (tests count them)
# flex direction of each box (``Box`` and ``GridBox`` lay out in rows, as ipywidgets' CSS does),
# unless the box's layout sets ``flex_flow``
_BOXES = {"VBoxModel": "column", "BoxModel": "row", "GridBoxModel": "row", "HBoxModel": "row",
          "TabModel": "column", "AccordionModel": "column", "StackModel": "column"}
_TEXT = {"HTMLModel", "HTMLMathModel", "LabelModel"}
_SIZE = ("width", "margin")  # layout traits a static box or text keeps (CSS properties of the same name)


def is_plotly_figure(model: dict) -> bool:
    """Whether a saved widget model is a plotly ``FigureWidget`` (plotly 6+: an anywidget with
    ``_widget_data``/``_widget_layout``; plotly 5: ``jupyterlab-plotly``'s ``FigureModel``)."""
    state = model.get("state", {})
    return ("_widget_data" in state and "_widget_layout" in state) or model.get("model_name") == "FigureModel"


def figure_html(model: dict, div_id: str) -> str:
    """The static plotly figure of a saved ``FigureWidget`` model: a div and its ``newPlot`` call.

    Needs ``window.Plotly`` on the page (plotly.js is not inlined here, so a page with many
    figures loads it once).
    """
    import plotly.io as pio

    state = with_buffers(model)
    figure = {"data": state.get("_widget_data", state.get("_data", [])),
              "layout": state.get("_widget_layout", state.get("_layout", {}))}
    body = pio.to_html(figure, include_plotlyjs=False, full_html=False, div_id=div_id, validate=False,
                       config={"responsive": True, "displaylogo": False})
    return f'<div class="{FIGURE_CLASS}">{body}</div>'


def with_buffers(model: dict) -> dict:
    """A copy of a saved widget model's state with its binary buffers put back as plain lists.

    ipywidgets saves binary data apart from the JSON state: ``model["buffers"]`` lists
    ``{"path": [...], "encoding": "base64", "data": ...}`` and the state keeps what is left at that
    path. plotly sends a 1-D numeric numpy array as ``{"buffer": <bytes>, "dtype": ..., "shape": ...}``,
    so a saved ``FigureWidget`` trace holds ``x: {"dtype": "float64", "shape": [300]}`` and its numbers
    in a buffer with path ``["_widget_data", 1, "x", "buffer"]``. Each such array becomes the list of
    its numbers (what plotly.js draws); a buffer whose path is no longer in the state (a one-off
    update message's) is skipped.
    """
    import base64

    import numpy as np

    state = copy.deepcopy(model.get("state", {}))
    for buffer in model.get("buffers", []):
        *parents, key = buffer.get("path") or [None]
        holder = state
        try:
            for step in parents[:-1]:
                holder = holder[step]
            array = holder[parents[-1]] if parents else None
        except (KeyError, IndexError, TypeError):
            continue
        if key != "buffer" or not isinstance(array, dict) or "dtype" not in array:
            continue
        data = base64.b64decode(buffer.get("data", "")) if buffer.get("encoding", "base64") == "base64" else b""
        values = np.frombuffer(data, dtype=array["dtype"])
        holder[parents[-1]] = values.reshape(array.get("shape") or values.shape).tolist()
    return state


class _Renderer:
    """Static HTML of widget models, looked up in one notebook's saved widget state."""

    def __init__(self, state: dict[str, dict]) -> None:
        self.state = state
        self.figures = 0

    def model(self, ref: Any) -> dict | None:
        if isinstance(ref, str):
            return self.state.get(ref.removeprefix("IPY_MODEL_"))
        return None

    def render(self, model_id: str) -> str:
        model = self.model(model_id)
        if model is None:
            return ""
        name, state = model.get("model_name", ""), model.get("state", {})
        if is_plotly_figure(model):
            self.figures += 1
            return figure_html(model, div_id=f"gk-figure-{model_id.removeprefix('IPY_MODEL_')}")
        if name in _BOXES:
            children = [self.model(child) for child in state.get("children", [])]
            if any(child and child.get("model_name") == "FloatProgressModel" for child in children):
                return ""  # a tqdm progress bar: nothing to show once the work is done
            parts = [self.render(child) for child in state.get("children", [])]
            parts = [part for part in parts if part]
            if not parts:
                return ""
            flow = html.escape(self.layout(state).get("flex_flow") or f"{_BOXES[name]} wrap")
            return (f'<div class="gk-static-box" style="display:flex;flex-flow:{flow};'
                    f'gap:6px;align-items:flex-start{self.size(state)}">{"".join(parts)}</div>')
        if name in _TEXT:
            value = state.get("value", "")
            size = self.size(state).lstrip(";")
            style = f' style="{size}"' if size else ""
            return f"<div{style}>{value if name != 'LabelModel' else html.escape(value)}</div>" if value else ""
        if name == "ImageModel":
            return self._image(model)
        if name == "OutputModel":
            return "".join(self.output_html(output) for output in state.get("outputs", []))
        return ""  # a control: it needs a kernel

    def layout(self, state: dict) -> dict:
        """The state of a widget's ``Layout`` model ({} if it has none)."""
        return (self.model(state.get("layout")) or {}).get("state", {})

    def size(self, state: dict) -> str:
        """``;width:...;margin:...`` for the ``_SIZE`` traits set on a widget's layout."""
        layout = self.layout(state)
        return "".join(f";{key}:{html.escape(str(layout[key]))}" for key in _SIZE if layout.get(key))

    def _image(self, model: dict) -> str:
        state = model.get("state", {})
        data = next((b.get("data") for b in model.get("buffers", []) if b.get("path") == ["value"]), None)
        if data is None and isinstance(state.get("value"), str):
            data = state["value"]
        if not data:
            return ""
        fmt = state.get("format", "png")
        size = "".join(f' {k}="{html.escape(str(state[k]))}"' for k in ("width", "height") if state.get(k))
        return f'<img src="data:image/{fmt};base64,{data}"{size} alt="">'

    def output_html(self, output: dict) -> str:
        data = output.get("data", {})
        if WIDGET_VIEW in data:
            return self.render(data[WIDGET_VIEW].get("model_id", ""))
        if "text/html" in data:
            return _join(data["text/html"])
        for mime in ("image/png", "image/jpeg"):
            if mime in data:
                return f'<img src="data:{mime};base64,{_join(data[mime]).strip()}" alt="">'
        if output.get("output_type") == "stream":
            return f"<pre>{html.escape(_join(output.get('text', '')))}</pre>"
        if "text/plain" in data:
            return f"<pre>{html.escape(_join(data['text/plain']))}</pre>"
        return ""


def _join(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def widget_state(notebook: NotebookNode) -> dict[str, dict]:
    """The saved widget models of an executed notebook, by model id (empty when none was saved)."""
    return dict(notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}))


def figure_cells(notebook: NotebookNode) -> list[int]:
    """Indices of the code cells whose outputs show at least one plotly figure.

    Reads an executed notebook's saved widget state (before :func:`make_static`), or the static
    figures that :func:`make_static` wrote (after it).
    """
    state = widget_state(notebook)
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        renderer = _Renderer(state)
        static = 0
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                renderer.render(data[WIDGET_VIEW].get("model_id", ""))
            static += _join(data.get("text/html", "")).count(f'class="{FIGURE_CLASS}"')
        if renderer.figures or static:
            found.append(index)
    return found


def make_static(notebook: NotebookNode) -> int:
    """Replace every widget output of an executed notebook by static HTML, in place.

    Returns the number of plotly figures written. Outputs that render to nothing (progress
    bars, lone controls) are removed; ``metadata.widgets`` is dropped.

    Raises
    ------
    ValueError
        If the notebook shows widgets but holds no saved widget state (it was not executed
        with nbclient's ``store_widget_state``, or its outputs were cleared).
    """
    state = widget_state(notebook)
    renderer = _Renderer(state)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                kept.append(output)
                continue
            model_id = data[WIDGET_VIEW].get("model_id", "")
            if model_id not in state:
                raise ValueError(f"cell {index} shows widget {model_id!r}, but the notebook holds no saved "
                                 "state for it: execute it with nbclient (store_widget_state=True) first")
            body = renderer.render(model_id)
            if body:
                output["data"] = {"text/html": body}
                output.setdefault("metadata", {})
                kept.append(output)
        cell["outputs"] = kept
    notebook.metadata.pop("widgets", None)
    return renderer.figures


class StaticWidgetsPreprocessor(Preprocessor):
    """nbconvert preprocessor: :func:`make_static` on each notebook it is given.

    ``resources["static_figures"]`` receives the number of figures written.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        resources["static_figures"] = make_static(nb)
        return nb, resources

