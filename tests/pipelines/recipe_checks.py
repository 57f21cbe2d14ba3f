#!/usr/bin/env python3
"""recipe_checks.py — the output checks of test_recipes.sh (standard library only).

One subcommand per kind of output; each prints what it checked and exits 1 with the reason when a
rule is broken, so every check in the shell script can fail on its own:
  jsonl FILE [--max-end S] [--stream NAME]   every line a JSON object with the result schema (ARCHITECTURE §5)
  srt FILE JSONL                 SubRip cues well formed, one per window result of JSONL (describe)
  first-text JSONL               prints 1 if the result starting at 0 s has non-blank text, else 0
  caption SOURCE.gray OUT.gray W H FRAME   mean |difference| of the caption band of one GRAY8 frame
  stats URL [KEY]                GET URL answers a JSON object (with KEY a number >= 1)
"""
import json
import re
import sys
import urllib.request

RESULT_FIELDS = {"stream": str, "kind": str, "start": (int, float), "end": (int, float),
                 "text": str, "id": str}


def fail(message: str) -> int:
    print(f"FAIL: {message}")
    return 1


def read_results(path: str):
    results = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                raise ValueError(f"{path}:{number}: empty line")
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: not a JSON object")
            for field, kind in RESULT_FIELDS.items():
                if field not in record:
                    raise ValueError(f"{path}:{number}: field '{field}' missing")
                if not isinstance(record[field], kind) or isinstance(record[field], bool):
                    raise ValueError(f"{path}:{number}: field '{field}' has the wrong type")
            if record["kind"] not in ("window", "event"):
                raise ValueError(f"{path}:{number}: kind '{record['kind']}' is not window/event")
            if not (0 <= record["start"] <= record["end"]):
                raise ValueError(f"{path}:{number}: start {record['start']} / end {record['end']} "
                                 "not 0 <= start <= end")
            if not record["id"]:
                raise ValueError(f"{path}:{number}: empty id")
            results.append(record)
    return results


def check_jsonl(args) -> int:
    path = args[0]
    options = dict(zip(args[1::2], args[2::2]))
    max_end = float(options["--max-end"]) if "--max-end" in options else None
    stream = options.get("--stream")
    try:
        results = read_results(path)
    except (OSError, ValueError) as e:
        return fail(str(e))
    if not results:
        return fail(f"{path}: no results")
    if max_end is not None:
        late = [r for r in results if r["end"] > max_end + 0.05]
        if late:
            return fail(f"{path}: result {late[0]['id']} ends at {late[0]['end']} s, after the "
                        f"media's {max_end} s")
    if stream is not None:
        other = [r for r in results if r["stream"] != stream]
        if other:
            return fail(f"{path}: result {other[0]['id']} has stream '{other[0]['stream']}', "
                        f"'{stream}' expected")
    kinds = sorted({r["kind"] for r in results})
    print(f"ok: {path}: {len(results)} valid JSON lines, fields {', '.join(RESULT_FIELDS)} present "
          f"and typed, 0 <= start <= end" + (f" <= {max_end} s" if max_end is not None else "") +
          f", kinds {kinds}" + (f", stream '{stream}'" if stream is not None else ""))
    return 0


SRT_TIME = r"(\d\d):(\d\d):(\d\d),(\d\d\d)"


def seconds(match, first: int) -> float:
    h, m, s, ms = (int(match.group(i)) for i in range(first, first + 4))
    return h * 3600 + m * 60 + s + ms / 1000


def check_srt(args) -> int:
    path, jsonl = args
    with open(path, encoding="utf-8") as f:
        blocks = [b for b in f.read().split("\n\n") if b.strip()]
    windows = [r for r in read_results(jsonl) if r["kind"] == "window"]
    if not blocks:
        return fail(f"{path}: no subtitles")
    for n, block in enumerate(blocks, 1):
        lines = block.strip("\n").split("\n")
        if len(lines) < 3 or lines[0] != str(n):
            return fail(f"{path}: cue {n} is not 'index, times, text': {lines!r}")
        times = re.fullmatch(SRT_TIME + " --> " + SRT_TIME, lines[1])
        if not times or seconds(times, 1) > seconds(times, 5):
            return fail(f"{path}: cue {n} has bad times '{lines[1]}'")
    if len(blocks) != len(windows):
        return fail(f"{path}: {len(blocks)} cues for {len(windows)} window results in {jsonl}")
    print(f"ok: {path}: {len(blocks)} well-formed cues, one per window result")
    return 0


def first_text(args) -> int:
    results = read_results(args[0])
    first = [r for r in results if r["start"] == 0]
    print(1 if first and first[0]["text"].strip() else 0)
    return 0


def caption_difference(args) -> int:
    source, out, width, height, frame = args[0], args[1], int(args[2]), int(args[3]), int(args[4])
    size = width * height
    with open(source, "rb") as a, open(out, "rb") as b:
        a.seek(frame * size)
        b.seek(frame * size)
        before, after = a.read(size), b.read(size)
    if len(before) != size or len(after) != size:
        return fail(f"frame {frame} missing in {source} or {out}")
    # textoverlay valignment=top halignment=left draws from its default 25-pixel padding on.
    total = count = 0
    for y in range(25, min(45, height)):
        row = y * width
        for x in range(25, min(160, width)):
            total += abs(before[row + x] - after[row + x])
            count += 1
    print(f"{total / count:.1f}")
    return 0


def check_stats(args) -> int:
    url = args[0]
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode("utf-8")
            status = response.status
    except OSError as e:
        return fail(f"GET {url}: {e}")
    try:
        stats = json.loads(body)
    except ValueError:
        return fail(f"GET {url}: not JSON: {body[:200]!r}")
    if status != 200 or not isinstance(stats, dict):
        return fail(f"GET {url}: status {status}, body {body[:200]!r}")
    key = args[1] if len(args) > 1 else None
    if key is not None:
        value = stats.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 1:
            return fail(f"GET {url}: '{key}' is {value!r}, a number >= 1 expected")
    print(f"ok: GET {url}: 200, a JSON object with keys {sorted(stats)[:8]}" +
          (f"; {key} = {stats[key]} (>= 1: the logged result is counted)" if key else ""))
    return 0


COMMANDS = {"jsonl": check_jsonl, "srt": check_srt, "first-text": first_text,
            "caption": caption_difference, "stats": check_stats}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
