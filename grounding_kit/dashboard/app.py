"""The dashboard's four labs in tabs, built from the kit's offline defaults.

By default (``eager=False``) the first tab is built when the page loads and each other tab the
first time it is opened, so the page is usable as early as possible; ``eager=True`` builds every
tab at once (for a pre-heated Voila kernel, see ``voila_command(preheat=True)``).

The first tab, the reshuffle lab, is built from the heads' logit grids cached on disk by
:func:`grounding_kit.experiments.grid_cache.task_grids` (computed on the first visit, keyed on the CLIP's
weights): with that cache warm the page shows it without importing torch or open_clip, which
load when a tab that needs a model is opened.
"""

from __future__ import annotations

import contextlib
import html
import io
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import ipywidgets as w

from grounding_kit import widgets as gkw
from grounding_kit.core.cache import atomic_write
from grounding_kit.dashboard.server import READY_ENV
from grounding_kit.experiments.grid_cache import task_grids
from grounding_kit.models.registry import TINY_CLIP

LOG = logging.getLogger(__name__)
TAB_TITLES = ("Reshuffle lab", "EMAP lab", "Rebalancing lab", "Grounding explorer")
RESHUFFLE_TASK = {"task": "mixed", "interaction": 0.5}


class Dashboard(w.VBox):
    """Tabs of labs, each built on first view. ``labs[k]`` is the built lab of tab k (or None)."""

    def __init__(self, n: int = 300, seed: int = 0, clip: Any = None, vqa: Any = None, eager: bool = False) -> None:
        start = time.perf_counter()
        self.n, self.seed = n, seed
        self._clip, self._vqa = clip, vqa
        self.builders: list[Callable[[], w.Widget]] = [self._reshuffle, self._emap, self._rebalancing,
                                                       self._explorer]
        self.labs: list[w.Widget | None] = [None] * len(self.builders)
        self.slots = [w.VBox([w.HTML("<i>building this lab (first time only)...</i>")]) for _ in self.builders]
        self.tabs = w.Tab(children=self.slots, titles=TAB_TITLES)
        self.tabs.add_class("gk-dashboard-tabs")
        self.tabs.observe(lambda change: self.show_tab(change["new"]), names="selected_index")
        header = w.HTML("<h2 style='margin:6px 0'>Multimodal grounding: live labs</h2>"
                        "<div style='color:#555'>Does my multimodal model learn cross-modal interactions? "
                        "(Hessel &amp; Lee, EMNLP 2020). Tiny offline models on the kit's shapes world.</div>")
        super().__init__([header, self.tabs])
        self.add_class("gk-dashboard")
        self.tabs.selected_index = 0
        for index in range(len(self.builders) if eager else 1):
            self.show_tab(index)
        self.build_seconds = time.perf_counter() - start
        ready = os.environ.get(READY_ENV)
        if ready:  # tell `grounding-kit dashboard` (and the browser test) that the page is ready
            built = f"{len(self.builders) if eager else 1} of {len(self.builders)} labs built in {self.build_seconds:.1f} s"
            atomic_write(Path(ready), lambda tmp: tmp.write_text(built))

    def show_tab(self, index: int | None) -> w.Widget | None:
        """Build tab ``index`` if it is not built yet; returns its lab."""
        if index is None:
            return None
        if self.labs[index] is None:
            try:
                with quiet():
                    self.labs[index] = self.builders[index]()
            except Exception as err:  # noqa: BLE001 - show the failure in its tab, keep the other labs alive
                LOG.debug("building the %s failed", TAB_TITLES[index], exc_info=True)
                self.slots[index].children = [w.HTML(f"<pre class='gk-error'>{TAB_TITLES[index]} failed: "
                                                     f"{html.escape(repr(err))}</pre>")]
                return None
            self.slots[index].children = [self.labs[index]]
        return self.labs[index]

    # ------------------------------------------------------------ models, data
    @property
    def clip(self) -> Any:
        if self._clip is None:
            from grounding_kit.models import load_clip

            self._clip = load_clip()
        return self._clip

    @property
    def vqa(self) -> Any:
        if self._vqa is None:
            from grounding_kit.models import load_vqa

            self._vqa = load_vqa()
        return self._vqa

    # ------------------------------------------------------------ the labs
    def _reshuffle(self) -> w.Widget:
        # the default CLIP by name: a warm cache is read without loading it (or torch)
        grids = task_grids(TINY_CLIP if self._clip is None else self._clip, RESHUFFLE_TASK["task"], self.n,
                           seed=self.seed, interaction=RESHUFFLE_TASK["interaction"], progress=False)
        return gkw.reshuffle_lab(grids.grid("interactive"), None, grids.labels, additive=grids.grid("additive"),
                                 images=grids.images, texts=grids.texts, seed=self.seed)

    def _emap(self) -> w.Widget:
        return gkw.emap_lab(self.clip, n=self.n, seed=self.seed, task=RESHUFFLE_TASK["task"],
                            levels=(0.25, 0.5, 0.75))

    def _rebalancing(self) -> w.Widget:
        return gkw.rebalancing_lab(self.vqa, n=max(60, self.n // 2), seed=self.seed)

    def _explorer(self) -> w.Widget:
        from grounding_kit.world.queries import EXAMPLE_QUERIES
        from grounding_kit.world import make_task

        ds = make_task("match", n=40, seed=self.seed + 7)
        ds = ds.select([i for i, label in enumerate(ds["label"]) if label == 1])  # images their caption describes
        return gkw.grounding_explorer(self.clip, ds["image"], ds["scene"], self.vqa,
                                      question="what color is the circle?", query=EXAMPLE_QUERIES[0])


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep library chatter off the projected page: progress bars and other displays go to an
    ``Output`` widget that is never shown, warnings and log lines on stderr to the log."""
    buffer = io.StringIO()
    try:
        with w.Output(), contextlib.redirect_stderr(buffer):
            yield
    finally:
        if buffer.getvalue().strip():
            LOG.info("while building a lab:\n%s", buffer.getvalue())


def build_dashboard(n: int = 300, seed: int = 0, clip: Any = None, vqa: Any = None, eager: bool = False) -> Dashboard:
    """The dashboard: tabs for the reshuffle, EMAP and rebalancing labs and the grounding explorer.

    Parameters
    ----------
    n : evaluation pairs per lab (the page uses a modest N so that it starts fast).
    seed : seeds data, heads and reshuffles.
    clip, vqa : models (default: the embedded ``load_clip()`` and ``load_vqa()``, loaded on first use).
    eager : build every tab now (else each tab on its first opening).
    """
    return Dashboard(n=n, seed=seed, clip=clip, vqa=vqa, eager=eager)
