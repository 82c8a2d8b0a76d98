"""Voila for a room: a capped number of seats, kept pre-heated, and a clear page past the cap.

``grounding-kit dashboard --room`` runs :class:`RoomVoila` (through
:mod:`grounding_kit.dashboard.voila_app`): Voila itself, with its pre-heated kernel pool
(``--preheat_kernel=True --pool_size=N``: each pooled kernel has already run the notebook, so a
visitor gets a rendered page) and its idle-kernel culling (``MappingKernelManager.cull_idle_timeout``).
Voila has no cap on visitors of its own; this module adds one, the least invasive way:

- :class:`RoomHandler` (Voila's notebook page handler, subclassed) admits a request only while
  fewer than ``RoomVoila.seats`` visitors hold a seat; past that it answers at once with
  :func:`room_full_page` (HTTP 503, ``Retry-After``), a small page that reloads itself, and starts
  no kernel. A seat is taken when a page request is admitted and is held by the kernel that
  request gets (pooled or new), until that kernel is shut down (the page closed: Voila's own
  ``beforeunload`` shutdown, which needs the ``_xsrf`` cookie the handler sets) or culled.
- the pool is topped up only into free seats: kernels alive (visitors' and pooled) stay within
  ``seats``, so the room's memory is bounded by ``seats`` kernels.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import time
from dataclasses import dataclass
from typing import Any

import tornado.web
from jupyter_core.utils import ensure_async
from tornado.ioloop import PeriodicCallback
from traitlets import Int
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

#: how often the room frees the seats of kernels that are gone and tops the pool up (seconds)
TOP_UP_INTERVAL_S = 5.0
#: how long a request waits at start-up for the pool's first kernel to exist (Voila sends requests that
#: arrive before it to a new kernel each, beside the pool's); then it is served as Voila would
POOL_START_WAIT_S = 60.0


def room_full_page(taken: int, seats: int, retry_s: int = 60) -> str:
    """The page a visitor past the cap gets: the room is full, ``taken`` of ``seats`` seats; it
    reloads itself after ``retry_s`` seconds (a seat may be free by then)."""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>The room is full</title>"
            f"<meta http-equiv='refresh' content='{int(retry_s)}'>"
            "<style>body{font:20px/1.5 sans-serif;max-width:40em;margin:15vh auto;padding:0 1em;color:#222}</style>"
            f"</head><body><h1 class='gk-room-full'>The room is full</h1>"
            f"<p>{int(taken)} of {int(seats)} seats are taken. Try again in a minute: this page reloads "
            f"itself in {int(retry_s)} s.</p></body></html>")


@dataclass
class Seat:
    """One admitted page request; ``kernel_id`` once it has its kernel."""

    number: int
    kernel_id: str | None = None


class _SeatedKernelManager:
    """Voila's kernel manager as one admitted request sees it: the kernel that request gets
    (a pooled one, or a new one) is recorded on its seat; everything else is the manager's own."""

    def __init__(self, manager: Any, seat: Seat) -> None:
        self._manager, self._seat = manager, seat

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        kernel_id = await ensure_async(self._manager.start_kernel(*args, **kwargs))
        self._seat.kernel_id = kernel_id
        return kernel_id

    async def get_rendered_notebook(self, *args: Any, **kwargs: Any) -> tuple:
        task, cache, kernel_id = await self._manager.get_rendered_notebook(*args, **kwargs)
        self._seat.kernel_id = kernel_id
        return task, cache, kernel_id


class RoomHandler(TornadoVoilaHandler):
    """Voila's notebook page, admitted only while the room has a free seat."""

    def initialize(self, room: "RoomVoila", **kwargs: Any) -> None:
        self.room = room
        self.seat: Seat | None = None
        super().initialize(**kwargs)

    @property
    def kernel_manager(self) -> Any:
        manager = self.settings["kernel_manager"]
        return manager if self.seat is None else _SeatedKernelManager(manager, self.seat)

    @tornado.web.authenticated
    async def get(self, path: str | None = None) -> None:
        if path:  # a file next to the notebook: Voila redirects, no kernel
            return await super().get(path)
        await self.room.pool_started()
        self.seat = self.room.take_seat()
        if self.seat is None:
            taken = self.room.seats_taken()
            self.room.log.info("room full (%d of %d seats): %s turned away", taken, self.room.seats,
                               self.request.remote_ip)
            self.set_status(503)
            self.set_header("Retry-After", "60")
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(room_full_page(taken, self.room.seats))
            return
        # tornado sets the `_xsrf` cookie when the token is first read. Voila's page posts it back as it
        # closes, to shut its kernel down (and free the seat); a pre-heated page, rendered before any
        # request, never read it, so that post was refused (403 "'_xsrf' argument missing")
        self.xsrf_token  # noqa: B018 - read for its side effect
        try:
            await super().get(path)
        finally:
            if self.seat.kernel_id is None:  # the request ended before it got a kernel
                self.room.free_seat(self.seat)


