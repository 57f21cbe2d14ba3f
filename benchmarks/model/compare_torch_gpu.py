#!/usr/bin/env python3
"""CUDA engine speed against transformers (bf16, sdpa attention) on the same GPU, same checkpoints.

For each checkpoint it runs `vlm bench --device cuda --json` and then, in a child process,
transformers in bf16 with attn_implementation="sdpa" on inputs of the same shapes: a 448x448 image
(vision encoder, prefill, time to first token, decode) and a 16-frame 448x448 clip (vision encoder).
Then it prints ONE table for all checkpoints with both figures, the ratio (>1 = vlm better) and
the issue's targets (issue 5): clip vision <= 17 ms, decode <= 1.8 ms/token (3B) / 3.7 ms/token
(7B), 7B time to first token <= 12 ms, and >= 3x transformers on each.

The torch side needs no processor files: it builds the same token layout as our prompt
(text, <|vision_start|>, <|image_pad|> x merged patches, <|vision_end|>, text) from the ids in
config.json and random pixel rows of the right grid, so it works with whatever transformers
version the GPU machine has (4.51 or 5.x; both dtype spellings are tried; the vision encoder is
model.visual in 4.51 and model.model.visual in 5.x, and returns the merged rows as a tensor in 4.51
and as .pooler_output in 5.x). The child checks that the timed calls did the work: the encoder
returns one row per merged patch and generate() returns exactly --decode-tokens new tokens. The
torch decode figure is (generate N tokens - generate 1 token) / (N - 1); it is nan when timing noise
makes that difference <= 0 (expected only in a CPU dry run with a few tokens).

usage: compare_torch_gpu.py --vlm build/examples/vlm/vlm --model 3b=/tmp/ckpt-3b --model 7b=DIR
                            [--decode-tokens 64] [--repeat 3] [--json-out FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import time

TARGETS = {  # issue 5, on the H200
    "clip_vision_ms": {"3b": 17.0, "7b": 17.0},
    "decode_ms_per_token": {"3b": 1.8, "7b": 3.7},
    "first_token_ms": {"7b": 12.0},
    "memory_over_weights_kv": {"3b": 1.10, "7b": 1.10},  # device memory <= weights + KV cache + 10%
}
MIN_RATIO = 3.0


DEVICE = os.environ.get("VLM_TORCH_DEVICE", "cuda")  # "cpu" only for a dry run of this script


def sync():
    import torch
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def load_model(model_dir):
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    errors = []
    for kwargs in ({"dtype": torch.bfloat16}, {"torch_dtype": torch.bfloat16}):
        try:
            model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
                model_dir, attn_implementation="sdpa", **kwargs)
            return model.to(DEVICE).eval()
        except TypeError as e:  # an unknown keyword in this transformers version
            errors.append(str(e))
    raise RuntimeError("cannot load %s: %s" % (model_dir, "; ".join(errors)))


def merged_rows(out):
    """Rows of the vision encoder's merged output: a tensor (4.51) or a ModelOutput whose
    pooler_output holds them (5.x)."""
    import torch
    if torch.is_tensor(out):
        return out.shape[0]
    pooled = getattr(out, "pooler_output", None)
    if pooled is None:
        raise RuntimeError("unexpected vision encoder output %s" % type(out).__name__)
    return pooled.shape[0]


def visual_of(model):
    visual = getattr(model, "visual", None)
    if visual is None:
        visual = model.model.visual
    return visual


def torch_side(model_dir, size, frames, decode_tokens, prompt_tokens, repeat):
    """Child process: its GPU memory figures are its own."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local checkpoints; the GPU machine has no network
    import torch

    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    model = load_model(model_dir)
    torch.manual_seed(1)
    grid_side = size // 14
    n_patches = grid_side * grid_side
    merged = n_patches // 4
    pixel_values = torch.randn(n_patches, 3 * 2 * 14 * 14, dtype=torch.bfloat16, device=DEVICE)
    image_grid_thw = torch.tensor([[1, grid_side, grid_side]], device=DEVICE)
    # Same length as our prompt: text around the vision span (ids of ordinary tokens).
    n_text = max(prompt_tokens - merged - 2, 2)
    before = n_text // 2
    ids = list(range(100, 100 + before)) + [cfg["vision_start_token_id"]] + \
        [cfg["image_token_id"]] * merged + [cfg["vision_end_token_id"]] + \
        list(range(200, 200 + n_text - before))
    input_ids = torch.tensor([ids], device=DEVICE)
    attention_mask = torch.ones_like(input_ids)
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask, pixel_values=pixel_values,
                  image_grid_thw=image_grid_thw)
    t_frames = frames // 2
    clip_pixels = torch.randn(t_frames * n_patches, 3 * 2 * 14 * 14, dtype=torch.bfloat16, device=DEVICE)
    clip_grid = torch.tensor([[t_frames, grid_side, grid_side]], device=DEVICE)
    visual = visual_of(model)

    def best(fn, check):
        check(fn())  # the warm-up call's result: did it do the work that is timed?
        sync()
        times = []
        for _ in range(repeat):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        return min(times)

    def rows_are(expected, what):
        def check(out):
            if merged_rows(out) != expected:
                raise RuntimeError("%s: the vision encoder returned %d rows, not %d"
                                   % (what, merged_rows(out), expected))
        return check

    def new_tokens_are(expected):
        def check(out):
            sequences = out if torch.is_tensor(out) else out.sequences
            if sequences.shape[1] - len(ids) != expected:
                raise RuntimeError("generate() made %d new tokens, not %d"
                                   % (sequences.shape[1] - len(ids), expected))
        return check

    eos = cfg.get("eos_token_id")
    gen = dict(do_sample=False, eos_token_id=None, pad_token_id=eos if isinstance(eos, int) else 0)
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        vision_s = best(lambda: visual(pixel_values, grid_thw=image_grid_thw), rows_are(merged, "image"))
        clip_s = best(lambda: visual(clip_pixels, grid_thw=clip_grid), rows_are(t_frames * merged, "clip"))
        prefill_s = best(lambda: model(**inputs, use_cache=True), lambda out: None)
        first_s = best(lambda: model.generate(**inputs, max_new_tokens=1, min_new_tokens=1, **gen),
                       new_tokens_are(1))
        total_s = best(lambda: model.generate(**inputs, max_new_tokens=decode_tokens,
                                              min_new_tokens=decode_tokens, **gen),
                       new_tokens_are(decode_tokens))
    decode_s = (total_s - first_s) / max(decode_tokens - 1, 1) if total_s > first_s else float("nan")
    return {"vision_ms": vision_s * 1e3, "clip_vision_ms": clip_s * 1e3,
            "prefill_tokens": len(ids), "prefill_tok_s": len(ids) / prefill_s,
            "first_token_ms": first_s * 1e3, "decode_ms_per_token": decode_s * 1e3,
            "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if DEVICE == "cuda" else float("nan")}


def vlm_side(vlm, model_dir, size, frames, decode_tokens, repeat):
    out = subprocess.run(
        [vlm, "bench", "--model", model_dir, "--device", "cuda", "--json", "--image-size", str(size),
         "--frames", str(frames), "--decode-tokens", str(decode_tokens), "--repeat", str(repeat)],
        capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("vlm bench failed (%d): %s" % (out.returncode, out.stderr.strip()[-2000:]))
    ours = json.loads(out.stdout.strip().splitlines()[-1])
    image, clip = ours["image"], ours["clip"]
    return {"vision_ms": image["vision_ms"], "clip_vision_ms": clip["vision_ms"],
            "prefill_tokens": image["prefill_tokens"], "prefill_tok_s": image["prefill_tok_s"],
            "first_token_ms": image["first_token_ms"],
            "decode_ms_per_token": 1e3 / image["decode_tok_s"] if image["decode_tok_s"] > 0 else float("inf"),
            # the same decode without the recorded step (CUDA graph): vlm bench's A/B
            "decode_eager_ms_per_token": (1e3 / ours["decode_eager_tok_s"]
                                          if ours.get("decode_eager_tok_s", 0) > 0 else float("nan")),
            "peak_gpu_mib": ours.get("device_memory", {}).get("peak_in_use_mib", float("nan")),
            "memory_over_weights_kv": ours.get("device_memory", {}).get("peak_over_weights_plus_kv",
                                                                         float("nan"))}


ROWS = [  # key, label ({size}, {frames}: the run's --image-size and --frames), higher is better
    ("vision_ms", "vision encoder, {size}x{size} image (ms)", False),
    ("clip_vision_ms", "vision encoder, {frames}-frame clip (ms)", False),
    ("prefill_tok_s", "prefill (tokens/s)", True),
    ("first_token_ms", "time to first token (ms)", False),
    ("decode_ms_per_token", "decode batch 1 (ms/token)", False),
    ("decode_eager_ms_per_token", "decode, no CUDA graph (ms/token)", False),
    ("peak_gpu_mib", "peak GPU memory (MiB)", False),
    ("memory_over_weights_kv", "peak GPU memory / (weights + KV)", False),
]


def print_table(results, size, frames):
    print("%-5s %-38s %12s %12s %8s %10s %s" % ("model", "figure", "vlm", "torch", "ratio", "target", "verdict"))
    for name, (ours, theirs) in results.items():
        for key, label, higher in ROWS:
            mine, ref = ours.get(key), theirs.get(key) if theirs else None
            ratio = None
            if mine and ref and mine == mine and ref == ref:
                ratio = mine / ref if higher else ref / mine
            target = TARGETS.get(key, {}).get(name)
            verdict = []
            if target is not None and mine is not None:
                verdict.append("target " + ("met" if mine <= target else "MISSED"))
            if ratio is not None and key not in ("peak_gpu_mib", "memory_over_weights_kv"):
                verdict.append(">=3x " + ("met" if ratio >= MIN_RATIO else "MISSED"))
            print("%-5s %-38s %12.3f %12s %8s %10s %s" % (
                name, label.format(size=size, frames=frames), mine if mine is not None else float("nan"),
                "%.3f" % ref if ref is not None else "-", "%.2f" % ratio if ratio is not None else "-",
                "%.1f" % target if target is not None else "-", ", ".join(verdict)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vlm", help="path of the vlm CLI")
    parser.add_argument("--model", action="append", default=[], help="NAME=DIR (repeatable)")
    parser.add_argument("--image-size", type=int, default=448)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--decode-tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json-out")
    parser.add_argument("--torch-child", help=argparse.SUPPRESS)
    parser.add_argument("--prompt-tokens", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_child:
        print(json.dumps(torch_side(args.torch_child, args.image_size, args.frames, args.decode_tokens,
                                    args.prompt_tokens, args.repeat)))
        return 0
    if not args.vlm or not args.model:
        parser.error("give --vlm and at least one --model NAME=DIR")
    results = {}
    failures = 0
    for spec in args.model:
        name, _, model_dir = spec.partition("=")
        ours = theirs = None
        try:
            ours = vlm_side(args.vlm, model_dir, args.image_size, args.frames, args.decode_tokens, args.repeat)
        except Exception as e:  # report and keep going: the torch figures are still worth having
            print("[%s] vlm: %s" % (name, e), file=sys.stderr)
            failures += 1
        prompt_tokens = ours["prefill_tokens"] if ours else (args.image_size // 28) ** 2 + 20
        child = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--torch-child", model_dir,
             "--image-size", str(args.image_size), "--frames", str(args.frames),
             "--decode-tokens", str(args.decode_tokens), "--repeat", str(args.repeat),
             "--prompt-tokens", str(prompt_tokens)], capture_output=True, text=True)
        if child.returncode == 0:
            theirs = json.loads(child.stdout.strip().splitlines()[-1])
        else:
            print("[%s] transformers: %s" % (name, child.stderr.strip()[-2000:]), file=sys.stderr)
            failures += 1
        results[name] = (ours or {}, theirs)
    print_table(results, args.image_size, args.frames)
    for name, (ours, _) in results.items():
        eager, recorded = ours.get("decode_eager_ms_per_token"), ours.get("decode_ms_per_token")
        if eager and recorded and eager == eager:
            print("%s: the recorded decode step (CUDA graph) is %.2fx the eager one" % (name, eager / recorded))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({k: {"vlm": v[0], "torch": v[1]} for k, v in results.items()}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
