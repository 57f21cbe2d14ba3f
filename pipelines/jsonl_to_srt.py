#!/usr/bin/env python3
"""jsonl_to_srt.py IN.jsonl OUT.srt — vlmdescribe results (JSON Lines) to SubRip subtitles.

Event records (task=events/query) become one subtitle each, at their own times. Windows without
events (task=describe) become one subtitle from the window start until the next window starts
(windows overlap, so each caption is shown until the next one replaces it). Standard library only.
"""
import json
import sys


def srt_time(seconds: float) -> str:
    ms = max(0, int(round(seconds * 1000)))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    events = {r["id"]: r for r in records if r.get("kind") == "event"}  # last update of an id wins
    cues = sorted(events.values(), key=lambda r: r["start"])
    if not cues:
        windows = sorted((r for r in records if r.get("kind") == "window"), key=lambda r: r["start"])
        cues = []
        for i, w in enumerate(windows):
            end = min(w["end"], windows[i + 1]["start"]) if i + 1 < len(windows) else w["end"]
            cues.append(dict(w, end=end))
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        for n, cue in enumerate(cues, 1):
            text = cue["text"].strip() or "…"
            out.write(f"{n}\n{srt_time(cue['start'])} --> {srt_time(cue['end'])}\n{text}\n\n")
    print(f"wrote {sys.argv[2]} ({len(cues)} subtitles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
