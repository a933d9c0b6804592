"""The prompt files: ``DIR/traceseal/<lang>/<name>.wav``, 8 kHz mono 16-bit PCM, the format
Asterisk plays without transcoding.

Speech is synthesised by espeak-ng (Mandarin voice ``cmn``, English ``en``) and resampled by
sox; both are system tools (``make prompts-tools`` installs Debian's packages), run as
subprocesses with the text as an argument, never through a shell. A recorded prompt of the
same name (TRACESEAL_IVR_PROMPTS_DIR/<lang>/<name>.wav, any rate or width sox reads)
replaces the synthesised one. ``manifest.json`` keeps a digest of what each file was made
from (the text and voice, or the recording's bytes): a file whose digest has not changed is
left alone, so a second run only renders what changed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from traceseal.channels.prompts import LANGUAGES, catalogue

__all__ = ["RATE", "Rendered", "missing_tools", "render_all"]

RATE = 8000
#: espeak-ng's voice per language; "cmn" is its Mandarin.
VOICES = {"zh-CN": "cmn", "en": "en"}
#: Words a minute: a little slower than espeak-ng's 175, for a telephone line.
SPEED = 160
#: Bumped when the way files are made changes, so every file is made again.
RECIPE = "espeak-ng+sox/2"


@dataclass(frozen=True, slots=True)
class Rendered:
    made: int
    kept: int
    recorded: int


def missing_tools() -> list[str]:
    """The system tools synthesis needs that are not on PATH."""
    return [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (make prompts-tools)")
    return found


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


#: sox effects for synthesised speech: espeak-ng's own silence trimmed from both ends (so
#: composed numbers do not drag), then a short pause either side.
_TRIM = ["silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse",
         "pad", "0.1", "0.15"]  # fmt: skip


def _to_telephone(source: Path, target: Path, effects: list[str] | None = None) -> None:
    """Any audio sox reads, as 8 kHz mono signed 16-bit, written atomically."""
    partial = target.with_suffix(".part.wav")
    subprocess.run(  # noqa: S603 - a list of arguments, no shell; paths we made
        [
            _tool("sox"),
            "-q",
            str(source),
            "-r",
            str(RATE),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(partial),
            *(effects or []),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    partial.replace(target)


def _synthesise(text: str, lang: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="traceseal-voice-") as tmp:
        raw = Path(tmp) / "speech.wav"
        subprocess.run(  # noqa: S603 - no shell: the catalogue's text is one argument
            [_tool("espeak-ng"), "-v", VOICES[lang], "-s", str(SPEED), "-w", str(raw), "--", text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        _to_telephone(raw, target, _TRIM)


def render_all(
    out: Path,
    recorded: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 2,
) -> Rendered:
    """Write every prompt of every language under ``out/traceseal``; only what changed."""
    root = out / "traceseal"
    manifest_path = root / "manifest.json"
    try:
        manifest: dict[str, str] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    jobs: list[tuple[str, str, str, Path | None, str]] = []
    counts = {"kept": 0, "recorded": 0}
    for lang in LANGUAGES:
        (root / lang).mkdir(parents=True, exist_ok=True)
        for name, text in sorted(catalogue()[lang].items()):
            source = None if recorded is None else recorded / lang / f"{name}.wav"
            if source is not None and source.is_file():
                digest = _digest(b"recorded", source.read_bytes())
                counts["recorded"] += 1
            else:
                source = None
                digest = _digest(RECIPE.encode(), VOICES[lang].encode(), text.encode())
            key = f"{lang}/{name}"
            if manifest.get(key) == digest and (root / f"{key}.wav").is_file():
                counts["kept"] += 1
                continue
            jobs.append((key, lang, text, source, digest))

    done = 0

    def one(job: tuple[str, str, str, Path | None, str]) -> None:
        key, lang, text, source, _ = job
        target = root / f"{key}.wav"
        if source is None:
            _synthesise(text, lang, target)
        else:
            _to_telephone(source, target)

    # espeak-ng and sox are single-threaded processes: one per core.
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for job, _ in zip(jobs, pool.map(one, jobs), strict=True):
                manifest[job[0]] = job[4]
                done += 1
                if progress is not None:
                    progress(done, len(jobs))
    finally:
        # What was made before a failure is kept, and not made again next time.
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return Rendered(made=len(jobs), kept=counts["kept"], recorded=counts["recorded"])
