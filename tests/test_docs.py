"""The README is the contract with a new user, the docs site its reference: keep both true."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml
from conftest import ROOT
from test_cli import all_commands

import corpus
import corpus.errors

CLI_DOCS = ROOT / "docs" / "reference" / "cli"


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_first_two_commands_are_quickstart_and_tests() -> None:
    block = re.search(r"```bash\n(.*?)```", readme(), re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands[:2] == ["./scripts/quickstart", "./scripts/test"]
    for script in ("quickstart", "test", "setup", "check"):
        assert (ROOT / "scripts" / script).stat().st_mode & 0o111


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/test" in [line.strip() for line in ci.splitlines()]


def test_every_command_has_its_generated_page() -> None:
    for path in all_commands():
        if path:
            page = CLI_DOCS / f"{path[0]}.md"
            headings = [line.lstrip("#").strip() for line in page.read_text().splitlines()
                        if line.startswith("#")]  # fmt: skip
            assert f"`corpus {' '.join(path)}`" in headings, path


def gen_cli_docs(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "scripts" / "gen_cli_docs.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_the_committed_cli_reference_is_current() -> None:
    done = gen_cli_docs("--check")
    assert done.returncode == 0, done.stderr


def test_the_cli_reference_check_fails_when_a_page_is_stale(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    shutil.copytree(CLI_DOCS, out)
    page = out / "round.md"
    page.write_text(page.read_text(encoding="utf-8").replace("Round name", "Name"), "utf-8")
    (out / "ingest.md").unlink()
    (out / "gone.md").write_text("# `corpus gone`\n", encoding="utf-8")
    done = gen_cli_docs("--check", "--out", str(out))
    assert done.returncode == 1
    assert f"{page}: stale" in done.stderr
    assert f"{out / 'ingest.md'}: missing" in done.stderr
    assert f"{out / 'gone.md'}: no such command" in done.stderr
    assert "run `python scripts/gen_cli_docs.py`" in done.stderr
    assert gen_cli_docs("--out", str(out)).returncode == 0  # the refresh the message names
    assert gen_cli_docs("--check", "--out", str(out)).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in CLI_DOCS.iterdir())


def nav_pages(entries: list[Any]) -> list[str]:
    found: list[str] = []
    for entry in entries:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            found += nav_pages(value) if isinstance(value, list) else [value]
    return found


def test_the_site_nav_lists_every_page_and_each_command_in_the_apps_order() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = nav_pages(config["nav"])
    assert len(nav) == len(set(nav))
    commands = [f"reference/cli/{path[0]}.md" for path in all_commands() if len(path) == 1]
    assert [page for page in nav if page.startswith("reference/cli/")] == [
        "reference/cli/index.md",
        *commands,
    ]
    docs = ROOT / "docs"
    on_disk = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")}
    assert on_disk <= set(nav), on_disk - set(nav)  # the strict build fails on the rest too


def test_the_api_reference_documents_the_public_api() -> None:
    api = (ROOT / "docs" / "reference" / "api.md").read_text(encoding="utf-8")
    documented = re.findall(r"^::: corpus\.(\w+)$", api, flags=re.M)
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(corpus.__all__)


def test_the_api_reference_error_tree_is_the_real_one() -> None:
    api = (ROOT / "docs" / "reference" / "api.md").read_text(encoding="utf-8")
    tree = re.search(r"```text\n(CorpusError\n.*?)```", api, flags=re.S)
    assert tree is not None
    parents: list[str] = []
    seen = []
    for line in tree.group(1).splitlines():
        found = re.match(r"^([│├└─ ]*)(\w+)", line)
        assert found is not None, line
        depth, name = len(found.group(1)) // 4, found.group(2)
        parents[depth:] = [name]
        cls = getattr(corpus.errors, name)
        if depth:
            assert getattr(corpus.errors, parents[depth - 1]) in cls.__bases__, name
        seen.append(cls)
    errors = [getattr(corpus, n) for n in corpus.__all__ if n.endswith("Error")]
    assert sorted(c.__name__ for c in seen) == sorted(c.__name__ for c in errors)


def test_setup_installs_from_the_lock_and_check_requires_it_current() -> None:
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert "uv sync --quiet --locked" in setup
    assert "uv lock --check" in (ROOT / "scripts" / "check").read_text(encoding="utf-8")
    assert (ROOT / "scripts" / "lock").stat().st_mode & 0o111
    assert (ROOT / "uv.lock").is_file()
    assert "./scripts/lock" in readme()


def test_setup_for_the_tests_installs_the_docs_tools() -> None:
    # scripts/check builds the site; scripts/setup --test installs the `test` extra
    assert "--extra test" in (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    test = set(extras["test"])
    assert extras["docs"]
    assert set(extras["docs"]) <= test or any(
        req.startswith("corpus[") and "docs" in req[len("corpus[") : req.index("]")].split(",")
        for req in test
    )
    assert "mkdocs build --strict" in (ROOT / "scripts" / "check").read_text(encoding="utf-8")


def test_setup_installs_the_plots_extra_the_demo_draws_with() -> None:
    """docs/getting-started.md: "`./scripts/setup` (and so the quickstart) installs `plots`"."""
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert "extra=(--extra plots)" in setup
    assert "./scripts/setup" in (ROOT / "scripts" / "quickstart").read_text(encoding="utf-8")


# A repository path in backticks, e.g. `corpus/labels/votes.py` or `scripts/bench_ingest.py`.
_REPO_PATH = re.compile(r"`((?:corpus|tests|scripts|schemas|docs|seeds)/[A-Za-z0-9_./-]*)`")


def test_every_file_the_readme_and_docs_name_exists() -> None:
    """Issue 19: the README named files that did not exist (`corpus/schema.py`)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    named = 0
    for page in pages:
        for found in _REPO_PATH.finditer(page.read_text(encoding="utf-8")):
            path = found.group(1).rstrip(".")
            named += 1
            assert (ROOT / path).exists(), f"{page.relative_to(ROOT)} names missing {path}"
    assert named > 50  # the pattern still finds the paths the pages name
