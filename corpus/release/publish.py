"""`corpus publish DIR --to TARGET`: copy a verified release somewhere others can load it.

* a local folder (a path or ``file://``) or any fsspec URL (``s3://``, ``gs://``,
  ``memory://`` …): the files go to ``TARGET/<release>/`` (e.g. ``TARGET/1.0.0/README.md``),
  the same layout as the store's ``releases/`` folder. An existing ``TARGET/<release>`` is
  never overwritten. Files are written under a hidden temporary name, moved into place, then
  read back through fsspec and compared with ``SHA256SUMS``.
* the Hugging Face Hub, ``hf://datasets/ORG/NAME``: one commit holding every file of the
  release at the repository root (older files no longer in the release are deleted in the
  same commit), then a tag ``v<release>`` on that commit, so that users load it with
  ``load_dataset("ORG/NAME", config, revision="v1.0.0")``. :func:`hub_plan` prepares the
  operations without any network access; :func:`send_plan` sends them.

The release is verified (:func:`~corpus.release.verify.verify_release`) first: an
unverifiable release is never published.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from corpus.errors import ReleaseError, translate_os_errors
from corpus.ids import file_sha256, stream_sha256
from corpus.release.verify import VerifyReport, read_manifest, read_sums, verify_release
from corpus.release.writer import SUMS

if TYPE_CHECKING:
    from huggingface_hub import CommitOperationAdd

HUB_PREFIX = "hf://datasets/"
REPO_TYPE = "dataset"


@dataclass
class HubPlan:
    """Exactly what a Hub publish sends: one commit of ``operations``, then ``tag`` on it."""

    repo_id: str
    release: str
    tag: str
    commit_message: str
    commit_description: str
    tag_message: str
    operations: list[CommitOperationAdd] = field(repr=False)
    repo_type: str = REPO_TYPE
    revision: str = "main"

    @property
    def url(self) -> str:
        return f"https://huggingface.co/datasets/{self.repo_id}/tree/{self.tag}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "repo_type": self.repo_type,
            "revision": self.revision,
            "release": self.release,
            "tag": self.tag,
            "commit_message": self.commit_message,
            "tag_message": self.tag_message,
            "files": [op.path_in_repo for op in self.operations],
            "url": self.url,
        }


@dataclass
class PublishResult:
    """Where a release went (or would go, with ``dry_run``) and what was sent."""

    release: str
    source: Path
    target: str
    kind: Literal["folder", "fsspec", "hub"]
    files: list[str]
    location: str  # the release's folder URL, or the Hub tree of the tag
    verified: VerifyReport
    plan: HubPlan | None = None
    sent: bool = False  # False: nothing was written or uploaded (dry run)
    commit: str | None = None  # the Hub commit the tag points at

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "source": str(self.source),
            "target": self.target,
            "kind": self.kind,
            "files": self.files,
            "location": self.location,
            "sent": self.sent,
            "commit": self.commit,
            "plan": self.plan.to_dict() if self.plan else None,
        }


def hub_repo_id(target: str) -> str:
    """``hf://datasets/ORG/NAME`` -> ``ORG/NAME``."""
    rest = target.removeprefix(HUB_PREFIX)
    parts = rest.strip("/").split("/")
    if not target.startswith(HUB_PREFIX) or len(parts) != 2 or not all(parts) or "@" in rest:
        raise ReleaseError(
            f"{target!r} is not a Hub dataset target",
            hint="Use hf://datasets/ORG/NAME (the version tag comes from the release).",
        )
    return "/".join(parts)


def _release_files(root: Path) -> list[str]:
    """Every file of the release: the ``SHA256SUMS`` entries and ``SHA256SUMS`` itself."""
    listed = sorted([*read_sums(root / SUMS), SUMS])
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    if listed != on_disk:
        odd = sorted(set(listed) ^ set(on_disk))
        raise ReleaseError(
            f"{root} does not hold exactly the files of its {SUMS} (first: {odd[0]})",
            hint="Run `corpus release verify` on it.",
        )
    return listed


