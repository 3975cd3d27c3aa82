"""The "Python API" page's examples, run as written (like sqlite-utils' documentation tests).

Every ```python block of docs/reference/python-api.md runs, in order, in one namespace, in a
fresh folder holding a copy of `seeds/`, against the test session's Label Studio (reached through
LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY, exactly as the examples read them).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from corpus.labelstudio import StudioInfo

pytestmark = pytest.mark.studio


PAGE = ROOT / "docs" / "reference" / "python-api.md"


def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_python_api_page_has_examples() -> None:
    blocks = python_blocks(page())
    assert len(blocks) >= 4
    joined = "\n".join(blocks)
    for name in (
        "ingest",
        "open_studio",
        "start_round",
        "round_status",
        "run_demo",
        "pull_round",
        "agreement",
        "adjudicate",
        "verify_release",
        "publish",
    ):
        assert f"corpus.{name}(" in joined, name  # fmt: skip


def test_the_python_api_examples_run_as_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    studio: StudioInfo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.api_key)
    namespace: dict[str, Any] = {}
    for block in python_blocks(page()):
        exec(compile(block, "docs/reference/python-api.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "0.1.0 1" in printed  # the first example's ingest result
    assert namespace["status"].tasks == 1
    assert namespace["gold"].version is not None
    assert namespace["checked"].configs["documents"]["train"] > 0
    assert "VersionNotFoundError" in printed and "hint" in printed
    assert (tmp_path / "data" / "versions" / "0.1.0" / "manifest.json").is_file()
