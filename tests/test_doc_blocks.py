"""Every code block of the README and the docs runs, as written (the docs' code-block convention).

* A fenced block whose info string is ``python``, ``bash``, ``sh``, ``shell`` or ``console`` is
  code, and runs, unless the line directly before its opening fence is
  ``<!-- not-run: <reason> -->`` (the reason is required).
* ``<!-- file: <relative path> -->`` directly before a fence (any info string) writes the block
  to that path in the page's working folder, for the blocks after it (it is not run itself).
* Other blocks (``text``, ``yaml``, ``json``, ``toml``, none) are shown, not run; a command's
  expected output goes in a ``text`` block after it and is not compared.

Each page runs in a fresh folder holding a copy of ``seeds/`` and ``schemas/``, its blocks in
page order: python blocks share one namespace (and run in this process); shell blocks run with
``bash -euo pipefail`` with the toolkit's ``.venv/bin`` first on PATH and no ``CORPUS_STORE``.
In a ``console`` block the lines starting with ``$ `` are the commands (the rest is their
output); one without such lines runs whole. A page that mentions ``LABEL_STUDIO_``,
``corpus round``, ``corpus studio`` or an ``open_studio(`` call is marked ``studio`` and gets
the session's Label Studio through LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY; other pages
start no server. The generated CLI reference (docs/reference/cli/) has no code blocks and is
not collected.

Pages whose first runnable block is exactly ``corpus demo --docs 16`` (:data:`DEMO`) start from
a copy of the folder that command leaves, made once per worker on the session's server
(:func:`demo_folder`): their own run of the command then finds everything done (the demo
repeats nothing already done), instead of labelling 16 articles once per page. Those pages run
on one xdist worker (``xdist_group("docs-demo")``). A page with a test of its own that runs its
blocks and checks their results (:data:`DEDICATED`) is run there, not here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from conftest import ROOT

CODE = frozenset({"python", "bash", "sh", "shell", "console"})
# info strings that look like code but are not in CODE: they would silently be shown, not run
CODE_LOOKALIKES = frozenset(
    {"py", "python3", "pycon", "ipython", "zsh", "shell-session", "bash-session", "sh-session"}
)
DEMO = "corpus demo --docs 16"
# page -> the test that runs its blocks in order and asserts what they print and write
DEDICATED = {"docs/reference/python-api.md": "tests/test_readme_api.py"}
NEEDS_STUDIO = re.compile(r"LABEL_STUDIO_|corpus (?:round|studio)\b|open_studio\(")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-run|file)\s*:(?P<value>.*?)-->\s*$")
LOOSE_MARKER = re.compile(r"^\s*<!--\s*(?:not-run|file)\b")
SHELL_TIMEOUT = 1800  # a guard against a hung command, not a performance expectation


@dataclass(frozen=True)
class Block:
    """One fenced block of a page; ``line`` is its opening fence's line (1-based)."""

    line: int
    lang: str
    code: str
    not_run: str | None = None  # the reason, when marked not-run
    file: str | None = None  # the path it is written to, when marked file:

    @property
    def runs(self) -> bool:
        return self.lang in CODE and self.not_run is None and self.file is None


@dataclass
class Page:
    blocks: list[Block]
    problems: list[str]  # convention breaches, ``line N: what``


class BlockFailed(AssertionError):
    """A block of a page failed: the message names the page, the line and the error output."""


def parse(text: str) -> Page:
    """The fenced blocks of a Markdown page, with their markers, and what breaks the convention."""
    lines = text.splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            if LOOSE_MARKER.search(lines[i]):
                marker = MARKER.match(lines[i])
                following = lines[i + 1] if i + 1 < len(lines) else ""
                if marker is None:
                    problems.append(f"line {i + 1}: malformed marker {lines[i].strip()!r}")
                elif FENCE.match(following) is None:
                    problems.append(f"line {i + 1}: a {marker['kind']} marker must directly "
                                    "precede a code fence")  # fmt: skip
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        info = opening["info"].strip()
        lang = info.split()[0].lstrip("{").lstrip(".").rstrip("}").lower() if info else ""
        start = i
        body: list[str] = []
        i += 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        while i < len(lines) and not closing.match(lines[i]):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        if i == len(lines):
            problems.append(f"line {start + 1}: the fence is never closed")
        i += 1
        not_run = file = None
        marker = MARKER.match(lines[start - 1]) if start > 0 else None
        if marker is not None:
            value = marker["value"].strip()
            if marker["kind"] == "not-run":
                not_run = value
                if not value:
                    problems.append(f"line {start}: not-run needs a reason")
            else:
                file = value
                path = PurePosixPath(value)
                if not value or path.is_absolute() or ".." in path.parts:
                    problems.append(f"line {start}: file: needs a path inside the page's folder")
        if lang in CODE_LOOKALIKES:
            problems.append(f"line {start + 1}: ```{lang} is shown but never run; use one of "
                            f"{', '.join(sorted(CODE))} (or text)")  # fmt: skip
        code = "\n".join(body) + "\n"
        blocks.append(Block(start + 1, lang, code, not_run, file))
    return Page(blocks, problems)


