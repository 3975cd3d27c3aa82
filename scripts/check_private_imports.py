#!/usr/bin/env python3
"""Fail when a module of a package imports another module's private (``_name``) name.

``from corpus.x import _helper`` (or ``corpus.x._helper``) in any module other than
``corpus.x`` itself is an error: promote the name (drop the underscore) or move it. Run by
``scripts/check``; ``python scripts/check_private_imports.py [ROOT]`` checks ROOT/corpus.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGE = "corpus"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def private_imports(root: Path) -> list[str]:
    """``path:line: message`` for every private name imported from another module."""
    found = []
    modules = {module_name(root, p) for p in (root / PACKAGE).rglob("*.py")}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        importer = module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        aliases = _module_aliases(tree, modules)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                source = node.module
                if source.split(".")[0] != PACKAGE or source == importer:
                    continue
                for alias in node.names:
                    if _private(alias.name):
                        found.append(
                            f"{path}:{node.lineno}: {importer} imports {alias.name} from {source}"
                        )
                private_parts = [p for p in source.split(".") if _private(p)]
                if private_parts and not importer.startswith(source.rsplit(".", 1)[0]):
                    found.append(f"{path}:{node.lineno}: {importer} imports module {source}")
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                dotted = _dotted(node.value)
                if dotted is not None:
                    head, _, rest = dotted.partition(".")
                    dotted = aliases.get(head, head) + (f".{rest}" if rest else "")
                if dotted and dotted in modules and dotted != importer:
                    found.append(f"{path}:{node.lineno}: {importer} uses {dotted}.{node.attr}")
    return found


def _module_aliases(tree: ast.Module, modules: set[str]) -> dict[str, str]:
    """Local names bound to modules of the package (``from corpus.a import b``, ``import
    corpus.a as b``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in modules:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in modules:
                    aliases[alias.asname] = alias.name
    return aliases


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "root",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help=f"the folder holding the {PACKAGE}/ package (default: this repository)",
    )
    root: Path = parser.parse_args(argv[1:]).root
    if not (root / PACKAGE).is_dir():
        parser.error(f"{root / PACKAGE} is not a folder")
    problems = private_imports(root)
    for line in problems:
        print(line)
    if problems:
        print(
            f"{len(problems)} private cross-module import(s): promote the name "
            "(drop the underscore) or move it into the module that uses it",
            file=sys.stderr,
        )
        return 1
    print(f"no private cross-module imports in {root / PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
