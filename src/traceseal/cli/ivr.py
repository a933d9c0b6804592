"""``ivr serve`` and ``ivr prompts``: the telephone channel (docs/channels.md)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import typer

from traceseal.channels.ivr import DEFAULT_PORT, IvrServer
from traceseal.channels.voice import missing_tools, render_all
from traceseal.cli.common import JsonOption, emit, err, fail, keyring, progress, settings
from traceseal.db import make_engine, make_session_factory
from traceseal.verify.channel import Verifier

app = typer.Typer(
    help="The telephone channel: a FastAGI server for Asterisk.", no_args_is_help=True
)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (Asterisk connects here)."),
    port: int = typer.Option(DEFAULT_PORT, help="TCP port (FastAGI's is 4573)."),
) -> None:
    """Answer calls that Asterisk's dialplan hands over with AGI(agi://HOST:PORT/verify)."""
    config = settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    engine = make_engine(config.resolved_database_url)
    verifier = Verifier(config, make_session_factory(engine), keyring())
    ivr = IvrServer(
        verifier,
        english_numbers=config.ivr_english_numbers,
        digit_timeout=config.ivr_digit_timeout,
    )

    async def main() -> None:
        server = await ivr.start(host, port)
        bound = server.sockets[0].getsockname()
        err.print(f"ivr: answering AGI(agi://{bound[0]}:{bound[1]}/verify)", highlight=False)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    finally:
        engine.dispose()


@app.command("prompts")
def prompts(
    out: Path = typer.Option(..., "--out", help="Asterisk's sounds directory (or a copy of it)."),
    as_json: bool = JsonOption,
) -> None:
    """Write every prompt as OUT/traceseal/<lang>/<name>.wav (8 kHz mono 16-bit), zh-CN and
    en; only prompts whose text or recording changed are made again."""
    missing = missing_tools()
    if missing:
        fail(f"{' and '.join(missing)} not found: `make prompts-tools` installs them (Debian)")
    config = settings()
    started = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("prompts", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        rendered = render_all(out, config.ivr_prompts_dir, tick)
    seconds = round(time.perf_counter() - started, 2)
    data = {
        "made": rendered.made,
        "kept": rendered.kept,
        "recorded": rendered.recorded,
        "seconds": seconds,
        "directory": str(out / "traceseal"),
    }
    human = (
        f"{rendered.made} prompts made, {rendered.kept} unchanged "
        f"({rendered.recorded} from recordings) in {out / 'traceseal'}, {seconds} s"
    )
    emit(as_json, data, human)
