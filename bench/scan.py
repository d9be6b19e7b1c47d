"""Scanner speed and accuracy on ~50,000 files, against libmagic in the same run.

    python bench/scan.py [--data DIR] [--files 50000] [--workers 2]

Steps: demo data (generated into a temp folder unless --data names a demo folder with
its .demo-manifest.json) -> a tree of ~50,000 files made of hard links to it (copies/<k>/...)
-> type detection plus the cheap checks (read once, sha256, magic bytes / text
structure, header facts, end markers, wrong extension) over every file in this process,
then `file -b --mime-type -f LIST` (libmagic, one process) over the same list; both
timed and scored against the manifest's types -> the same with both sides on all
workers (2 `file` processes vs 2 probe processes) -> a full `scan_folder` (decoders
included) into a fresh catalog -> a rescan of the unchanged tree -> the feature cache
built for the demo's images and audio on `--workers` processes, with the peak resident
memory of the process tree sampled every 20 ms.

Detection rates are the best of --repeat interleaved runs of each side and the rescan
time is the median of --repeat rescans, since the machine may be shared.

libmagic decides from the bytes alone, so the headline is our content-only decision (the
file name withheld); our decision with the name as a hint (what the scanner does: an
extension breaks ties between text formats) is reported beside it.

Ends with one JSON line {"bench": "scan", ...}. Goals: detection >= 3x libmagic's
files/s at libmagic's type accuracy or better; rescan <= 2% of the full scan; feature
cache peak memory < 2 GiB.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
TMP = Path(tempfile.mkdtemp(prefix="bench-scan-"))
# the bench's state in a var/ of its own: a data root inside var/ is refused by the scanner
os.environ["TLIB_VAR_DIR"] = str(TMP / "var")

# libmagic MIME type -> our file type
_MIME_PREFIX = (("image/", "image"), ("audio/", "audio"), ("video/", "video"))
_MIME = {
    "application/pdf": "document", "application/msword": "document", "text/rtf": "document",
    "application/rtf": "document", "application/vnd.ms-powerpoint": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "tabular",
    "application/zip": "archive", "application/gzip": "archive", "application/x-tar": "archive",
    "application/x-bzip2": "archive", "application/x-xz": "archive", "application/x-7z-compressed": "archive",
    "application/json": "json", "application/x-ndjson": "json", "text/csv": "tabular",
    "text/tab-separated-values": "tabular", "text/plain": "text", "text/markdown": "text",
    "inode/x-empty": "unknown", "application/octet-stream": "unknown",
}
_CODE_MIME = ("text/x-", "application/javascript", "text/javascript", "text/html", "application/x-sh",
              "application/x-perl", "text/xml", "application/x-tcl")


def mime_type(mime: str) -> str:
    if mime in _MIME:
        return _MIME[mime]
    for prefix, type_ in _MIME_PREFIX:
        if mime.startswith(prefix):
            return type_
    if mime.startswith(_CODE_MIME):
        return "code"
    return "unknown"


def ensure_file_command() -> str:
    found = shutil.which("file")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "file"], capture_output=True, check=False)
    found = shutil.which("file")
    if not found:
        raise SystemExit("the `file` command (libmagic) is missing and could not be installed")
    return found


def build_tree(demo: Path, target: int) -> tuple[Path, dict[str, str]]:
    """copies/<k>/<demo path> hard links until ~target files; returns (root, truth type by path)."""
    from training_lib.demo.folder import load_manifest

    truth = load_manifest(demo)
    copies = max(1, -(-target // len(truth)))
    root = TMP / "tree"
    types = {}
    for k in range(copies):
        for rel, item in truth.items():
            dst = root / f"copy{k:02d}" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(demo / rel, dst)
            types[f"copy{k:02d}/{rel}"] = item["type"]
    return root, types


def _fast_chunk(tasks: list[tuple[str, str]], named: bool = True) -> list[tuple[str, str]]:
    """(rel, type) per file; `named=False` withholds the name (content only, as libmagic)."""
    from training_lib.data.scan.probe import probe_file
    from training_lib.data.quality.limits import QualityLimits

    limits = QualityLimits()
    return [(rel, probe_file(path, rel if named else "", limits, deep=False)["type"])
            for path, rel in tasks]


def _content_chunk(tasks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return _fast_chunk(tasks, named=False)


def detect_ours(tasks: list[tuple[str, str]], workers: int,
                named: bool = False) -> tuple[float, dict[str, str]]:
    chunk = _fast_chunk if named else _content_chunk
    start = time.perf_counter()
    if workers <= 1:
        found = chunk(tasks)
    else:
        import multiprocessing as mp

        size = -(-len(tasks) // (workers * 4))
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            found = [x for part in pool.map(chunk, [tasks[i:i + size] for i in range(0, len(tasks), size)])
                     for x in part]
    return time.perf_counter() - start, dict(found)


def detect_libmagic(file_cmd: str, paths: list[str], rels: list[str], workers: int) -> tuple[float, dict[str, str]]:
    parts = [paths[i::workers] for i in range(workers)]
    names = [rels[i::workers] for i in range(workers)]
    lists = []
    for i, part in enumerate(parts):
        listfile = TMP / f"list{i}.txt"
        listfile.write_text("\n".join(part) + "\n")
        lists.append(listfile)
    start = time.perf_counter()
    procs = [subprocess.Popen([file_cmd, "-b", "--mime-type", "-f", str(lf)], stdout=subprocess.PIPE, text=True)
             for lf in lists]
    outputs = [p.communicate()[0].splitlines() for p in procs]
    elapsed = time.perf_counter() - start
    found = {}
    for rel_part, out in zip(names, outputs):
        if len(out) != len(rel_part):
            raise SystemExit(f"`file` printed {len(out)} lines for {len(rel_part)} files")
        found.update((rel, mime_type(m.strip())) for rel, m in zip(rel_part, out))
    return elapsed, found


def accuracy(found: dict[str, str], truth: dict[str, str]) -> float:
    return sum(found.get(p) == t for p, t in truth.items()) / len(truth)


class PeakMemory:
    """Peak memory of this process plus its children, sampled every 20 ms, as the sum of
    proportional set sizes (PSS: pages shared by forked workers counted once; RSS would
    count them once per process). Falls back to RSS where PSS is not available."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for proc in [self.proc, *self._children()]:
                try:
                    info = proc.memory_full_info()
                    total += getattr(info, "pss", info.rss)
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.02)

    def _children(self) -> list:
        import psutil

        try:
            return self.proc.children(recursive=True)
        except psutil.Error:
            return []

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="an existing demo folder")
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats (best of, median for rescans)")
    args = parser.parse_args(argv)
    from training_lib.config.schema import Preprocessing
    from training_lib.data.catalog import Catalog
    from training_lib.demo.folder import make_demo_data
    from training_lib.data.features.cache import FeatureCache
    from training_lib.data.scan.scanner import scan_folder

    file_cmd = ensure_file_command()
    magic_version = subprocess.run([file_cmd, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    demo = args.data
    demo_s = None
    if demo is None:
        demo = TMP / "demo"
        t = time.perf_counter()
        summary = make_demo_data(demo)
        demo_s = round(time.perf_counter() - t, 1)
        print(f"demo data: {summary['files']} files in {demo_s} s {summary['missing'] or ''}", flush=True)
    t = time.perf_counter()
    tree, truth = build_tree(demo, args.files)
    print(f"tree: {len(truth)} files (hard links) in {time.perf_counter() - t:.1f} s at {tree}", flush=True)
    rels = sorted(truth)
    paths = [str(tree / rel) for rel in rels]
    tasks = list(zip(paths, rels))
    _fast_chunk(tasks[:200]), _content_chunk(tasks[:200])  # imports and page cache warm for both sides alike
    subprocess.run([file_cmd, "-b", "--mime-type", *paths[:200]], capture_output=True)

    rows: dict[str, Any] = {}
    for workers in sorted({1, args.workers}):
        ours_times, named_times, magic_times = [], [], []
        for _ in range(args.repeat):  # interleaved, best of N: the machine may be shared
            ours_s, ours = detect_ours(tasks, workers)  # content only, as libmagic
            named_s, named = detect_ours(tasks, workers, named=True)
            magic_s, magic = detect_libmagic(file_cmd, paths, rels, workers)
            ours_times.append(ours_s)
            named_times.append(named_s)
            magic_times.append(magic_s)
        ours_s, named_s, magic_s = min(ours_times), min(named_times), min(magic_times)
        rows[workers] = {
            "ours_files_per_s": round(len(tasks) / ours_s), "libmagic_files_per_s": round(len(tasks) / magic_s),
            "speedup": round(magic_s / ours_s, 2),
            "ours_type_accuracy": round(accuracy(ours, truth), 4),
            "ours_named_files_per_s": round(len(tasks) / named_s),
            "ours_named_type_accuracy": round(accuracy(named, truth), 4),
            "libmagic_type_accuracy": round(accuracy(magic, truth), 4)}
        row = rows[workers]
        print(f"detection, {workers} process(es) each, content only: ours {row['ours_files_per_s']} files/s "
              f"({row['ours_type_accuracy']:.2%} right), libmagic {row['libmagic_files_per_s']} "
              f"files/s ({row['libmagic_type_accuracy']:.2%} right): x{row['speedup']}; ours with the "
              f"name as a hint {row['ours_named_files_per_s']} files/s ({row['ours_named_type_accuracy']:.2%} "
              f"right)", flush=True)
        if workers == 1:
            magic_wrong = {}
            for p, t in truth.items():
                if magic.get(p) != t:
                    magic_wrong[(t, magic.get(p))] = magic_wrong.get((t, magic.get(p)), 0) + 1
            ours_wrong = {}
            for p, t in truth.items():
                if ours.get(p) != t:
                    ours_wrong[(t, ours.get(p))] = ours_wrong.get((t, ours.get(p)), 0) + 1
            print(f"  our misses (truth, ours): {ours_wrong}\n  libmagic misses (truth, libmagic): {magic_wrong}",
                  flush=True)

    db = TMP / "catalog.sqlite"
    with Catalog(db) as catalog, PeakMemory() as scan_mem:
        t = time.perf_counter()
        full = scan_folder(tree, catalog, workers=args.workers)
        full_s = time.perf_counter() - t
    rescans = []
    for _ in range(args.repeat):
        # the previous rescan's 50k records are freed before the clock starts: a task's
        # rescan runs in a fresh process, it does not free another scan's report
        again = None
        with Catalog(db) as catalog:  # a fresh connection each time, as a new task would open
            t = time.perf_counter()
            again = scan_folder(tree, catalog, workers=args.workers)
            rescans.append(time.perf_counter() - t)
        assert again.inspected == 0 and again.fingerprint == full.fingerprint
        assert len(again.records) == len(full.records)
    rescan_s = sorted(rescans)[len(rescans) // 2]  # the median
    print(f"full scan: {len(full.records)} files in {full_s:.1f} s ({len(full.records) / full_s:.0f} files/s, "
          f"peak memory {scan_mem.peak / 2**20:.0f} MiB); rescan of the unchanged tree {rescan_s:.2f} s "
          f"(median of {[round(x, 2) for x in rescans]}) = {rescan_s / full_s:.2%} of the full scan", flush=True)

    n_scanned = len(full.records)
    del full, again  # the 50k-file scan results are not part of the feature build's memory
    with Catalog(TMP / "demo.sqlite") as catalog:
        records = [r for r in scan_folder(demo, catalog, workers=args.workers).records if r.score >= 0.5]
    cache = FeatureCache(TMP / "features")
    features = {}
    with PeakMemory() as feat_mem:
        for type_ in ("image", "audio"):
            chosen = [r for r in records if r.type == type_]
            features[type_] = cache.build(demo, chosen, Preprocessing(), workers=args.workers)
            features[type_]["files"] = len(chosen)
    print(f"feature cache on {args.workers} workers: {features['image']['images_per_s']} images/s "
          f"({features['image']['files']} images), {features['audio']['audio_seconds_per_s']} audio s/s "
          f"({features['audio']['files']} clips); peak memory {feat_mem.peak / 2**20:.0f} MiB", flush=True)

    one, many = rows[1], rows[args.workers]
    result = {
        "bench": "scan", "files": len(truth), "cpus": os.cpu_count(), "libmagic": magic_version,
        "demo_data_s": demo_s,
        "detect_files_per_s": one["ours_files_per_s"], "libmagic_files_per_s": one["libmagic_files_per_s"],
        "detect_speedup": one["speedup"], "detect_type_accuracy": one["ours_type_accuracy"],
        "libmagic_type_accuracy": one["libmagic_type_accuracy"], "detect_content_only": True,
        "detect_named_files_per_s": one["ours_named_files_per_s"],
        "detect_named_type_accuracy": one["ours_named_type_accuracy"],
        f"detect_files_per_s_{args.workers}p": many["ours_files_per_s"],
        f"libmagic_files_per_s_{args.workers}p": many["libmagic_files_per_s"],
        "full_scan_s": round(full_s, 2), "full_scan_files_per_s": round(n_scanned / full_s),
        "rescan_s": round(rescan_s, 3), "rescan_share": round(rescan_s / full_s, 4),
        "scan_peak_pss_mib": round(scan_mem.peak / 2**20),
        "feature_images_per_s": features["image"]["images_per_s"],
        "feature_audio_seconds_per_s": features["audio"]["audio_seconds_per_s"],
        "feature_workers": args.workers, "feature_peak_pss_mib": round(feat_mem.peak / 2**20),
        "goals_met": {"detect_3x": one["speedup"] >= 3.0,
                      "accuracy_at_least_libmagic": one["ours_type_accuracy"] >= one["libmagic_type_accuracy"],
                      "rescan_le_2pct": rescan_s / full_s <= 0.02, "feature_memory_lt_2gib": feat_mem.peak < 2 * 2**30},
    }
    shutil.rmtree(TMP, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
