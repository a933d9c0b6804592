"""The robust z-score a hot spot is judged by, and the weeks it is judged on."""

from __future__ import annotations

import doctest
import statistics

import pytest

from traceseal.analytics import baseline
from traceseal.analytics.baseline import MAD_SCALE, deviation
from traceseal.analytics.hotspots import Week, _judged


def test_the_examples_in_the_docstrings_hold() -> None:
    assert doctest.testmod(baseline).failed == 0


def test_one_past_burst_does_not_hide_the_next() -> None:
    quiet = [0.02, 0.03, 0.02, 0.03, 0.02, 0.03, 0.02]
    with_burst = [*quiet, 0.40]
    found = deviation(0.40, with_burst, floor=0.01)
    assert found is not None
    assert found.z > 20
    # A mean and standard deviation would have let the old burst excuse the new one.
    z_classic = (0.40 - statistics.mean(with_burst)) / statistics.stdev(with_burst)
    assert z_classic < 3


def test_the_spread_is_the_scaled_median_absolute_deviation_with_a_floor() -> None:
    history = [10.0, 12.0, 11.0, 13.0, 50.0]
    found = deviation(20.0, history, floor=0.5)
    assert found is not None
    assert found.median == 12.0
    assert found.spread == pytest.approx(MAD_SCALE * 1.0)
    flat = deviation(3.0, [0.0, 0.0, 0.0], floor=2.0)
    assert flat is not None
    assert (flat.spread, flat.z) == (2.0, 1.5)
    assert deviation(3.0, [0.0, 0.0], floor=2.0) is None


def test_rates_need_volume_and_not_found_counts_have_no_product() -> None:
    week = Week(scans=19, repeats=19, suspicious=0, not_found=0)
    assert not _judged("repeat_rate", 7, week, 20)
    week.add(1, 0, 0, 0)
    assert _judged("repeat_rate", 7, week, 20)
    assert week.figure("repeat_rate") == 0.95
    assert not _judged("repeat_rate", 0, week, 20)
    lost = Week(not_found=3)
    assert _judged("not_found", 0, lost, 20)
    assert not _judged("not_found", 7, lost, 20)
    assert lost.figure("suspicious_rate") == 0.0
