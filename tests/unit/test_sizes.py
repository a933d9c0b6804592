"""Units small enough to read whole: no module over 600 lines anywhere, and on the hot paths
(verification, codes, EPCIS capture and query) no function over 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import traceseal

PACKAGE = Path(traceseal.__file__).parent
MODULE_LINES = 600
FUNCTION_LINES = 60
HOT_PATHS = ("verify", "codes", "epcis")


def long_modules(root: Path) -> list[str]:
    return sorted(
        f"{path.relative_to(root)}: {lines} lines"
        for path in root.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    )


def long_functions(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > FUNCTION_LINES:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {lines}")
    return found


def test_no_module_is_over_600_lines() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 100  # the whole package was read
    assert long_modules(PACKAGE) == []


def test_no_function_on_the_hot_paths_is_over_60_lines() -> None:
    for feature in HOT_PATHS:
        assert (PACKAGE / feature / "__init__.py").exists()
        assert long_functions(PACKAGE / feature) == []


def test_a_long_function_and_a_long_module_are_found(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def f() -> None:\n{body}\n" + "\n" * MODULE_LINES)
    assert long_functions(tmp_path) == [f"long.py:1 f: {FUNCTION_LINES + 1}"]
    assert long_modules(tmp_path) == [f"long.py: {FUNCTION_LINES + 1 + MODULE_LINES} lines"]
