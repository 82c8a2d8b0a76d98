"""Small building blocks shared by the widgets: figures, image cards, tables, status lines."""

from __future__ import annotations

import contextvars
import copy
import functools
import html
import io
import os
from typing import Any, Callable, Sequence, TypeVar

import ipywidgets as w
import plotly.graph_objects as go

from grounding_kit.core.threads import single_thread

CARD_PX = 96
F = TypeVar("F", bound=Callable[..., Any])


_IN_CALLBACK: contextvars.ContextVar[bool] = contextvars.ContextVar("gk_in_callback", default=False)


def callback(method: F) -> F:
    """Mark a widget callback (a method): it runs under :func:`single_thread`, and when the outermost
    callback returns, the owner's figures are published (:func:`publish`), so a view opened later
    (a Voila page that connects after the notebook ran, a saved notebook's widget state) shows them
    as they are now, not as they were when the widget was built."""

    @functools.wraps(method)
    def run(owner: Any, *args: Any, **kwargs: Any) -> Any:
        if _IN_CALLBACK.get():  # called by another callback: that one publishes
            return method(owner, *args, **kwargs)
        token = _IN_CALLBACK.set(True)
        try:
            with single_thread():
                result = method(owner, *args, **kwargs)
        finally:
            _IN_CALLBACK.reset(token)
        publish(owner)
        return result

    return run  # type: ignore[return-value]


def figure_class() -> type[go.FigureWidget]:
    """``go.FigureWidget``, or, where the environment names a served copy of plotly's front end
    (``assets.WIDGET_BUNDLE_ENV``, set by the kit's Voila launcher for its kernels), a subclass whose
    anywidget ``_esm`` is a small module that imports that copy, so a page fetches and evaluates the
    5 MB bundle once instead of once per figure. Elsewhere (JupyterLab, nbclient) nothing changes."""
    from grounding_kit.course.assets import WIDGET_BUNDLE_ENV

    path = os.environ.get(WIDGET_BUNDLE_ENV)
    return _served_figure_class(path) if path else go.FigureWidget


@functools.cache
def _served_figure_class(path: str) -> type[go.FigureWidget]:
    from grounding_kit.course.assets import widget_bundle_loader

    return type("ServedFigureWidget", (go.FigureWidget,), {"_esm": widget_bundle_loader(path),
                                                           "__module__": __name__})


def figure(traces: Sequence[Any] = (), *, title: str = "", height: int = 320, **layout: Any) -> go.FigureWidget:
    """A ``FigureWidget`` built once; callbacks later change its traces in ``batch_update``."""
    fig = figure_class()(data=list(traces))
    layout.setdefault("margin", dict(l=50, r=20, t=50, b=45))
    fig.update_layout(title=title, height=height, template="plotly_white", **layout)
    return fig


def widget_of(fig: go.Figure, *, height: int = 320, **layout: Any) -> go.FigureWidget:
    """A ``FigureWidget`` from a finished ``go.Figure`` (e.g. ``make_subplots`` with its axes set)."""
    widget = figure_class()(fig)
    layout.setdefault("margin", dict(l=50, r=20, t=60, b=45))
    widget.update_layout(height=height, template="plotly_white", **layout)
    return widget


def publish(owner: Any) -> None:
    """Make the current state of ``owner``'s FigureWidgets what views opened later will show.

    A FigureWidget sends each update as a one-off message to the views open at that moment; a
    view opened later starts from the figure's synced state (``_widget_data``, ``_widget_layout``),
    which plotly sets only when the figure is built or displayed on its own. Widgets call this at
    the end of construction, and :func:`callback` after each callback: in Voila the notebook runs
    before the page connects, so every update it makes (notebook 04 reshuffles 50 times) reaches
    the page only this way.
    """
    for value in list(vars(owner).values()):
        if isinstance(value, go.FigureWidget):
            value._widget_data = copy.deepcopy(value._data)
            value._widget_layout = copy.deepcopy(value._layout_obj._props)


def png_bytes(image: Any) -> bytes:
    """PNG bytes of a PIL image (or of anything with ``save(file, format=...)``)."""
    if isinstance(image, (bytes, bytearray)):
        return bytes(image)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


class ImageCard(w.VBox):
    """An image with a caption under it; ``show(png, caption, highlight)`` updates both."""

    def __init__(self, px: int = CARD_PX, button: str | None = None) -> None:
        self.image = w.Image(format="png", width=px, height=px)
        self.caption = w.HTML(layout=w.Layout(width=f"{px + 40}px"))
        self.button = None if button is None else w.Button(description=button, layout=w.Layout(width=f"{px}px"))
        parts = [self.image, self.caption] + ([self.button] if self.button is not None else [])
        super().__init__(parts, layout=w.Layout(align_items="center", margin="4px"))
        self.add_class("gk-card")

    def show(self, png: bytes, caption: str, highlight: bool = False) -> None:
        if self.image.value != png:
            self.image.value = png
        color = "#c0392b" if highlight else "#333"
        self.caption.value = (f"<div class='gk-caption' style='font-size:11px;line-height:1.2;color:{color}'>"
                              f"{html.escape(caption)}</div>")


def gallery(n: int, px: int = CARD_PX, button: str | None = None) -> tuple[w.Box, list[ImageCard]]:
    """A wrapping row of ``n`` image cards (each with a button labelled ``button`` if given)."""
    cards = [ImageCard(px, button) for _ in range(n)]
    box = w.Box(cards, layout=w.Layout(flex_flow="row wrap"))
    box.add_class("gk-gallery")
    return box, cards


def table_html(frame: Any, digits: int = 3) -> str:
    """A pandas DataFrame as a compact HTML table."""
    return frame.to_html(float_format=lambda v: f"{v:.{digits}f}", border=0, classes="gk-table")


def status() -> w.HTML:
    """A one-line status text under a lab's controls."""
    line = w.HTML()
    line.add_class("gk-status")
    return line


def title(text: str, subtitle: str = "") -> w.HTML:
    """A lab's heading with a one-sentence explanation."""
    sub = f"<div style='color:#555'>{html.escape(subtitle)}</div>" if subtitle else ""
    return w.HTML(f"<h3 style='margin:4px 0'>{html.escape(text)}</h3>{sub}")