def console_commands(code: str) -> str:
    """The commands of a console transcript: its ``$ `` lines (and their ``\\`` continuations)."""
    lines = code.splitlines()
    if not any(line.startswith("$ ") for line in lines):
        return code
    commands: list[str] = []
    continued = False
    for line in lines:
        if continued or line.startswith("$ "):
            commands.append(line if continued else line[2:])
            continued = line.endswith("\\")
    return "\n".join(commands) + "\n"


def shell_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CORPUS_STORE"}
    bins = [str(ROOT / ".venv" / "bin"), str(Path(sys.executable).parent)]
    env["PATH"] = os.pathsep.join([*dict.fromkeys(bins), env.get("PATH", "")])
    return env


def run_page(name: str, text: str, folder: Path) -> list[str]:
    """Run a page's blocks in order in ``folder``; what happened to each block, in order.

    Raises :class:`BlockFailed` at the first block that fails."""
    page = parse(text)
    if page.problems:
        raise BlockFailed(f"{name}: " + "; ".join(page.problems))
    namespace: dict[str, Any] = {"__name__": "__main__"}
    done: list[str] = []
    with contextlib.chdir(folder):
        for block in page.blocks:
            where = f"{name}, the {block.lang or 'plain'} block at line {block.line}"
            if block.file is not None:
                target = folder / block.file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.code, encoding="utf-8")
                done.append(f"{block.line}: wrote {block.file}")
            elif block.not_run is not None and block.lang in CODE:
                done.append(f"{block.line}: not run ({block.not_run})")
            elif not block.runs:
                continue
            elif block.lang == "python":
                # padded so that a traceback's line numbers are the page's
                source = compile("\n" * block.line + block.code, name, "exec")
                try:
                    exec(source, namespace)
                except BaseException as exc:
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    trace = "".join(traceback.format_exception(exc))
                    raise BlockFailed(f"{where} failed:\n{trace}") from exc
                done.append(f"{block.line}: ran python")
            else:
                script = console_commands(block.code) if block.lang == "console" else block.code
                result = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", script],
                    cwd=folder,
                    env=shell_env(),
                    capture_output=True,
                    text=True,
                    timeout=SHELL_TIMEOUT,
                    check=False,
                )
                if result.returncode != 0:
                    raise BlockFailed(
                        f"{where} exited {result.returncode}\n--- block ---\n{script}"
                        f"--- stderr ---\n{result.stderr}--- stdout (last lines) ---\n"
                        + "\n".join(result.stdout.splitlines()[-20:])
                    )
                done.append(f"{block.line}: ran {block.lang}")
    return done


def pages() -> list[Path]:
    docs = ROOT / "docs"
    found = [ROOT / "README.md", *sorted(docs.rglob("*.md"))]
    return [p for p in found if (docs / "reference" / "cli") not in p.parents]


def starts_with_the_demo(text: str) -> bool:
    first = next((block for block in parse(text).blocks if block.runs), None)
    return first is not None and first.code.splitlines()[:1] == [DEMO]


def page_param(path: Path) -> Any:
    name = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8")
    # a page runs its commands in processes, seconds each: slow (`./scripts/test --fast`)
    marks = [pytest.mark.slow, *([pytest.mark.studio] if NEEDS_STUDIO.search(text) else [])]
    if starts_with_the_demo(text):
        marks.append(pytest.mark.xdist_group("docs-demo"))
    return pytest.param(path, marks=marks, id=name)