def hub_plan(path: Path, repo_id: str) -> HubPlan:
    """The commit operations, messages and tag of publishing ``path`` to ``repo_id``.

    Pure apart from reading the release: no network. Every file is added once at its
    release-relative path; the sha256 huggingface_hub computes for each upload must equal
    ``SHA256SUMS`` (what was verified is what is sent).
    """
    from huggingface_hub import CommitOperationAdd

    root = Path(path).expanduser().resolve()
    manifest = read_manifest(root)
    release, version = str(manifest["release"]), str(manifest.get("version"))
    sums = read_sums(root / SUMS)
    operations = []
    for rel in _release_files(root):
        op = CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(root / rel))
        if rel in sums and op.upload_info.sha256.hex() != sums[rel]:
            raise ReleaseError(f"{rel} changed while the upload was prepared",
                               hint="Run `corpus release verify` on it.")  # fmt: skip
        operations.append(op)
    return HubPlan(
        repo_id=repo_id,
        release=release,
        tag=f"v{release}",
        commit_message=f"Release {release}",
        commit_description=(
            f"Release {release} of dataset version {version}: {len(operations)} files, "
            f"checked with `corpus release verify` (see manifest.json and {SUMS})."
        ),
        tag_message=f"Release {release} (dataset version {version})",
        operations=operations,
    )


class HubApi(Protocol):
    """The part of ``huggingface_hub.HfApi`` that :func:`send_plan` uses."""

    def create_repo(self, repo_id: str, *, repo_type: str | None, exist_ok: bool) -> Any: ...

    def list_repo_refs(self, repo_id: str, *, repo_type: str | None) -> Any: ...

    def list_repo_files(
        self, repo_id: str, *, revision: str | None, repo_type: str | None
    ) -> list[str]: ...

    def create_commit(
        self,
        repo_id: str,
        operations: Any,
        *,
        commit_message: str,
        commit_description: str | None,
        repo_type: str | None,
        revision: str | None,
    ) -> Any: ...

    def create_tag(
        self,
        repo_id: str,
        *,
        tag: str,
        tag_message: str | None,
        revision: str | None,
        repo_type: str | None,
    ) -> None: ...


def send_plan(plan: HubPlan, api: HubApi) -> str:
    """Create the repo if needed, commit, tag the commit; returns the commit id.

    Refuses when the tag already exists (a published release is never replaced). Files of
    the branch that are not in the release are deleted in the same commit, so the tagged
    tree is exactly the release.
    """
    from huggingface_hub import CommitOperationDelete
    from huggingface_hub.errors import HfHubHTTPError

    kind = {"repo_type": plan.repo_type}
    try:
        api.create_repo(plan.repo_id, exist_ok=True, **kind)
        tags = {t.name for t in api.list_repo_refs(plan.repo_id, **kind).tags}
        if plan.tag in tags:
            raise ReleaseError(
                f"{plan.repo_id} already has the tag {plan.tag}; a release is never replaced",
                hint="Publish a new release number.",
            )
        keep = {op.path_in_repo for op in plan.operations} | {".gitattributes"}
        stale = [
            CommitOperationDelete(path_in_repo=f)
            for f in api.list_repo_files(plan.repo_id, revision=plan.revision, **kind)
            if f not in keep
        ]
        info = api.create_commit(
            plan.repo_id,
            [*plan.operations, *stale],
            commit_message=plan.commit_message,
            commit_description=plan.commit_description,
            revision=plan.revision,
            **kind,
        )
        oid = str(info.oid)
        api.create_tag(
            plan.repo_id, tag=plan.tag, tag_message=plan.tag_message, revision=oid, **kind
        )
    except HfHubHTTPError as exc:
        raise ReleaseError(
            f"the Hub refused the upload to {plan.repo_id}: {exc}",
            hint="Check the token's write access to the repository (or its organisation).",
        ) from None
    except _network_errors() as exc:
        raise ReleaseError(
            f"cannot reach the Hub to publish {plan.repo_id}: {exc}",
            hint="Check the network connection (and HF_ENDPOINT, HF_HUB_OFFLINE, proxies), "
            "then publish again: nothing is tagged until the upload is complete.",
        ) from None
    return oid


def _network_errors() -> tuple[type[BaseException], ...]:
    """The exceptions meaning "no connection" from huggingface_hub's HTTP client (httpx2 in
    huggingface_hub 2, httpx before) and its offline mode (a ``ConnectionError``)."""
    import httpx

    found: list[type[BaseException]] = [ConnectionError, TimeoutError, httpx.TransportError]
    try:
        import httpx2  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        pass
    else:
        found.append(httpx2.TransportError)
    return tuple(found)


