"""Prompt files from espeak-ng and sox: the telephone format, made again only when their
text changes, and recordings that replace synthesis name by name."""

from __future__ import annotations

import array
import math
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from traceseal.channels import voice
from traceseal.channels.prompts import LANGUAGES, catalogue
from traceseal.channels.voice import missing_tools, render_all

pytestmark = pytest.mark.skipif(
    bool(missing_tools()),
    reason=f"{' and '.join(missing_tools())} not installed (make prompts-tools installs them)",
)


def tone(path: Path, rate: str, channels: str, seconds: str) -> None:
    sox = shutil.which("sox")
    assert sox is not None
    command = [sox, "-n", "-r", rate, "-c", channels, str(path), "synth", seconds, "sine", "440"]
    subprocess.run(command, check=True)


def audio(path: Path) -> tuple[int, int, int, float, float]:
    """(rate, channels, sample width, seconds, RMS)."""
    with wave.open(str(path)) as file:
        samples = array.array("h", file.readframes(file.getnframes()))
        rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))
        rate = file.getframerate()
        return rate, file.getnchannels(), file.getsampwidth(), file.getnframes() / rate, rms


def test_every_prompt_of_both_languages_then_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = render_all(tmp_path)
    total = sum(len(catalogue()[lang]) for lang in LANGUAGES)
    assert (first.made, first.kept) == (total, 0)
    for lang in LANGUAGES:
        for name in catalogue()[lang]:
            rate, channels, width, seconds, rms = audio(
                tmp_path / "traceseal" / lang / f"{name}.wav"
            )
            assert (rate, channels, width) == (8000, 1, 2)
            assert 0.3 <= seconds <= 15, (lang, name, seconds)
            assert rms > 300, (lang, name, rms)

    again = render_all(tmp_path)
    assert (again.made, again.kept) == (0, total)

    # A text that changes is made again, and only it.
    before = (tmp_path / "traceseal/en/goodbye.wav").read_bytes()
    changed = {lang: dict(texts) for lang, texts in catalogue().items()}
    changed["en"]["goodbye"] = "Thank you for calling TraceSeal. Goodbye and take care."
    monkeypatch.setattr(voice, "catalogue", lambda: changed)
    third = render_all(tmp_path)
    assert third.made == 1
    assert (tmp_path / "traceseal/en/goodbye.wav").read_bytes() != before


def test_a_recording_replaces_the_synthesised_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = {"zh-CN": {"welcome": "您好"}, "en": {"welcome": "Hello", "goodbye": "Goodbye"}}
    monkeypatch.setattr(voice, "catalogue", lambda: few)
    recorded = tmp_path / "recorded" / "zh-CN"
    recorded.mkdir(parents=True)
    # A studio recording: 44.1 kHz stereo, a one-second 440 Hz tone.
    tone(recorded / "welcome.wav", "44100", "2", "1")
    made = render_all(tmp_path / "out", tmp_path / "recorded")
    assert (made.made, made.recorded) == (3, 1)
    rate, channels, width, seconds, rms = audio(tmp_path / "out/traceseal/zh-CN/welcome.wav")
    assert (rate, channels, width) == (8000, 1, 2)
    assert seconds == pytest.approx(1.0, abs=0.01)  # the recording's length, not speech
    assert rms > 1000
    # Replacing the recording makes that prompt again.
    assert render_all(tmp_path / "out", tmp_path / "recorded").made == 0
    tone(recorded / "welcome.wav", "8000", "1", "2")
    assert render_all(tmp_path / "out", tmp_path / "recorded").made == 1
    assert audio(tmp_path / "out/traceseal/zh-CN/welcome.wav")[3] == pytest.approx(2.0, abs=0.01)
