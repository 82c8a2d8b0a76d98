"""The reachability decision: fast, never hanging, and honouring HF_HUB_OFFLINE."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from grounding_kit.core import hub


def test_offline_env_short_circuits(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    verdict = hub.check_hub()
    assert not verdict.ok and "HF_HUB_OFFLINE" in verdict.reason
    assert time.monotonic() - start < 0.5


@pytest.mark.network
def test_decision_on_this_network_takes_at_most_the_timeout(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    start = time.monotonic()
    verdict = hub.check_hub(timeout=3.0)
    assert time.monotonic() - start < 3.5
    assert isinstance(verdict.ok, bool) and verdict.reason


@pytest.mark.network
def test_a_listening_server_is_reachable_and_a_closed_port_is_not(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        assert hub.check_hub(timeout=1.0, host="127.0.0.1", port=port).ok
    closed = hub.check_hub(timeout=1.0, host="127.0.0.1", port=port)
    assert not closed.ok and "unreachable" in closed.reason


@pytest.mark.network
def test_a_hanging_name_lookup_cannot_block(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    release = threading.Event()

    def hanging_connection(*args, **kwargs):
        release.wait(30)
        raise OSError("released")

    monkeypatch.setattr(socket, "create_connection", hanging_connection)
    start = time.monotonic()
    verdict = hub.check_hub(timeout=0.5)
    elapsed = time.monotonic() - start
    release.set()
    assert not verdict.ok and "did not answer" in verdict.reason
    assert elapsed < 1.5


def test_require_hub_names_the_offline_default(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.HubUnavailable, match=r"cannot load 'ViT-B-32/laion2b'.*gk\.load_clip\(\"tiny-shapes\"\)") as info:
        hub.require_hub("ViT-B-32/laion2b", 'gk.load_clip("tiny-shapes")')
    [line] = info.value._render_traceback_()  # a notebook shows this one line, no traceback
    assert line.startswith("HubUnavailable: cannot load 'ViT-B-32/laion2b'")