def _copy(root: Path, files: list[str], target: str, release: str, dry_run: bool) -> str:
    """Copy to ``target/<release>`` through fsspec and read it back; returns its URL."""
    import fsspec  # type: ignore[import-untyped, unused-ignore]
    from fsspec.implementations.local import (  # type: ignore[import-untyped, unused-ignore]
        LocalFileSystem,
    )

    try:
        fs, base = fsspec.core.url_to_fs(target)
    except (ImportError, ValueError) as exc:  # unknown protocol, or its package is missing
        raise ReleaseError(
            f"cannot open {target}: {exc}",
            hint="Use a folder, file://, or an fsspec URL whose package is installed "
            "(e.g. s3fs for s3://).",
        ) from None
    base = base.rstrip("/")
    dest = f"{base}/{release}"
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    location = dest if isinstance(fs, LocalFileSystem) else f"{protocol}://{dest.lstrip('/')}"
    local = isinstance(fs, LocalFileSystem)
    if local and Path(dest).resolve().is_relative_to(root):
        raise ReleaseError(
            f"cannot publish {root} into itself ({dest})", hint="Pick a folder outside it."
        )
    if fs.exists(dest):
        raise ReleaseError(
            f"{location} already exists; a published release is never overwritten",
            hint="Publish a new release number, or remove that copy by hand if it is broken.",
        )
    if dry_run:
        return location
    sums = read_sums(root / SUMS)
    tmp = f"{base}/.{release}.partial-{uuid.uuid4().hex[:8]}"
    try:
        for rel in files:
            fs.makedirs(f"{tmp}/{rel}".rsplit("/", 1)[0], exist_ok=True)
            fs.put_file(str(root / rel), f"{tmp}/{rel}")
        if fs.exists(dest):
            raise ReleaseError(f"{location} appeared while copying; it is left as it is")
        fs.mv(tmp, dest, recursive=True)
    except BaseException as exc:
        if fs.exists(tmp):
            fs.rm(tmp, recursive=True)
        if isinstance(exc, OSError):
            raise ReleaseError(
                f"copying to {location} failed: {exc}",
                hint="Check the destination's permissions and free space; the partial copy "
                "was removed.",
            ) from None
        raise
    for rel in files:
        with fs.open(f"{dest}/{rel}", "rb") as fh:
            got = stream_sha256(fh)
        want = sums.get(rel) or file_sha256(root / rel)
        if got != want:
            raise ReleaseError(
                f"the copy of {rel} at {location} reads back with sha256 {got}, not {want}",
                hint="The copy is corrupt: remove it by hand and publish again.",
            )
        if local:
            Path(f"{dest}/{rel}").chmod(0o444)
    return location


@translate_os_errors
def publish(
    path: str | os.PathLike[str],
    *,
    to: str,
    token: str | None = None,
    dry_run: bool = False,
) -> PublishResult:
    """Verify the release at ``path``, then copy it to ``to`` (see the module doc).

    ``to`` is a folder, an fsspec URL or ``hf://datasets/ORG/NAME``. ``dry_run`` prepares
    everything (and checks the destination) but writes and sends nothing. A Hub upload
    needs ``token``; without one only ``dry_run`` is possible.
    """
    target = to.strip()
    if not target:
        raise ValueError("the publish target is empty: give a folder, URL or hf://datasets/...")
    root = Path(path).expanduser().resolve()
    report = verify_release(root)
    release = report.release
    files = _release_files(root)
    if target.startswith("hf://"):
        plan = hub_plan(root, hub_repo_id(target))
        result = PublishResult(release, root, target, "hub", files, plan.url, report, plan)
        if dry_run:
            return result
        if token is None:
            raise ReleaseError(
                f"publishing to {target} needs a Hugging Face token",
                hint="Pass a token with write access (the CLI reads HF_TOKEN), or use --dry-run "
                "to see the plan.",
            )
        from huggingface_hub import HfApi

        result.commit = send_plan(plan, HfApi(token=token))
        result.sent = True
        return result
    kind: Literal["folder", "fsspec"] = (
        "folder" if "://" not in target or target.startswith("file://") else "fsspec"
    )
    location = _copy(root, files, target, release, dry_run)
    return PublishResult(release, root, target, kind, files, location, report, sent=not dry_run)


__all__ = ["HubPlan", "PublishResult", "hub_plan", "hub_repo_id", "publish", "send_plan"]
