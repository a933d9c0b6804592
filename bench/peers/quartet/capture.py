"""Times QU4RTET's EPCIS capture: parse and store EPCIS 1.2 XML documents on SQLite.

Each document goes through one of QU4RTET's own parsers, as its capture step would run it:
  * business (default): quartet_epcis.parsing.business_parser.BusinessEPCISParser, which
    enforces commissioning and aggregation rules; what QU4RTET's "EPCIS" rule uses;
  * plain: quartet_epcis.parsing.parser.QuartetParser, which stores without those rules
    (QU4RTET's "LooseEnforcement").
Either one runs a document in one transaction. Only parse() is timed: Django setup, migrations,
reading the file and counting its events are not. The documents go into one database, in the
order given, so they must not share EPCs (bench/epcis_docs.py with distinct seeds).

Prints one JSON line per document: {"file", "events", "seconds", "events_per_s", "parser"},
after checking that the database holds as many new events as the document has; exits non-zero
if a document is refused or comes out short.

Run it with the peer's own interpreter (setup.sh makes it):
  bench/peers/quartet/.venv/bin/python bench/peers/quartet/capture.py [--parser plain] FILE...
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARSERS = {
    "business": "quartet_epcis.parsing.business_parser.BusinessEPCISParser",
    "plain": "quartet_epcis.parsing.parser.QuartetParser",
}


def count_events(document: bytes) -> int:
    from lxml import etree

    root = etree.fromstring(document)
    return int(root.xpath("count(/*/EPCISBody/EventList/*)"))


def start_django(database: Path) -> None:
    # Settings are read once, by django.setup(); the database must be named before it.
    os.environ["QUARTET_BENCH_DB"] = str(database)
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import django
    from django.core.management import call_command

    # EPCPyYes stamps recordTime with a naive datetime.utcnow() and Django warns about it on
    # every event, then stores it as UTC, which is right. Printing a warning per event would be
    # counted as QU4RTET's capture time.
    warnings.filterwarnings(
        "ignore", message=r"DateTimeField .* received a naive datetime", category=RuntimeWarning
    )
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def capture(path: Path, parser_name: str) -> dict[str, object]:
    from django.utils.module_loading import import_string
    from quartet_epcis.models import events

    parser_class = import_string(PARSERS[parser_name])
    document = path.read_bytes()
    expected = count_events(document)

    start = time.perf_counter()
    message_id = parser_class(io.BytesIO(document)).parse()
    seconds = time.perf_counter() - start

    stored = events.Event.objects.filter(message_id=message_id).count()
    if stored != expected:
        raise SystemExit(f"{path}: the document has {expected} events, {stored} were stored")
    return {
        "file": str(path),
        "events": stored,
        "seconds": round(seconds, 6),
        "events_per_s": round(stored / seconds, 1),
        "parser": parser_name,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="EPCIS 1.2 XML documents")
    parser.add_argument("--parser", choices=sorted(PARSERS), default="business")
    parser.add_argument(
        "--db", type=Path, help="SQLite file to use and keep (default: a temporary one)"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="quartet-bench-") as scratch:
        start_django(args.db or Path(scratch) / "quartet.db")
        for path in args.files:
            try:
                result = capture(path, args.parser)
            except Exception as error:  # QU4RTET's refusals have no common base class
                raise SystemExit(f"{path}: {type(error).__name__}: {error}") from error
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
