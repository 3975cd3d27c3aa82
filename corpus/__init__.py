"""corpus: build annotated news corpora with Label Studio and publish them as datasets.

Everything the ``corpus`` command line does, Python can do with the same names::

    import corpus

    store = corpus.Store("data")
    corpus.ingest(["seeds/"], store=store, message="seed articles")
    client = corpus.open_studio(store)          # the local Label Studio (started if needed)
    corpus.start_round(client, store, "round-1", version="0.1.0", overlap=2)
    corpus.pull_round(client, store, "round-1")
    report = corpus.agreement(store, "round-1")
    gold = corpus.adjudicate(store, "round-1")
    release = corpus.build_release(store, gold.version, release="1.0.0")
    corpus.verify_release(release.path)         # checksums, card, load_dataset, croissant.json

Long-running functions take ``progress=`` (a callable receiving :class:`Progress` events);
every failure a user can act on is a :class:`CorpusError` with a ``hint``. Names are
imported lazily, so ``import corpus`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from corpus.about import __version__

if TYPE_CHECKING:
    from corpus.adjudication import (
        AdjudicationResult,
        ReviewResult,
        adjudicate,
        pull_review,
        start_review,
    )
    from corpus.demo import DemoResult, run_demo
    from corpus.errors import (
        CorpusError,
        DamagedVersionError,
        EngineError,
        FileSystemError,
        IngestError,
        LabelStudioError,
        ModelError,
        Problem,
        RehydrateError,
        ReleaseError,
        ReleaseGateError,
        RoundError,
        SchemaError,
        StoreError,
        StoreLockedError,
        StudioAuthError,
        StudioNotRunningError,
        VersionExistsError,
        VersionNotFoundError,
    )
    from corpus.iaa import AgreementReport, Metric, agreement, write_report
    from corpus.ingestion import IngestResult, ingest
    from corpus.label_schema import AnnotationSchema, load_schema
    from corpus.labelstudio import (
        PostgresSettings,
        StudioClient,
        StudioInfo,
        StudioStatus,
        open_studio,
        studio_down,
        studio_status,
        studio_up,
    )
    from corpus.preannotate import KeywordPreAnnotator, PreAnnotator, SpanSuggestion
    from corpus.progress import Progress
    from corpus.release import (
        PublishResult,
        RehydrateResult,
        ReleaseResult,
        VerifyReport,
        build_release,
        publish,
        rehydrate_release,
        verify_release,
    )
    from corpus.rounds import (
        PullResult,
        PushResult,
        RoundState,
        RoundStatus,
        list_rounds,
        pull_round,
        push_round,
        round_status,
        start_round,
    )
    from corpus.rounds.migrate import MigrationResult, migrate_schema
    from corpus.store import CheckReport, Store, Version, VersionDiff, check_store, diff_versions
    from corpus.training import (
        CurveResult,
        Evaluation,
        TrainResult,
        evaluate_model,
        learning_curve,
        list_models,
        train_model,
    )

# public name -> the module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        ["AdjudicationResult", "ReviewResult", "adjudicate", "pull_review", "start_review"],
        "corpus.adjudication",
    ),
    **dict.fromkeys(["AgreementReport", "Metric", "agreement", "write_report"], "corpus.iaa"),
    **dict.fromkeys(["DemoResult", "run_demo"], "corpus.demo"),
    **dict.fromkeys(
        [
            "CorpusError",
            "DamagedVersionError",
            "EngineError",
            "FileSystemError",
            "IngestError",
            "LabelStudioError",
            "ModelError",
            "Problem",
            "RehydrateError",
            "ReleaseError",
            "ReleaseGateError",
            "RoundError",
            "SchemaError",
            "StoreError",
            "StoreLockedError",
            "StudioAuthError",
            "StudioNotRunningError",
            "VersionExistsError",
            "VersionNotFoundError",
        ],
        "corpus.errors",
    ),
    **dict.fromkeys(["IngestResult", "ingest"], "corpus.ingestion"),
    **dict.fromkeys(["AnnotationSchema", "load_schema"], "corpus.label_schema"),
    **dict.fromkeys(
        [
            "PostgresSettings",
            "StudioClient",
            "StudioInfo",
            "StudioStatus",
            "open_studio",
            "studio_down",
            "studio_status",
            "studio_up",
        ],
        "corpus.labelstudio",
    ),
    **dict.fromkeys(
        ["KeywordPreAnnotator", "PreAnnotator", "SpanSuggestion"], "corpus.preannotate"
    ),
    "Progress": "corpus.progress",
    **dict.fromkeys(["MigrationResult", "migrate_schema"], "corpus.rounds.migrate"),
    **dict.fromkeys(
        [
            "PublishResult",
            "RehydrateResult",
            "ReleaseResult",
            "VerifyReport",
            "build_release",
            "publish",
            "rehydrate_release",
            "verify_release",
        ],
        "corpus.release",
    ),
    **dict.fromkeys(
        [
            "PullResult",
            "PushResult",
            "RoundState",
            "RoundStatus",
            "list_rounds",
            "pull_round",
            "push_round",
            "round_status",
            "start_round",
        ],
        "corpus.rounds",
    ),
    **dict.fromkeys(
        ["CheckReport", "Store", "Version", "VersionDiff", "check_store", "diff_versions"],
        "corpus.store",
    ),
    **dict.fromkeys(
        [
            "CurveResult",
            "Evaluation",
            "TrainResult",
            "evaluate_model",
            "learning_curve",
            "list_models",
            "train_model",
        ],
        "corpus.training",
    ),
}

__all__ = [
    "AdjudicationResult",
    "AgreementReport",
    "AnnotationSchema",
    "CheckReport",
    "CorpusError",
    "CurveResult",
    "DamagedVersionError",
    "DemoResult",
    "EngineError",
    "Evaluation",
    "FileSystemError",
    "IngestError",
    "IngestResult",
    "KeywordPreAnnotator",
    "LabelStudioError",
    "Metric",
    "MigrationResult",
    "ModelError",
    "PostgresSettings",
    "PreAnnotator",
    "Problem",
    "Progress",
    "PublishResult",
    "PullResult",
    "PushResult",
    "RehydrateError",
    "RehydrateResult",
    "ReleaseError",
    "ReleaseGateError",
    "ReleaseResult",
    "ReviewResult",
    "RoundError",
    "RoundState",
    "RoundStatus",
    "SchemaError",
    "SpanSuggestion",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StudioAuthError",
    "StudioClient",
    "StudioInfo",
    "StudioNotRunningError",
    "StudioStatus",
    "TrainResult",
    "VerifyReport",
    "Version",
    "VersionDiff",
    "VersionExistsError",
    "VersionNotFoundError",
    "__version__",
    "adjudicate",
    "agreement",
    "build_release",
    "check_store",
    "diff_versions",
    "evaluate_model",
    "ingest",
    "learning_curve",
    "list_models",
    "list_rounds",
    "load_schema",
    "migrate_schema",
    "open_studio",
    "publish",
    "pull_review",
    "pull_round",
    "push_round",
    "rehydrate_release",
    "round_status",
    "run_demo",
    "start_review",
    "start_round",
    "studio_down",
    "studio_status",
    "studio_up",
    "train_model",
    "verify_release",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'corpus' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
