"""`publish`: local folder and fsspec copies for real; the Hub commit and tag as a plan."""

from __future__ import annotations

import hashlib
import shutil
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec  # type: ignore[import-untyped, unused-ignore]
import pytest
from conftest import build_gold_version
from huggingface_hub import CommitOperationAdd, CommitOperationDelete

from corpus.errors import ReleaseError
from corpus.label_schema import load_schema
from corpus.release import ReleaseResult, build_release
from corpus.release.publish import HubPlan, hub_plan, hub_repo_id, publish, send_plan
from corpus.release.verify import read_sums, verify_release
from corpus.store import Store


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("publish")
    store, schema = Store(root / "store"), load_schema()
    version = build_gold_version(store, schema, root / "articles", n=40)
    result = build_release(
        store, version, release="1.0.0", schema=schema, force="small test corpus"
    )
    assert isinstance(result, ReleaseResult)
    return result.path


def release_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def memory_target() -> Iterator[str]:
    """A fresh place in fsspec's (process-global) memory file system, removed afterwards."""
    fs = fsspec.filesystem("memory")
    name = f"/bucket-{uuid.uuid4().hex[:8]}"
    yield f"memory:/{name}/releases"
    if fs.exists(name):
        fs.rm(name, recursive=True)


def test_publish_to_a_local_folder_gives_a_verified_read_only_copy(
    release: Path, tmp_path: Path
) -> None:
    result = publish(release, to=str(tmp_path / "mirror"))
    copy = tmp_path / "mirror" / "1.0.0"
    assert (result.kind, result.location, result.sent) == ("folder", str(copy), True)
    assert result.files == release_files(release) == release_files(copy)
    assert all(p.stat().st_mode & 0o222 == 0 for p in copy.rglob("*") if p.is_file())
    assert verify_release(copy).configs == verify_release(release).configs
    assert [p.name for p in (tmp_path / "mirror").iterdir()] == ["1.0.0"]  # no temporary left


def test_publishing_the_same_release_twice_is_refused(release: Path, tmp_path: Path) -> None:
    publish(release, to=f"file://{tmp_path / 'mirror'}")
    manifest = (tmp_path / "mirror" / "1.0.0" / "manifest.json").read_bytes()
    for target in (str(tmp_path / "mirror"), f"file://{tmp_path / 'mirror'}"):
        with pytest.raises(ReleaseError, match="already exists; a published release is never"):
            publish(release, to=target)
    assert (tmp_path / "mirror" / "1.0.0" / "manifest.json").read_bytes() == manifest


def test_publish_through_fsspec_and_read_back(release: Path, memory_target: str) -> None:
    result = publish(release, to=memory_target)
    assert result.kind == "fsspec" and result.location == f"{memory_target}/1.0.0"
    fs, base = fsspec.core.url_to_fs(result.location)
    found = sorted(p.removeprefix(base.rstrip("/") + "/") for p in fs.find(base))
    assert found == release_files(release)
    sums = read_sums(release / "SHA256SUMS")
    for rel in found:
        data = fs.cat_file(f"{base}/{rel}")
        assert data == (release / rel).read_bytes()
        if rel != "SHA256SUMS":
            assert hashlib.sha256(data).hexdigest() == sums[rel]
    with pytest.raises(ReleaseError, match="already exists"):
        publish(release, to=memory_target)


def test_a_dry_run_writes_nothing(release: Path, memory_target: str) -> None:
    result = publish(release, to=memory_target, dry_run=True)
    assert not result.sent and result.location == f"{memory_target}/1.0.0"
    assert not fsspec.core.url_to_fs(memory_target)[0].exists(result.location)


