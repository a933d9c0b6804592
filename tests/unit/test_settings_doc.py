"""docs/settings.md lists exactly the settings the code reads, with the same defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from traceseal.config import SETTINGS, SettingsError, load_settings

DOC = Path(__file__).parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented_with_its_default() -> None:
    rows = dict(re.findall(r"^\| `(TRACESEAL_[A-Z_]+)` \| `([^`]*)` \|", DOC.read_text(), re.M))
    assert rows == {s.name: s.default for s in SETTINGS}


def test_unknown_and_invalid_settings_are_refused() -> None:
    with pytest.raises(SettingsError, match="TRACESEAL_PUBLIC_URLS"):
        load_settings({"TRACESEAL_PUBLIC_URLS": "x"})
    with pytest.raises(SettingsError, match="TRACESEAL_SLOT_CAPACITY"):
        load_settings({"TRACESEAL_SLOT_CAPACITY": "lots"})
    with pytest.raises(SettingsError, match="slash"):
        load_settings({"TRACESEAL_PUBLIC_URL": "https://x.example/"})
    assert load_settings({"TRACESEAL_SLOT_CAPACITY": "1_000"}).slot_capacity == 1000
