"""Benchmark `corpus ingest`: against the bare sentence segmenter, and as the store grows.

Size runs (``--sizes``, MB of UTF-8 text, default 10 and 100) generate a deterministic
corpus of seed-layout ``.txt`` articles from ``seeds/``: long ones (5-10 KB, the default)
or, with ``--short``, short ones (about 2.3 KB, over 40,000 per 100 MB, as news wires are).
Paragraphs are sampled and shuffled, ~30% of the words swapped for other seed words, a
numbered title, plus ~2.5% exact and ~2.5% near duplicates. Each run measures, in the same run:

* bare: ``sentencex.get_sentence_boundaries("en", body)`` over every article body, on one
  core, in this process. The bodies are read into memory first: the time is the segmenter
  calls only (no I/O, no parsing), the median of 3 passes before and 3 after the ingest;
* ingest: ``corpus ingest DIR --store TMP --json`` as a subprocess, wall time from spawn to
  exit (start-up, imports, reading, workers, writing the store: everything). Peak memory,
  sampled every 10 ms with psutil: RSS of the main process, RSS summed over the main
  process and all its children (the whole process tree), and PSS summed (forked workers
  share pages, which RSS counts once per process).

``--scaling 10000,100000,1000000`` ingests that many generated short articles (JSONL files
of 10,000 records) into an empty store, one size at a time, and prints time per document
and peak memory at each size, with the ratios of the largest size to the smallest
(targets: peak RSS of the process tree <= 1.5x, time per document <= 1.3x).

``--many-files 10000,1000000`` ingests that many one-article ``.txt`` files (folders of 1,000
files; the articles of ``--scaling``, written as bytes), as news corpora such as the BBC's
arrive, into an empty store, one count at a time, and prints the peak RSS of the process tree
at each count and the ratio of the largest count to the smallest (target <= 1.5x).

``--incremental 10,1000`` grows a store to about 1000 MB on disk (ingests of 50 MB of short
articles, not timed), then ingests 10 MB of new short articles into a copy of it and into an
empty store, three times each (median; target: <= 2x).

``--plot FILE.png`` draws the scaling run (time per document and peak memory by size).
Compare ratios within one run only.

    .venv/bin/python scripts/bench_ingest.py [--sizes 10,100] [--short] [--keep]
    .venv/bin/python scripts/bench_ingest.py --sizes '' --scaling 10000,100000,1000000 \
        --incremental 10,1000 --plot docs/figures/ingest-scaling.png
    .venv/bin/python scripts/bench_ingest.py --sizes '' --many-files 10000,1000000
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import psutil
import sentencex

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(sys.executable).with_name("corpus")
MB = 1_000_000
PER_FOLDER = 1000


def generate(
    folder: Path, target_bytes: int, seed: int = 0, *, short: bool = False
) -> tuple[int, int]:
    """Write articles until ``target_bytes``; returns (files, bytes). Same seed, same corpus."""
    if short:
        total = 0
        for files, article in enumerate(short_articles(seed), start=1):
            data = article.encode("utf-8")
            number = files - 1
            path = folder / f"part-{number // PER_FOLDER:04d}" / f"article-{number:07d}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            total += len(data)
            if total >= target_bytes:
                return files, total
    text = next(ROOT.glob("seeds/*.txt")).read_text(encoding="utf-8")
    title, _, body = text.strip().partition("\n")
    paragraphs = [np.array(p.split(), dtype=object) for p in body.strip().split("\n\n")]
    vocab = np.concatenate(paragraphs)
    rng = np.random.default_rng(seed)
    written: list[str] = []
    files = total = 0
    while total < target_bytes:
        roll = rng.random()
        if written and roll < 0.025:  # exact duplicate of an earlier article
            article = written[int(rng.integers(len(written)))]
        elif written and roll < 0.05:  # near duplicate: 2% of its words changed
            words = np.array(written[int(rng.integers(len(written)))].split(" "), dtype=object)
            mask = rng.random(len(words)) < 0.02
            words[mask] = vocab[rng.integers(len(vocab), size=int(mask.sum()))]
            article = " ".join(words)
        else:
            k = int(rng.integers(len(paragraphs) // 2, len(paragraphs) + 1))
            blocks = []
            for i in rng.permutation(len(paragraphs))[:k]:
                words = paragraphs[i].copy()
                mask = rng.random(len(words)) < 0.3
                words[mask] = vocab[rng.integers(len(vocab), size=int(mask.sum()))]
                blocks.append(" ".join(words))
            article = f"{title} (report {files})\n\n" + "\n\n".join(blocks) + "\n"
        written = [*written[-199:], article]  # duplicates come from the last 200 articles
        data = article.encode("utf-8")
        path = folder / f"part-{files // PER_FOLDER:04d}" / f"article-{files:07d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files += 1
        total += len(data)
    return files, total


def short_articles(seed: int) -> Iterator[str]:
    """Endless short articles (title line, blank line, 4-6 paragraphs of 40-85 words; about
    2.3 KB, so over 40,000 per 100 MB): paragraphs drawn from a pool of 5,000 variants of
    the seed's paragraphs (three joined, 30% of the words swapped), plus a sentence of
    their own; ~2.5% exact and ~2.5% near duplicates (2% of the words changed) of one of
    the last 200 articles."""
    text = next(ROOT.glob("seeds/*.txt")).read_text(encoding="utf-8")
    title, _, body = text.strip().partition("\n")
    paragraphs = [np.array(p.split(), dtype=object) for p in body.strip().split("\n\n")]
    vocab = np.concatenate(paragraphs)
    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(5000):
        picks = rng.integers(len(paragraphs), size=3)
        words = np.concatenate([paragraphs[j] for j in picks])
        mask = rng.random(len(words)) < 0.3
        words[mask] = vocab[rng.integers(len(vocab), size=int(mask.sum()))]
        pool.append(" ".join(words[: int(rng.integers(40, 86))]))
    recent: list[str] = []
    number = 0
    while True:
        roll = rng.random()
        if recent and roll < 0.025:
            article = recent[int(rng.integers(len(recent)))]
        elif recent and roll < 0.05:
            head, _, rest = recent[int(rng.integers(len(recent)))].partition("\n\n")
            words = np.array(rest.split(" "), dtype=object)
            mask = (rng.random(len(words)) < 0.02) & (np.char.count(words.astype(str), "\n") == 0)
            words[mask] = vocab[rng.integers(len(vocab), size=int(mask.sum()))]
            article = head + "\n\n" + " ".join(words)
        else:
            picked = [pool[i] for i in rng.integers(len(pool), size=int(rng.integers(4, 7)))]
            own = " ".join(vocab[rng.integers(len(vocab), size=12)]).capitalize() + "."
            article = f"{title} (wire {seed}-{number})\n\n{own} " + "\n\n".join(picked) + "\n"
        number += 1
        recent = [*recent[-199:], article]
        yield article


def write_jsonl(folder: Path, docs: int, seed: int) -> int:
    """``docs`` short articles as JSONL files of 10,000 records; returns the bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    total, lines = 0, []
    for i, article in enumerate(itertools.islice(short_articles(seed), docs)):
        title, _, body = article.partition("\n\n")
        lines.append(orjson.dumps({"title": title, "text": body}))
        if len(lines) == 10_000 or i == docs - 1:
            data = b"\n".join(lines) + b"\n"
            (folder / f"part-{i // 10_000:05d}.jsonl").write_bytes(data)
            total += len(data)
            lines = []
    return total


