"""The house rules of the import graph: layers, no cycles, no private names across modules.

`scripts/check` runs `lint-imports` (the contracts in pyproject.toml) and
`scripts/check_private_imports.py`; these tests show that both pass on the package and fail
when a cycle or a private cross-module import is introduced into a copy of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LINT = Path(sys.executable).parent / "lint-imports"
PRIVATE = ROOT / "scripts" / "check_private_imports.py"


def _copy(tmp_path: Path) -> Path:
    """The package and its contracts, copied where only they are importable."""
    shutil.copytree(
        ROOT / "corpus", tmp_path / "corpus", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, check=False
    )


def _private(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PRIVATE), str(root)], capture_output=True, text=True, check=False
    )


def test_the_package_keeps_its_contracts(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    done = _lint(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout
    done = _private(root)
    assert done.returncode == 0, done.stdout


def test_a_new_cycle_fails_the_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pull = root / "corpus" / "rounds" / "push.py"
    # push -> pull already exists through the package; make pull import push and push pull
    pull.write_text(pull.read_text() + "\nfrom corpus.rounds.pull import PullResult  # noqa\n")
    target = root / "corpus" / "rounds" / "pull.py"
    target.write_text(target.read_text() + "\nfrom corpus.rounds.push import PushResult  # noqa\n")
    done = _lint(root)
    assert done.returncode != 0
    assert "BROKEN" in done.stdout and "corpus.rounds" in done.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    store = root / "corpus" / "store" / "diff.py"
    store.write_text(store.read_text() + "\nfrom corpus.rounds import RoundState  # noqa\n")
    done = _lint(root)
    assert done.returncode != 0
    assert "corpus.store.diff -> corpus.rounds" in done.stdout


def test_a_private_cross_module_import_fails_the_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    demo = root / "corpus" / "demo.py"
    demo.write_text(demo.read_text() + "\nfrom corpus.rounds.pull import _compares_suggestions\n")
    done = _private(root)
    assert done.returncode == 1
    assert "corpus.demo imports _compares_suggestions from corpus.rounds.pull" in done.stdout


def test_private_attribute_use_through_a_module_alias_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    demo = root / "corpus" / "demo.py"
    demo.write_text(
        demo.read_text() + "\nfrom corpus.rounds import pull as _p\nX = _p._commit_pull\n"
    )
    done = _private(root)
    assert done.returncode == 1
    assert "uses corpus.rounds.pull._commit_pull" in done.stdout


@pytest.mark.parametrize(
    "heavy", ["datasets", "pyarrow", "label_studio_sdk", "pandas", "numpy", "ray"]
)
def test_import_corpus_stays_light(heavy: str) -> None:
    """`import corpus` loads no heavy library (the public names are imported lazily)."""
    code = f"import sys, corpus; corpus.__all__; print({heavy!r} in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_cli_help_loads_no_stage_module() -> None:
    """`corpus --help` builds every command without importing the stages behind them."""
    code = (
        "import sys; from typer.testing import CliRunner; from corpus.cli import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0; "
        "print(sorted(m for m in sys.modules if m.startswith(('corpus.rounds', "
        "'corpus.release', 'corpus.ingestion', 'corpus.iaa', 'corpus.store'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_documented_layers_are_the_contract() -> None:
    """docs/development.md, Layout: "The import graph is layered, top to bottom: `cli` → ...
    → `errors`" lists the layers of pyproject.toml's contract, in its order."""
    import re
    import tomllib

    page = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    found = re.search(r"layered, top to bottom: (.*?→ `errors`)", page, flags=re.S)
    assert found is not None
    documented = [sorted(re.findall(r"`(\w+)`", layer)) for layer in found.group(1).split("→")]
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers"]
    contract = [
        sorted(name.strip().removeprefix("corpus.") for name in layer.split("|"))
        for layer in layers["layers"]
    ]
    assert documented == contract
