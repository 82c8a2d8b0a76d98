"""The hub's memory by The Littlest JupyterHub's rule, and the table the instructor's guide shows."""

from __future__ import annotations

import pytest

from grounding_kit.course import sizing


def test_the_rule_is_concurrent_users_times_memory_per_user_plus_the_overhead():
    rows = sizing.hub_memory_table([30, 100, 300], per_user_mib=1024)
    assert [(r.concurrent, r.total_mib) for r in rows] == [(30, 30 * 1024 + 128), (100, 100 * 1024 + 128),
                                                           (300, 300 * 1024 + 128)]
    assert rows[0].total_gib == 30.2  # 30,848 MiB rounded up to a tenth of a GiB
    half = sizing.hub_memory_table([31], per_user_mib=1000, concurrency=0.5)
    assert half[0].concurrent == 16 and half[0].total_mib == 16 * 1000 + 128


def test_per_user_limit_adds_the_headroom_rounded_up():
    assert sizing.per_user_limit(1000, headroom=0.2) == 1200
    assert sizing.per_user_limit(1000.5, headroom=0.0) == 1001


@pytest.mark.parametrize("call, message", [
    (lambda: sizing.per_user_limit(0), "measured_peak_mib=0"),
    (lambda: sizing.per_user_limit(900, headroom=2), "headroom=2"),
    (lambda: sizing.hub_memory_table([30], 1024, concurrency=0), "concurrency=0"),
    (lambda: sizing.hub_memory_table([0], 1024), "class size 0"),
])
def test_bad_sizes_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_instructors_guide_shows_the_tables_of_the_measured_figure():
    from conftest import REPO

    guide = (REPO / "docs" / "instructor.md").read_text(encoding="utf-8")
    per_user = sizing.per_user_limit(sizing.MEASURED_USER_PEAK_MIB)
    for concurrency in (1.0, 0.5):
        assert sizing.markdown_table(sizing.hub_memory_table([30, 100, 300], per_user, concurrency)) in guide
    assert f"{sizing.MEASURED_USER_PEAK_MIB} MiB" in guide
    bench = (REPO / "benchmarks" / "class_load_bench.md").read_text(encoding="utf-8")
    assert f"| {sizing.MEASURED_USER_PEAK_MIB} |" in bench  # the figure is the load test's highest user
