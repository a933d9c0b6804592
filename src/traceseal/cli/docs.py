"""``traceseal docs``: the reference parts of ``docs/`` written from the code itself.

Three blocks are generated, each between ``<!-- generated: NAME -->`` and
``<!-- end generated -->`` markers in its file, so the prose around them stays hand-written:

- ``docs/settings.md``: every setting, from :data:`traceseal.config.SETTINGS`;
- ``docs/cli.md``: every command and option, from the Typer application;
- ``docs/api.md``: every HTTP operation, from the OpenAPI document the server serves.

``make docs`` rewrites them; ``tests/unit/test_generated_docs.py`` fails when one is stale.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer

from traceseal.config import SETTINGS, load_settings

#: The repository's docs/ folder (the command runs from a checkout).
DOCS = Path(__file__).resolve().parents[3] / "docs"
_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped, docstrings' ``literal`` as Markdown's."""
    return " ".join(text.split()).replace("|", "\\|").replace("``", "`")


def settings_table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{s.name}` | `{s.default}` | {_cell(s.help)} |" for s in SETTINGS]
    return "\n".join(lines) + "\n"


# Typer carries its own copy of Click, so commands are told apart by what they do, not by
# Click's classes.
def _commands(group: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    context = group.context_class(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if command is None or command.hidden:
            continue
        path = f"{prefix} {name}"
        if hasattr(command, "list_commands"):
            yield from _commands(command, path)
        else:
            yield path, command


def _option(param: Any) -> str:
    if param.param_type_name == "argument":
        return f"`{(param.metavar or param.name or '').upper()}`"
    names = " / ".join(f"`{name}`" for name in (*param.opts, *param.secondary_opts))
    if param.required:
        names += " (required)"
    elif param.default not in (None, False, (), "") and not param.is_flag:
        names += f" (default `{param.default}`)"
    return names


def cli_reference(app: typer.Typer) -> str:
    root = typer.main.get_command(app)
    sections: list[str] = []
    for path, command in _commands(root, "traceseal"):
        help_text = (command.help or "").strip()
        summary, _, rest = help_text.partition("\n\n")
        lines = [f"### `{path}`", "", _cell(summary) or "(no description)"]
        if rest.strip():
            lines += ["", "\n".join(line.rstrip() for line in rest.strip().splitlines())]
        params = [p for p in command.params if not getattr(p, "hidden", False)]
        if params:
            lines += ["", "| option | meaning |", "|---|---|"]
            for param in params:
                meaning = getattr(param, "help", None) or ""
                lines.append(f"| {_option(param)} | {_cell(meaning)} |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def _openapi() -> dict[str, Any]:
    from traceseal.app import create_app

    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings({}, data_dir=Path(scratch), master_key=secrets.token_hex(32))
        app = create_app(settings)
        try:
            return app.openapi()
        finally:
            app.state.engine.dispose()


def api_index(document: dict[str, Any] | None = None) -> str:
    document = document if document is not None else _openapi()
    # Until the document declares how callers authenticate, the column would only guess.
    secured = "securitySchemes" in document.get("components", {})
    public_by_default = document.get("security") in (None, [], [{}])
    rows: dict[str, list[str]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete", "head"}:
                continue
            # The docstring's first sentence says more than the name FastAPI makes a title of.
            what = _cell(operation.get("description", "")).split(". ")[0].rstrip(".")
            row = f"| `{method.upper()} {path}` | {what or _cell(operation.get('summary', ''))} |"
            if secured:
                security = operation.get("security")
                public = security in ([], [{}]) if security is not None else public_by_default
                row += f" {'anyone' if public else 'API key'} |"
            tag = (operation.get("tags") or ["other"])[0]
            rows.setdefault(tag, []).append(row)
    header = (
        ["| operation | what | who |", "|---|---|---|"]
        if secured
        else [
            "| operation | what |",
            "|---|---|",
        ]
    )
    lines: list[str] = []
    for tag in sorted(rows):
        lines += [f"### {tag}", "", *header, *rows[tag], ""]
    return "\n".join(lines)


def generators(cli: typer.Typer) -> dict[tuple[str, str], Callable[[], str]]:
    return {
        ("settings.md", "settings"): settings_table,
        ("cli.md", "cli"): lambda: cli_reference(cli),
        ("api.md", "api"): api_index,
    }


def render(cli: typer.Typer, docs: Path = DOCS) -> dict[Path, str]:
    """Each generated file's text with its blocks written anew (files that change only);
    ``cli`` is the application whose commands docs/cli.md lists."""
    wanted: dict[str, dict[str, Callable[[], str]]] = {}
    for (file, block), make in generators(cli).items():
        wanted.setdefault(file, {})[block] = make
    changed: dict[Path, str] = {}
    for file, blocks in wanted.items():
        path = docs / file
        text = path.read_text(encoding="utf-8")
        found = {match.group(2) for match in _BLOCK.finditer(text)}
        missing = set(blocks) - found
        if missing:
            raise SystemExit(f"{path}: no <!-- generated: {', '.join(sorted(missing))} --> block")

        def fill(match: re.Match[str], blocks: dict[str, Callable[[], str]] = blocks) -> str:
            make = blocks.get(match.group(2))
            body = match.group(3) if make is None else make()
            return f"{match.group(1)}{body}{match.group(4)}"

        new = _BLOCK.sub(fill, text)
        if new != text:
            changed[path] = new
    return changed


def register(app: typer.Typer) -> None:
    @app.command("docs", hidden=True)
    def docs(
        check: bool = typer.Option(False, "--check", help="Exit 1 if a file is out of date."),
    ) -> None:
        """Write the generated blocks of docs/settings.md, docs/cli.md and docs/api.md."""
        changed = render(app)
        for path in changed:
            typer.echo(f"{'stale' if check else 'wrote'} {path.relative_to(DOCS.parent)}")
        if check:
            raise typer.Exit(1 if changed else 0)
        for path, text in changed.items():
            path.write_text(text, encoding="utf-8")
