"""`grounding-kit dashboard --room`: its settings, its Voila command line and the page past the cap
(no server here; the room in a browser is tests/test_browser_room.py)."""

from __future__ import annotations

import pytest

from grounding_kit import cli
from grounding_kit.dashboard.room import room_full_page
from grounding_kit.dashboard.server import KERNEL_BUDGET_MB, ROOM_POOL, Room, room_seats, voila_command


def test_room_seats_is_three_quarters_of_memory_in_kernel_budgets():
    gib = 2**30
    assert room_seats(16 * gib) == int(16 * 1024 * 0.75 / KERNEL_BUDGET_MB) == 24
    assert room_seats(2**20) == 1  # never 0
    assert room_seats() >= 1
    with pytest.raises(ValueError, match="memory_bytes"):
        room_seats(0)


def test_room_checks_its_numbers():
    assert Room(seats=30).pool == ROOM_POOL
    with pytest.raises(ValueError, match=r"pool \(5\) must not exceed seats \(3\)"):
        Room(seats=3, pool=5)
    with pytest.raises(ValueError, match="seats must be an integer >= 1"):
        Room(seats=0, pool=0)
    with pytest.raises(ValueError, match="cull_idle_s"):
        Room(seats=3, pool=1, cull_idle_s=0)


def test_the_room_command_pre_heats_caps_and_culls():
    command = voila_command(8899, host="0.0.0.0", room=Room(seats=12, pool=10, cull_idle_s=300))
    for option in ("--preheat_kernel=True", "--pool_size=10", "--RoomVoila.seats=12",
                   "--MappingKernelManager.cull_idle_timeout=300", "--VoilaExecutor.iopub_timeout=60"):
        assert option in command
    assert not any(arg.startswith("--preheat_kernel") for arg in voila_command(8899, room=Room(seats=4, pool=0)))
    with pytest.raises(ValueError, match="preheat or room"):
        voila_command(8899, preheat=True, room=Room(seats=4, pool=1))


def test_the_full_page_says_how_many_seats_and_reloads():
    page = room_full_page(20, 20)
    assert "20 of 20 seats are taken" in page and "http-equiv='refresh' content='60'" in page
    assert len(page.encode()) < 1000  # small: served at once, whatever the room's load


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        cli.main(list(argv))
    return stop.value.code, capsys.readouterr().err


def test_room_options_need_room_and_fit_the_seats(capsys, monkeypatch):
    code, err = run_cli(capsys, "dashboard", "--seats", "3")
    assert code == 2 and "--seats set up a room: give --room too" in err
    code, err = run_cli(capsys, "dashboard", "--room", "--seats", "3", "--pool", "5")
    assert code == 2 and "--pool 5 is more than --seats 3" in err
    served = {}
    monkeypatch.setattr("grounding_kit.dashboard.serve", lambda **kwargs: served.update(kwargs) or 0)
    monkeypatch.setattr("grounding_kit.dashboard.server.check_port_free", lambda port, host: None)
    assert cli.main(["dashboard", "--room", "--seats", "3"]) == 0
    assert served["room"] == Room(seats=3, pool=3) and served["host"] == "0.0.0.0"
    assert cli.main(["dashboard"]) == 0 and served["room"] is None
