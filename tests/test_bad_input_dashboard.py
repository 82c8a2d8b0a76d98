"""Bad input to the dashboard (a port in use): the kit's convention is a clear error naming the argument, shape or file."""

from __future__ import annotations


def test_voila_never_moves_to_another_port_silently():
    from grounding_kit.dashboard.server import voila_command

    assert "--Voila.port_retries=0" in voila_command(8866)