def test_an_unverifiable_release_is_not_published(
    release: Path, tmp_path: Path, memory_target: str
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(release, broken)
    path = broken / "CHANGELOG.md"
    path.chmod(path.stat().st_mode | stat.S_IWUSR)
    path.write_text("# edited\n", encoding="utf-8")
    for target in (str(tmp_path / "mirror"), memory_target, "hf://datasets/org/name"):
        with pytest.raises(ReleaseError, match=r"sha256 mismatch for CHANGELOG\.md"):
            publish(broken, to=target, dry_run=target.startswith("hf://"))
    assert not (tmp_path / "mirror").exists()


def test_hub_plan_adds_every_file_once_and_tags_the_release(release: Path) -> None:
    plan = hub_plan(release, "newsroom/us-china-stance")
    files = release_files(release)
    assert all(isinstance(op, CommitOperationAdd) for op in plan.operations)
    assert [op.path_in_repo for op in plan.operations] == files  # each once, sorted
    assert [op.path_or_fileobj for op in plan.operations] == [str(release / f) for f in files]
    sums = read_sums(release / "SHA256SUMS")
    for op in plan.operations:
        if op.path_in_repo != "SHA256SUMS":
            assert op.upload_info.sha256.hex() == sums[op.path_in_repo]
    assert (plan.repo_id, plan.repo_type, plan.revision) == (
        "newsroom/us-china-stance", "dataset", "main",
    )  # fmt: skip
    assert plan.tag == "v1.0.0" and plan.commit_message == "Release 1.0.0"
    assert plan.url == "https://huggingface.co/datasets/newsroom/us-china-stance/tree/v1.0.0"
    assert plan.to_dict()["files"] == files


def test_publish_to_the_hub_without_a_token_only_plans(release: Path) -> None:
    result = publish(release, to="hf://datasets/newsroom/us-china-stance", dry_run=True)
    assert result.kind == "hub" and not result.sent and result.commit is None
    assert isinstance(result.plan, HubPlan) and result.plan.tag == "v1.0.0"
    with pytest.raises(ReleaseError, match="needs a Hugging Face token"):
        publish(release, to="hf://datasets/newsroom/us-china-stance")


@pytest.mark.parametrize(
    "target", ["hf://newsroom/x", "hf://datasets/x", "hf://datasets/a/b/c", "hf://datasets/a/b@v1"]
)
def test_bad_hub_targets_are_refused(target: str) -> None:
    with pytest.raises(ReleaseError, match="not a Hub dataset target"):
        hub_repo_id(target)


@dataclass
class _Tag:
    name: str


@dataclass
class _Refs:
    tags: list[_Tag]


@dataclass
class _Commit:
    oid: str


class RecordingHub:
    """Stands in for HfApi: records every call, sends nothing."""

    def __init__(self, files: list[str], tags: list[str]) -> None:
        self.files, self.tags = files, tags
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_repo(self, repo_id: str, **kw: Any) -> None:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kw}))

    def list_repo_refs(self, repo_id: str, **kw: Any) -> _Refs:
        self.calls.append(("list_repo_refs", {"repo_id": repo_id, **kw}))
        return _Refs([_Tag(t) for t in self.tags])

    def list_repo_files(self, repo_id: str, **kw: Any) -> list[str]:
        self.calls.append(("list_repo_files", {"repo_id": repo_id, **kw}))
        return self.files

    def create_commit(self, repo_id: str, operations: Any, **kw: Any) -> _Commit:
        self.calls.append(("create_commit", {"repo_id": repo_id, "operations": operations, **kw}))
        return _Commit("c0ffee")

    def create_tag(self, repo_id: str, **kw: Any) -> None:
        self.calls.append(("create_tag", {"repo_id": repo_id, **kw}))


def test_send_plan_commits_then_tags_that_commit(release: Path) -> None:
    plan = hub_plan(release, "newsroom/us-china-stance")
    hub = RecordingHub(files=[".gitattributes", "README.md", "old/stale.parquet"], tags=["v0.9.0"])
    assert send_plan(plan, hub) == "c0ffee"
    assert [name for name, _ in hub.calls] == [
        "create_repo", "list_repo_refs", "list_repo_files", "create_commit", "create_tag",
    ]  # fmt: skip
    assert all(kw["repo_type"] == "dataset" for _, kw in hub.calls)
    assert hub.calls[0][1]["exist_ok"] is True
    commit = hub.calls[3][1]
    assert commit["operations"][: len(plan.operations)] == plan.operations
    stale = commit["operations"][len(plan.operations) :]
    assert [(type(op), op.path_in_repo) for op in stale] == [
        (CommitOperationDelete, "old/stale.parquet")
    ]
    assert commit["commit_message"] == "Release 1.0.0" and commit["revision"] == "main"
    assert hub.calls[4][1] == {
        "repo_id": "newsroom/us-china-stance", "tag": "v1.0.0", "revision": "c0ffee",
        "tag_message": plan.tag_message, "repo_type": "dataset",
    }  # fmt: skip


def test_send_plan_refuses_an_existing_tag(release: Path) -> None:
    hub = RecordingHub(files=[], tags=["v1.0.0"])
    with pytest.raises(ReleaseError, match=r"already has the tag v1\.0\.0"):
        send_plan(hub_plan(release, "newsroom/us-china-stance"), hub)
    assert "create_commit" not in [name for name, _ in hub.calls]


def test_bad_destinations_are_refused(release: Path) -> None:
    with pytest.raises(ReleaseError, match="cannot open nosuchprotocol://"):
        publish(release, to="nosuchprotocol://x/y")
    with pytest.raises(ReleaseError, match="into itself"):
        publish(release, to=str(release / "inner"))
