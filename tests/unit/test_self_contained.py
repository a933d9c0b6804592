"""A clone of the repository alone must run every test: nothing may read a sibling checkout."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Spelt in pieces so this file does not match itself.
SIBLING = "../" + "shared"
SIBLING_PATH = "parent / " + '"shared"'  # how tests used to reach it
CHECKED = ("src", "tests", "bench", "Makefile", "pyproject.toml", ".ci")
TEXT_SUFFIXES = {".py", ".toml", ".cfg", ".ini", ".sh", ".mk", ".md", ".txt", ".yaml", ".yml", ""}


def _files() -> list[Path]:
    files: list[Path] = []
    for name in CHECKED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix in TEXT_SUFFIXES
                and "data" not in p.relative_to(ROOT).parts[:3]
            ]
    return files


def test_no_file_reads_a_sibling_checkout() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _files()
        if any(
            pattern in path.read_text(encoding="utf-8", errors="replace")
            for pattern in (SIBLING, SIBLING_PATH)
        )
    ]
    assert offenders == [], f"files that read {SIBLING!r}: {offenders}"


def test_the_scan_sees_the_tests_themselves() -> None:
    # A scan that found nothing would pass the test above vacuously.
    names = {path.name for path in _files()}
    assert {"conftest.py", "Makefile", "pyproject.toml", "run"} <= names


def test_conformance_material_is_in_the_repository() -> None:
    from tests.conformance import CONFORMANCE, EPCIS_12, EPCIS_20, EVENT_HASH, INVALID

    for folder in (EPCIS_20 / "JSON", EPCIS_20 / "XML", EPCIS_12, EVENT_HASH, INVALID):
        assert folder.is_relative_to(ROOT), folder
        assert any(folder.rglob("*.*")), f"{folder} is empty"
    assert (CONFORMANCE / "PROVENANCE.md").is_file()
