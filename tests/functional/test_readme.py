"""The README's shell blocks run as written, so the first hour it describes cannot drift.

Each ```sh block is run by bash in a fresh directory that has the project's virtual
environment at ``.venv`` (as after ``make install``), one block after another in one shell,
stopping at the first failing command. ``make`` lines are the two commands themselves
(install, serve, test): they are left to CI and to people, as are blocks that say they run
until stopped.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LONG_RUNNING = "Runs until stopped"


def blocks() -> list[str]:
    found = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return [block for block in found if LONG_RUNNING not in block]


def test_the_readme_has_runnable_blocks() -> None:
    runnable = [b for b in blocks() if not b.lstrip().startswith("make ")]
    assert any("traceseal init" in block for block in runnable)


def test_the_readme_walk_through_runs(tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    script = "\n".join(
        "\n".join(line for line in block.splitlines() if not line.startswith("make "))
        for block in blocks()
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[-3] == "code,url"
    assert lines[-2].split(",")[1].startswith("https://verify.example.org/01/09506000134376/21/")
    assert "no problems found" in result.stderr
