"""Is the model hub reachable? Decided within seconds, never by hanging.

``huggingface_hub`` retries for tens of seconds (open_clip: 47 s, ViltProcessor: 210 s) before
it gives up on a closed network. The kit asks first, with a hard deadline, and fails fast with a
message that names the offline default.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass

HUB_HOST = "huggingface.co"
HUB_PORT = 443
DEFAULT_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Reachability:
    """The verdict of :func:`check_hub`: ``ok`` and a one-line reason."""

    ok: bool
    reason: str


class HubUnavailable(RuntimeError):
    """A model or dataset needs the Hugging Face hub, its files are not cached, and the hub is out
    of reach (or ``HF_HUB_OFFLINE=1``). The message is one line naming the kit's offline default."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows in a notebook instead of the traceback: the one line."""
        return [f"{type(self).__name__}: {self}"]


def hub_offline_requested() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) asks for offline mode."""
    return any(os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
               for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def check_hub(timeout: float = DEFAULT_TIMEOUT_S, host: str = HUB_HOST,
              port: int = HUB_PORT) -> Reachability:
    """Try a TCP connection to the hub, name lookup included, within ``timeout`` seconds.

    The lookup runs in a daemon thread because ``getaddrinfo`` has no timeout of its own.
    """
    if hub_offline_requested():
        return Reachability(False, "HF_HUB_OFFLINE=1 is set")
    verdict: list[Reachability] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                verdict.append(Reachability(True, f"{host}:{port} answered"))
        except OSError as err:
            verdict.append(Reachability(False, f"{host}:{port} unreachable ({err.__class__.__name__}: {err})"))

    thread = threading.Thread(target=probe, daemon=True, name="grounding-kit-hub-probe")
    thread.start()
    thread.join(timeout)
    if not verdict:
        return Reachability(False, f"{host}:{port} did not answer within {timeout:g} s")
    return verdict[0]


def require_hub(what: str, offline_default: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """Raise :class:`HubUnavailable` quickly if ``what`` would need the hub and the hub is out of reach.

    Parameters
    ----------
    what : the model or dataset name that was asked for.
    offline_default : the call that works offline, e.g. ``'gk.load_clip("tiny-shapes")'``.
    """
    verdict = check_hub(timeout)
    if not verdict.ok:
        raise HubUnavailable(
            f"cannot load {what!r}: the model hub is not reachable ({verdict.reason}). "
            f"Use the offline default instead: {offline_default}"
        )
