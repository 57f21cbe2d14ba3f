#!/usr/bin/env python3
"""Encode throughput of vlm::Tokenizer against HF `tokenizers` on the same text, same machine.

The text is cut into documents (after the first newline once a document reaches --chunk-bytes, 4096 by
default, like prompts and transcripts; 0 = the whole text as one input, where HF tokenizers slows down
a lot). Both run single-threaded (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false, Tokenizer.encode
per document, not encode_batch) and are timed the same way: one cold pass over all documents on a
freshly loaded tokenizer, then the median of --repeats warm passes. Times are process CPU seconds
(time.process_time / CLOCK_PROCESS_CPUTIME_ID, all threads): HF tokenizers hands each encode to a
rayon worker thread even with RAYON_NUM_THREADS=1, so on a loaded machine its wall time is mostly
waiting for a core; the warm wall-time ratio is printed as well. Prints both JSON lines, whether
the ids are identical, and the ratios vlm/HF (> 1 means vlm is faster).

The default text (when --text is not given) is built from files on this machine: Python standard
library sources (English code and comments) plus the multilingual tokenizer fixture corpus.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import tokenizers  # noqa: E402  (after the thread settings)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def default_text(target_bytes):
    parts = []
    corpus = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "corpus.json")
    with open(corpus, encoding="utf-8") as handle:
        multilingual = "\n".join(case["text"] for case in json.load(handle)["cases"])
    size = 0
    for path in sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py"))):
        with open(path, encoding="utf-8", errors="replace") as handle:
            parts.append(handle.read())
        parts.append(multilingual)
        size += len(parts[-2].encode()) + len(multilingual.encode())
        if size >= target_bytes:
            break
    return "".join(parts)


def chunk_text(data, chunk_bytes):
    """Documents of the benchmark, cut exactly like chunk_text() in bench_tokenizer.cpp (on bytes)."""
    if chunk_bytes == 0:
        return [data]
    chunks = []
    start = 0
    while start < len(data):
        end = start + chunk_bytes
        if end >= len(data):
            end = len(data)
        else:
            newline = data.find(b"\n", end - 1)
            end = len(data) if newline < 0 else newline + 1
        chunks.append(data[start:end])
        start = end
    return chunks


def run_hf(tokenizer_path, data, chunk_bytes, repeats):
    documents = [chunk.decode("utf-8") for chunk in chunk_text(data, chunk_bytes)]
    start = time.perf_counter()
    tok = tokenizers.Tokenizer.from_file(tokenizer_path)
    load_s = time.perf_counter() - start

    def encode_all():
        ids = []
        for document in documents:
            ids.extend(tok.encode(document).ids)
        return ids

    cpu = time.process_time()
    ids = encode_all()
    cold_s = time.process_time() - cpu
    warm = []
    warm_wall = []
    for _ in range(repeats):
        start = time.perf_counter()
        cpu = time.process_time()
        encode_all()
        warm.append(time.process_time() - cpu)
        warm_wall.append(time.perf_counter() - start)
    megabytes = len(data) / 1e6
    median_s = statistics.median(warm)
    median_wall_s = statistics.median(warm_wall)
    return ids, {"impl": "hf-tokenizers " + tokenizers.__version__, "bytes": len(data), "documents": len(documents),
                 "ids": len(ids),
                 "load_s": round(load_s, 3), "cold_s": round(cold_s, 4), "warm_median_s": round(median_s, 4),
                 "warm_median_wall_s": round(median_wall_s, 4), "cold_mb_per_s": round(megabytes / cold_s, 2),
                 "warm_mb_per_s": round(megabytes / median_s, 2),
                 "warm_wall_mb_per_s": round(megabytes / median_wall_s, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"), help="meson build dir with bench_tokenizer")
    parser.add_argument("--tokenizer", required=True, help="tokenizer.json")
    parser.add_argument("--text", help="UTF-8 text file (default: generated, see above)")
    parser.add_argument("--megabytes", type=float, default=4.0, help="size of the generated text")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk-bytes", type=int, default=4096)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        text_path = args.text
        if text_path is None:
            text_path = os.path.join(tmp, "bench.txt")
            with open(text_path, "wb") as handle:
                handle.write(default_text(int(args.megabytes * 1e6)).encode("utf-8"))
        with open(text_path, "rb") as handle:
            data = handle.read()
        ids_path = os.path.join(tmp, "ids.txt")
        bench = os.path.join(args.build, "benchmarks", "tokenizer", "bench_tokenizer")
        out = subprocess.run([bench, "--tokenizer", args.tokenizer, "--text", text_path, "--repeats",
                              str(args.repeats), "--chunk-bytes", str(args.chunk_bytes), "--ids-out", ids_path],
                             check=True, capture_output=True, text=True)
        ours = json.loads(out.stdout.strip().splitlines()[-1])
        with open(ids_path) as handle:
            our_ids = [int(line) for line in handle]
        hf_ids, theirs = run_hf(args.tokenizer, data, args.chunk_bytes, args.repeats)

    print(json.dumps(ours))
    print(json.dumps(theirs))
    print(f"ids identical: {our_ids == hf_ids} ({len(our_ids)} vs {len(hf_ids)} ids, {ours['bytes']} bytes)")
    print(f"ratio vlm/hf warm encode throughput (CPU time): {ours['warm_mb_per_s'] / theirs['warm_mb_per_s']:.2f}")
    print(f"ratio vlm/hf cold encode throughput (CPU time): {ours['cold_mb_per_s'] / theirs['cold_mb_per_s']:.2f}")
    print(f"ratio vlm/hf warm encode throughput (wall time): "
          f"{ours['warm_wall_mb_per_s'] / theirs['warm_wall_mb_per_s']:.2f}")
    print(f"ratio vlm/hf load time (lower is better for vlm): {ours['load_s'] / theirs['load_s']:.2f}")
    return 0 if our_ids == hf_ids else 1


if __name__ == "__main__":
    sys.exit(main())