@pytest.fixture(scope="session")
def demo_folder(studio: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A page folder after ``corpus demo --docs 16`` on the session's server (once per worker)."""
    folder = tmp_path_factory.mktemp("docs-demo")
    for name in ("seeds", "schemas"):
        shutil.copytree(ROOT / name, folder / name)
    env = shell_env() | {
        "LABEL_STUDIO_URL": studio.url,
        "LABEL_STUDIO_API_KEY": studio.api_key,
        "HF_DATASETS_CACHE": str(tmp_path_factory.getbasetemp() / "hf" / "datasets"),
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", DEMO],
        cwd=folder, env=env, capture_output=True, text=True, timeout=SHELL_TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def test_pages_with_a_test_of_their_own_are_run_by_it() -> None:
    for page, test in DEDICATED.items():
        assert (ROOT / page).is_file() and page in (ROOT / test).read_text(encoding="utf-8")
        # that test runs the page's ```python blocks only: any other block would run nowhere
        blocks = parse((ROOT / page).read_text(encoding="utf-8")).blocks
        assert [b.line for b in blocks if b.lang in CODE and b.lang != "python"] == [], page
        assert [b.line for b in blocks if b.not_run is not None or b.file is not None] == [], page


@pytest.mark.parametrize("path", [page_param(p) for p in pages()])
def test_page_blocks_run(
    path: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8")
    if not any(block.runs for block in parse(text).blocks):
        pytest.skip(f"{name} has no runnable block")
    if name in DEDICATED:
        pytest.skip(f"{name} is run, with its results checked, by {DEDICATED[name]}")
    # shell blocks' `datasets` cache: the session's temporary one, as in-process (conftest)
    hf_cache = tmp_path_factory.getbasetemp() / "hf" / "datasets"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(hf_cache))
    for folder in ("seeds", "schemas"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    if NEEDS_STUDIO.search(text):
        studio = request.getfixturevalue("studio")
        monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.api_key)
    if starts_with_the_demo(text):
        shutil.copytree(request.getfixturevalue("demo_folder") / "data", tmp_path / "data")
    done = run_page(name, text, tmp_path)
    assert any("ran" in step for step in done)


@pytest.mark.parametrize("path", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_follows_the_block_convention(path: Path) -> None:
    """Every code block runs or says why not (a non-empty reason); markers sit on a fence."""
    assert parse(path.read_text(encoding="utf-8")).problems == []


def test_the_cli_reference_has_no_code_blocks() -> None:
    for path in sorted((ROOT / "docs" / "reference" / "cli").glob("*.md")):
        assert parse(path.read_text(encoding="utf-8")).blocks == [], path


# The runner itself, on small pages.

PAGE = """# A page

Some prose that mentions `corpus ingest`.

```python
from pathlib import Path
total = sum([1, 2])
```

<!-- not-run: needs a cluster -->
```bash
exit 3
```

<!-- file: config/settings.yaml -->
```yaml
answer: 42
```

```bash
test -f seeds/x.txt && grep -q 'answer: 42' config/settings.yaml
test -z "${CORPUS_STORE:-}"
```

```yaml
not: run
```

```python
assert total == 3  # the namespace of the first block
Path("from-python.txt").write_text(str(total))
```

```console
$ cat from-python.txt
3
$ echo one \\
  two > joined.txt
```
"""


def test_runner_runs_a_page_in_order_in_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "x.txt").write_text("x", encoding="utf-8")
    monkeypatch.setenv("CORPUS_STORE", "/elsewhere")
    done = run_page("page.md", PAGE, tmp_path)
    assert done == [
        "5: ran python",
        "11: not run (needs a cluster)",
        "16: wrote config/settings.yaml",
        "20: ran bash",
        "29: ran python",
        "34: ran console",
    ]
    assert (tmp_path / "from-python.txt").read_text(encoding="utf-8") == "3"
    assert (tmp_path / "joined.txt").read_text(encoding="utf-8") == "one two\n"


def test_a_failing_shell_block_names_the_page_line_and_stderr(tmp_path: Path) -> None:
    page = "# P\n\n```bash\ntrue\n```\n\n```sh\necho oops >&2\nfalse\necho never\n```\n"
    with pytest.raises(BlockFailed) as failed:
        run_page("docs/p.md", page, tmp_path)
    message = str(failed.value)
    assert "docs/p.md, the sh block at line 7 exited 1" in message
    assert "oops" in message


def test_a_pipeline_fails_when_any_command_does(tmp_path: Path) -> None:
    with pytest.raises(BlockFailed, match="line 1 exited 1"):
        run_page("p.md", "```bash\nfalse | cat\n```\n", tmp_path)


def test_a_failing_python_block_names_the_page_line_and_error(tmp_path: Path) -> None:
    page = (
        "# P\n\n```python\nx = 1\n```\n\ntext\n\n```python\ny = x + 1\nraise ValueError(y)\n```\n"
    )
    with pytest.raises(BlockFailed) as failed:
        run_page("docs/p.md", page, tmp_path)
    message = str(failed.value)
    assert "docs/p.md, the python block at line 9 failed" in message
    assert 'File "docs/p.md", line 11' in message and "ValueError: 2" in message


def test_the_convention_checks_markers_and_code_lookalikes() -> None:
    page = parse(
        "<!-- not-run: -->\n```bash\nx\n```\n"
        "<!-- file: ../outside.txt -->\n```text\nx\n```\n"
        "<!-- file: a.txt -->\n\n```text\nx\n```\n"
        "<!-- not-run because -->\n```bash\nx\n```\n"
        "```py\nx\n```\n"
        "```bash\nnever closed\n"
    )
    assert page.problems == [
        "line 1: not-run needs a reason",
        "line 5: file: needs a path inside the page's folder",
        "line 9: a file marker must directly precede a code fence",
        "line 14: malformed marker '<!-- not-run because -->'",
        "line 18: ```py is shown but never run; use one of bash, console, python, sh, shell "
        "(or text)",
        "line 21: the fence is never closed",
    ]


def test_blocks_inside_admonitions_and_longer_fences() -> None:
    page = parse('!!! note\n    ````python title="x.py"\n    a = 1\n    ```\n    b = 2\n    ````\n')
    assert page.problems == []
    assert [(b.line, b.lang, b.code) for b in page.blocks] == [(2, "python", "a = 1\n```\nb = 2\n")]


def test_a_page_that_mentions_label_studio_is_marked_studio() -> None:
    for text, studio in [
        ("run `corpus round start r1`", True),
        ("export LABEL_STUDIO_URL=...", True),
        ("client = corpus.open_studio(store)", True),
        ("`corpus ingest seeds/`", False),
        ("::: corpus.open_studio", False),
    ]:
        assert bool(NEEDS_STUDIO.search(text)) is studio, text
