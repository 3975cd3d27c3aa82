"""Benchmark `corpus ingest` against the bare sentence segmenter, at two corpus sizes.

For each size (MB of UTF-8 text, default 10 and 100) this script generates a deterministic
corpus of seed-layout ``.txt`` articles (5-10 KB each) from ``seeds/``: paragraphs sampled and
shuffled, ~30% of the words swapped for other seed words, a numbered title, plus ~2.5% exact
and ~2.5% near duplicates. It then measures, in the same run:

* bare: ``sentencex.get_sentence_boundaries("en", body)`` over every article body, on one
  core, in this process. The bodies are read into memory first: the time is the segmenter
  calls only (no I/O, no parsing), the median of 3 passes before and 3 after the ingest;
* ingest: ``corpus ingest DIR --store TMP --json`` as a subprocess, wall time from spawn to
  exit (start-up, imports, reading, workers, writing the store: everything). Peak memory,
  sampled every 10 ms with psutil: RSS of the main process, and PSS summed over the main
  process and all its children (PSS, not RSS: forked workers share pages).

It prints a table, ingest time / bare time per size (and the CPU seconds of all ingest
processes / the bare pass's, which other load on the machine disturbs less), and the peak
memory ratio of the largest to the smallest size. Compare ratios within one run only.

    .venv/bin/python scripts/bench_ingest.py [--sizes 10,100] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import sentencex

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(sys.executable).with_name("corpus")
MB = 1_000_000
PER_FOLDER = 1000


def generate(folder: Path, target_bytes: int, seed: int = 0) -> tuple[int, int]:
    """Write articles until ``target_bytes``; returns (files, bytes). Same seed, same corpus."""
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
    peak = {"main_rss": 0, "tree_pss": 0}
    cpu: dict[int, float] = {}  # last CPU seconds seen per process of the tree
    done = threading.Event()

    def sample() -> None:  # every 10 ms: main RSS, PSS summed over main + workers, CPU
        root = psutil.Process(proc.pid)
        while not done.is_set():
            with contextlib.suppress(psutil.NoSuchProcess):
                peak["main_rss"] = max(peak["main_rss"], root.memory_info().rss)
                pss = 0
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        pss += p.memory_full_info().pss
                        cpu[p.pid] = sum(p.cpu_times()[:2])
                peak["tree_pss"] = max(peak["tree_pss"], pss)
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
        "documents": result["documents_added"],
        "exact": result["exact_duplicates"],
        "near": result["near_duplicates"],
    }


def measure(size: int, work: Path) -> dict[str, float]:
    folder = work / f"corpus-{size}mb"
    t0 = time.perf_counter()
    files, nbytes = generate(folder, size * MB)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="10,100", help="corpus sizes in MB (comma-separated)")
    parser.add_argument("--keep", action="store_true", help="keep the corpora and stores")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (start)", flush=True)
    try:
        rows = [measure(int(size), work) for size in args.sizes.split(",")]
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
                f"ingest / bare segmenter at {r['size']} MB: {ratio:.2f} (target <= 1); "
                f"CPU seconds, all processes / bare: {work_ratio:.2f}"
            )
        if len(rows) > 1:
            small, large = rows[0], rows[-1]
            print(
                f"peak memory {large['size']} MB / {small['size']} MB: "
                f"tree {large['tree_mb'] / small['tree_mb']:.2f}, "
                f"main {large['main_mb'] / small['main_mb']:.2f} (target <= 1.5)"
            )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
