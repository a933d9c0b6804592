"""TRACESEAL_LEDGER_WITNESSES: the witnesses the log sends its checkpoints to."""

from __future__ import annotations

import pytest

from traceseal.config import SettingsError, load_settings
from traceseal.merkle.note import ALG_COSIGNATURE_V1, Signer


def test_the_witnesses_setting() -> None:
    one = Signer.generate("w.example/1", ALG_COSIGNATURE_V1).verifier
    two = Signer.generate("w=2", ALG_COSIGNATURE_V1).verifier  # '=' is allowed in a name
    raw = f" {one.encode()}=https://w.example/1/ ,{two.encode()}=http://127.0.0.1:7380,"
    settings = load_settings({"TRACESEAL_LEDGER_WITNESSES": raw})
    assert settings.resolved_ledger_witnesses == (
        (one, "https://w.example/1"),
        (two, "http://127.0.0.1:7380"),
    )
    assert load_settings({}).resolved_ledger_witnesses == ()
    note_key = Signer.generate("w.example/1").verifier
    for bad, reason in [
        (one.encode(), "is not <witness verifier key>="),
        (f"{one.encode()}=ftp://w.example", "is not <witness verifier key>="),
        (f"{note_key.encode()}=https://w.example", "not a cosignature key"),
        (f"{one.encode()[:-2]}=https://w.example", "TRACESEAL_LEDGER_WITNESSES"),
        (f"{one.encode()}=https://a,{one.encode()}=https://b", "listed twice"),
    ]:
        with pytest.raises(SettingsError, match=reason):
            load_settings({"TRACESEAL_LEDGER_WITNESSES": bad})