def bare_segmenter(bodies: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one sentencex pass over ``bodies`` (in memory, one core)."""
    start, cpu = time.perf_counter(), time.process_time()
    for body in bodies:
        sentencex.get_sentence_boundaries("en", body)
    return time.perf_counter() - start, time.process_time() - cpu


def run_ingest(folder: Path, store: Path) -> dict[str, float]:
    """Run ``corpus ingest`` once: wall time, peak memory (MB) and its JSON result."""
    cmd = [str(CORPUS), "ingest", str(folder), "--store", str(store), "--json"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=os.environ | {"HF_HUB_OFFLINE": "1"})
    peak = {"main_rss": 0, "tree_pss": 0, "tree_rss": 0}
    cpu: dict[int, float] = {}  # last CPU seconds seen per process of the tree
    done = threading.Event()

    def sample() -> None:  # every 10 ms: main RSS, PSS summed over main + workers, CPU
        root = psutil.Process(proc.pid)
        while not done.is_set():
            with contextlib.suppress(psutil.NoSuchProcess):
                peak["main_rss"] = max(peak["main_rss"], root.memory_info().rss)
                pss = rss = 0
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        info = p.memory_full_info()
                        pss += info.pss
                        rss += info.rss
                        cpu[p.pid] = sum(p.cpu_times()[:2])
                peak["tree_pss"] = max(peak["tree_pss"], pss)
                peak["tree_rss"] = max(peak["tree_rss"], rss)
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"corpus ingest failed ({proc.returncode}): {out.decode(errors='replace')}")
    result = json.loads(out)
    return {
        "wall": wall,
        "cpu": sum(cpu.values()),
        "main_mb": peak["main_rss"] / MB,
        "tree_mb": peak["tree_pss"] / MB,
        "tree_rss_mb": peak["tree_rss"] / MB,
        "documents": result["documents_added"],
        "exact": result["exact_duplicates"],
        "near": result["near_duplicates"],
    }


def measure(size: int, work: Path, *, short: bool = False) -> dict[str, float]:
    folder = work / f"corpus-{size}mb"
    t0 = time.perf_counter()
    files, nbytes = generate(folder, size * MB, short=short)
    took = time.perf_counter() - t0
    print(f"{size} MB: {files} files, {nbytes / MB:.1f} MB generated in {took:.1f}s", flush=True)
    paths = sorted(folder.rglob("*.txt"))
    bodies = [p.read_text(encoding="utf-8").partition("\n\n")[2] for p in paths]
    body_bytes = sum(len(b.encode()) for b in bodies)
    bare = [bare_segmenter(bodies) for _ in range(3)]  # before and after: the load drifts
    ingest = run_ingest(folder, work / f"store-{size}mb")
    bare += [bare_segmenter(bodies) for _ in range(3)]
    return ingest | {
        "size": size,
        "files": files,
        "bytes": nbytes,
        "body_bytes": body_bytes,
        "bare": statistics.median(w for w, _ in bare),
        "bare_cpu": statistics.median(c for _, c in bare),
    }


def size_runs(sizes: list[int], work: Path, *, short: bool) -> None:
    rows = [measure(size, work, short=short) for size in sizes]
    print(f"load average {os.getloadavg()[0]:.1f} (end)\n")
    print(
        f"{'size':>6} {'files':>6} {'bare s':>7} {'MB/s':>6} {'ingest s':>8} {'MB/s':>6} "
        f"{'ratio':>6} {'main MB':>8} {'tree MB':>8}  new/exact/near docs"
    )
    for r in rows:
        print(
            f"{r['size']:>4}MB {r['files']:>6} {r['bare']:>7.2f} "
            f"{r['body_bytes'] / MB / r['bare']:>6.1f} {r['wall']:>8.2f} "
            f"{r['bytes'] / MB / r['wall']:>6.1f} {r['wall'] / r['bare']:>6.2f} "
            f"{r['main_mb']:>8.0f} {r['tree_mb']:>8.0f}  "
            f"{r['documents']:.0f}/{r['exact']:.0f}/{r['near']:.0f}"
        )
    print()
    for r in rows:
        ratio, work_ratio = r["wall"] / r["bare"], r["cpu"] / r["bare_cpu"]
        print(
            f"ingest / bare segmenter at {r['size']} MB: {ratio:.2f} (target <= 3); "
            f"CPU seconds, all processes / bare: {work_ratio:.2f}"
        )
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        print(
            f"peak memory {large['size']} MB / {small['size']} MB: "
            f"tree PSS {large['tree_mb'] / small['tree_mb']:.2f}, "
            f"tree RSS {large['tree_rss_mb'] / small['tree_rss_mb']:.2f}, "
            f"main {large['main_mb'] / small['main_mb']:.2f} (target <= 1.5)"
        )


def scaling(counts: list[int], work: Path) -> list[dict[str, float]]:
    """Ingest ``n`` generated short articles into an empty store, for each ``n``."""
    rows = []
    for n in counts:
        folder = work / f"jsonl-{n}"
        t0 = time.perf_counter()
        nbytes = write_jsonl(folder, n, seed=n)
        print(f"{n} documents: {nbytes / MB:.0f} MB of JSONL in {time.perf_counter() - t0:.0f}s")
        run = run_ingest(folder, work / f"store-{n}")
        shutil.rmtree(work / f"store-{n}", ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        read = run["documents"] + run["exact"]
        rows.append(run | {"n": n, "bytes": nbytes, "us_per_doc": run["wall"] / read * 1e6})
        print(
            f"  {run['wall']:.1f}s, {rows[-1]['us_per_doc']:.0f} us/doc, peak tree RSS "
            f"{run['tree_rss_mb']:.0f} MB (PSS {run['tree_mb']:.0f}, main {run['main_mb']:.0f}); "
            f"new/exact/near {run['documents']:.0f}/{run['exact']:.0f}/{run['near']:.0f}",
            flush=True,
        )
    small, large = rows[0], rows[-1]
    print(f"\n{'documents':>10} {'s':>7} {'us/doc':>7} {'tree RSS':>9} {'tree PSS':>9} {'main':>6}")
    for r in rows:
        print(
            f"{r['n']:>10} {r['wall']:>7.1f} {r['us_per_doc']:>7.0f} {r['tree_rss_mb']:>9.0f} "
            f"{r['tree_mb']:>9.0f} {r['main_mb']:>6.0f}"
        )
    rss = large["tree_rss_mb"] / small["tree_rss_mb"]
    per_doc = large["us_per_doc"] / small["us_per_doc"]
    print(
        f"\npeak RSS (process tree) at {large['n']} / {small['n']} documents: {rss:.2f} "
        f"(target <= 1.5: {'met' if rss <= 1.5 else 'NOT met'}); PSS "
        f"{large['tree_mb'] / small['tree_mb']:.2f}, main {large['main_mb'] / small['main_mb']:.2f}"
    )
    print(
        f"time per document at {large['n']} / {small['n']} documents: {per_doc:.2f} "
        f"(target <= 1.3: {'met' if per_doc <= 1.3 else 'NOT met'})"
    )
    return rows


def write_files(folder: Path, files: int, seed: int) -> int:
    """``files`` one-article ``.txt`` files in folders of 1,000; returns the bytes."""
    total = 0
    for number, article in enumerate(itertools.islice(short_articles(seed), files)):
        if number % PER_FOLDER == 0:
            part = folder / f"part-{number // PER_FOLDER:04d}"
            part.mkdir(parents=True)
        data = article.encode("utf-8")
        fd = os.open(part / f"article-{number:07d}.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        total += len(data)
    return total


def many_files(counts: list[int], work: Path) -> None:
    """Ingest ``n`` one-article files into an empty store, for each ``n``: peak memory."""
    rows = []
    for n in counts:
        folder = work / f"files-{n}"
        t0 = time.perf_counter()
        nbytes = write_files(folder, n, seed=n)
        print(f"{n} files: {nbytes / MB:.0f} MB of .txt in {time.perf_counter() - t0:.0f}s")
        run = run_ingest(folder, work / f"store-files-{n}")
        shutil.rmtree(work / f"store-files-{n}", ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        rows.append(run | {"n": n})
        print(
            f"  {run['wall']:.1f}s wall, {run['cpu']:.1f}s CPU, peak tree RSS "
            f"{run['tree_rss_mb']:.0f} MB (PSS {run['tree_mb']:.0f}, main {run['main_mb']:.0f}); "
            f"new/exact/near {run['documents']:.0f}/{run['exact']:.0f}/{run['near']:.0f}",
            flush=True,
        )
    print(f"\n{'files':>10} {'s':>7} {'CPU s':>7} {'tree RSS':>9} {'tree PSS':>9} {'main':>6}")
    for r in rows:
        print(
            f"{r['n']:>10} {r['wall']:>7.1f} {r['cpu']:>7.1f} {r['tree_rss_mb']:>9.0f} "
            f"{r['tree_mb']:>9.0f} {r['main_mb']:>6.0f}"
        )
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        rss = large["tree_rss_mb"] / small["tree_rss_mb"]
        print(
            f"\npeak RSS (process tree) at {large['n']} / {small['n']} files: {rss:.2f} "
            f"(target <= 1.5: {'met' if rss <= 1.5 else 'NOT met'}); PSS "
            f"{large['tree_mb'] / small['tree_mb']:.2f}, "
            f"main {large['main_mb'] / small['main_mb']:.2f}"
        )


def incremental(batch_mb: int, store_mb: int, work: Path) -> None:
    """``batch_mb`` of new articles into a store of ``store_mb`` vs into an empty store."""
    base = work / "grown"
    seed = 1000
    while _size(base) < store_mb * MB:
        chunk = work / f"grow-{seed}"
        generate(chunk, 50 * MB, seed=seed, short=True)
        run_ingest(chunk, base)
        shutil.rmtree(chunk)
        seed += 1
    stored = _size(base)
    batch = work / "batch"
    files, nbytes = generate(batch, batch_mb * MB, seed=1, short=True)
    print(f"store {stored / MB:.0f} MB on disk; batch {files} files, {nbytes / MB:.1f} MB")
    times: dict[str, list[float]] = {"grown": [], "empty": []}
    for i in range(3):
        for kind in ("empty", "grown"):
            target = work / f"into-{kind}-{i}"
            if kind == "grown":
                subprocess.run(["cp", "-al", str(base), str(target)], check=True)
            run = run_ingest(batch, target)
            times[kind].append(run["wall"])
            print(f"  into the {kind} store: {run['wall']:.2f}s ({run['tree_rss_mb']:.0f} MB)")
            shutil.rmtree(target, ignore_errors=True)
    grown, empty = statistics.median(times["grown"]), statistics.median(times["empty"])
    ratio = grown / empty
    print(
        f"incremental: {batch_mb} MB into a {stored / MB:.0f} MB store / into an empty store: "
        f"{grown:.2f}s / {empty:.2f}s = {ratio:.2f} (target <= 2: "
        f"{'met' if ratio <= 2 else 'NOT met'})"
    )


def _size(folder: Path) -> int:
    """Bytes of the newest version (what a store of that size holds), 0 without one."""
    versions = sorted((folder / "versions").glob("*"), key=lambda p: p.stat().st_mtime)
    if not versions:
        return 0
    return sum(p.stat().st_size for p in versions[-1].rglob("*") if p.is_file())


def plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(6.4, 3.6), dpi=120)
    n = [r["n"] for r in rows]
    left.plot(n, [r["us_per_doc"] for r in rows], "o-", color="tab:blue", label="time per document")
    left.set_xscale("log")
    left.set_xlabel("documents ingested into an empty store")
    left.set_ylabel("µs per document (wall)", color="tab:blue")
    left.set_ylim(bottom=0)
    right = left.twinx()
    right.plot(n, [r["tree_rss_mb"] for r in rows], "s-", color="tab:red", label="peak RSS")
    right.set_ylabel("peak RSS, process tree (MB)", color="tab:red")
    right.set_ylim(bottom=0)
    left.set_title("corpus ingest, short articles, 2 workers")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="10,100", help="corpus sizes in MB (comma-separated)")
    parser.add_argument("--short", action="store_true", help="short articles (about 2.3 KB)")
    parser.add_argument("--scaling", default="", help="document counts, e.g. 10000,100000")
    parser.add_argument("--many-files", default="", help="file counts, e.g. 10000,1000000")
    parser.add_argument("--incremental", default="", help="BATCH_MB,STORE_MB, e.g. 10,1000")
    parser.add_argument("--plot", type=Path, help="PNG of the scaling run")
    parser.add_argument("--keep", action="store_true", help="keep the corpora and stores")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (start)", flush=True)
    try:
        if args.sizes:
            size_runs([int(s) for s in args.sizes.split(",")], work, short=args.short)
        if args.scaling:
            rows = scaling([int(n) for n in args.scaling.split(",")], work)
            if args.plot:
                plot(rows, args.plot)
        if args.many_files:
            many_files([int(n) for n in args.many_files.split(",")], work)
        if args.incremental:
            batch_mb, store_mb = (int(x) for x in args.incremental.split(","))
            incremental(batch_mb, store_mb, work)
        print(f"load average {os.getloadavg()[0]:.1f} (end)")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