class RoomVoila(Voila):
    """Voila with a cap on visitors (``seats``) and a pre-heated pool kept within it."""

    name = "voila"
    seats = Int(0, config=True, help="Visitors served at once; a visitor past them gets a 'room is full' page "
                                     "(0: no cap). The pre-heated pool fills free seats only.")

    def initialize(self, argv: Any = None) -> None:
        super().initialize(argv)
        self._seats: list[Seat] = []
        self._numbers = itertools.count(1)
        self._pool_size = max(self.voila_configuration.default_pool_size, 0) \
            if self.voila_configuration.preheat_kernel else 0

    # --- seats -------------------------------------------------------------------------------
    def seats_taken(self) -> int:
        """Seats held now: admitted requests still waiting for their kernel, and kernels of
        admitted requests that are still alive."""
        alive = set(self.kernel_manager.list_kernel_ids())
        self._seats = [seat for seat in self._seats if seat.kernel_id is None or seat.kernel_id in alive]
        return len(self._seats)

    def take_seat(self) -> Seat | None:
        """A seat for a new visitor, or ``None`` if all are taken (no cap when ``seats`` is 0)."""
        if self.seats and self.seats_taken() >= self.seats:
            return None
        seat = Seat(next(self._numbers))
        self._seats.append(seat)
        return seat

    def free_seat(self, seat: Seat) -> None:
        if seat in self._seats:
            self._seats.remove(seat)

    # --- the pool ----------------------------------------------------------------------------
    def _pool(self) -> list:
        pools = getattr(self.kernel_manager, "_pools", {})
        return pools.get(getattr(self.kernel_manager, "notebook_path", None), [])

    def pool_target(self) -> int:
        """How many pre-heated kernels to keep: ``pool_size``, within the free seats."""
        if not self.seats:
            return self._pool_size
        return max(0, min(self._pool_size, self.seats - self.seats_taken()))

    async def pool_started(self) -> None:
        """At start-up, wait until the pool's first kernel exists: Voila serves a pooled kernel
        only from then on, and would start a new kernel for each request before it."""
        manager, deadline = self.kernel_manager, time.monotonic() + POOL_START_WAIT_S
        name = getattr(manager, "notebook_path", None)
        while (self._pool_size and name is not None and manager.get_pool_size(name) > 0
               and name not in manager.notebook_data and time.monotonic() < deadline):
            await asyncio.sleep(0.2)

    def _top_up(self) -> None:
        """Free the seats of kernels that are gone; refill the pool into free seats."""
        manager = self.kernel_manager
        name = getattr(manager, "notebook_path", None)
        if self._pool_size and name is not None and len(self._pool()) < self.pool_target():
            manager.fill_if_needed(delay=0, notebook_name=name)

    def init_settings(self) -> dict:
        settings = super().init_settings()
        manager = self.kernel_manager
        if self._pool_size and self.seats:
            fill = manager.fill_if_needed

            def fill_within_seats(*args: Any, **kwargs: Any) -> None:
                # Voila fills the pool up to its configured size: make that size the free seats
                manager.kernel_pools_config.setdefault("default", {})["pool_size"] = self.pool_target()
                fill(*args, **kwargs)

            manager.fill_if_needed = fill_within_seats
        return settings

    def init_handlers(self) -> list:
        handlers = []
        for handler in super().init_handlers():
            if len(handler) == 3 and handler[1] is TornadoVoilaHandler:
                handler = (handler[0], RoomHandler, {**handler[2], "room": self})
            handlers.append(handler)
        return handlers

    def start(self) -> None:
        self.log.info("room: %s seats, pre-heated pool of %d", self.seats or "unlimited", self._pool_size)
        if self._pool_size:
            PeriodicCallback(self._top_up, TOP_UP_INTERVAL_S * 1000).start()
        super().start()


def main() -> None:
    RoomVoila.launch_instance()
