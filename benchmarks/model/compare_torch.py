#!/usr/bin/env python3
"""Engine speed against PyTorch/transformers on the same machine, same checkpoint, same inputs.

Runs `vlm bench --json` and then transformers (fp32, sdpa attention, same thread count) on a
448x448 image (vision encoder, prefill, time to first token, decode) and a 16-frame 448x448 clip
(vision encoder), and prints one table with the ratio torch_time / vlm_time for every figure
(> 1 means we are faster). Peak memory is measured per side in separate processes.

usage: compare_torch.py --vlm build/examples/vlm/vlm [--model DIR | --make-mid DIR]
                        [--threads N] [--decode-tokens 32]
--make-mid writes a mid-size random Qwen2.5-VL checkpoint with transformers first (vision 8 blocks
x 640 wide, head_dim 80; decoder 8 layers x 1024, GQA 8/2, vocab 151936) using the tiny fixture
tokenizer, so no download is needed.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_TOKENIZER_DIR = os.path.join(HERE, "..", "..", "tests", "fixtures", "models", "tiny-a")


def make_mid_checkpoint(out_dir):
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tok_cfg = json.load(open(os.path.join(FIXTURE_TOKENIZER_DIR, "config.json")))
    config = Qwen2_5_VLConfig(
        vision_config=dict(depth=8, hidden_size=640, num_heads=8, intermediate_size=1710,
                           out_hidden_size=1024, fullatt_block_indexes=[3, 7], window_size=112,
                           tokens_per_second=2, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, in_chans=3),
        hidden_size=1024, intermediate_size=2816, num_hidden_layers=8, num_attention_heads=8,
        num_key_value_heads=2, vocab_size=151936, rms_norm_eps=1e-6, rope_theta=1e6,
        rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]}, tie_word_embeddings=True,
        image_token_id=tok_cfg["image_token_id"], video_token_id=tok_cfg["video_token_id"],
        vision_start_token_id=tok_cfg["vision_start_token_id"],
        vision_end_token_id=tok_cfg["vision_end_token_id"], bos_token_id=tok_cfg.get("bos_token_id"),
        eos_token_id=tok_cfg.get("eos_token_id"), torch_dtype="float32")
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    for name in os.listdir(FIXTURE_TOKENIZER_DIR):
        if name.endswith(".json") and name not in ("config.json", "model.safetensors.index.json"):
            if name != "generation_config.json":
                shutil.copy(os.path.join(FIXTURE_TOKENIZER_DIR, name), out_dir)


def torch_side(model_dir, threads, size, frames, decode_tokens):
    """Runs in a child process so its peak RSS is its own."""
    import numpy as np
    import torch
    from PIL import Image
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    torch.set_num_threads(threads)
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
        model_dir, torch_dtype=torch.float32, attn_implementation="sdpa").eval()
    processor = AutoProcessor.from_pretrained(model_dir)
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this."}]}],
        add_generation_prompt=True)
    inputs = processor(text=[text], images=[image], return_tensors="pt")

    def best(fn, repeat=3):
        fn()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    with torch.inference_mode():
        vision_s = best(lambda: model.visual(inputs["pixel_values"], grid_thw=inputs["image_grid_thw"]))
        prompt_len = inputs["input_ids"].shape[1]
        # model(**inputs) runs the vision encoder too; our prefill figure excludes it, so subtract.
        prefill_s = max(best(lambda: model(**inputs, use_cache=True)) - vision_s, 1e-9)
        gen_kwargs = dict(max_new_tokens=decode_tokens, min_new_tokens=decode_tokens, do_sample=False)
        first_s = best(lambda: model.generate(**inputs, max_new_tokens=1, do_sample=False))
        total_s = best(lambda: model.generate(**inputs, **gen_kwargs))
        decode_s = max(total_s - first_s, 1e-9)
        clip = [Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)) for _ in range(frames)]
        video_inputs = processor.video_processor(videos=[clip], return_tensors="pt") \
            if hasattr(processor, "video_processor") else processor.image_processor(images=None, videos=[clip], return_tensors="pt")
        clip_s = best(lambda: model.visual(video_inputs["pixel_values_videos"], grid_thw=video_inputs["video_grid_thw"]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"image": {"vision_ms": vision_s * 1e3, "prefill_tokens": prompt_len,
                      "prefill_tok_s": prompt_len / prefill_s, "first_token_ms": first_s * 1e3,
                      "decode_tok_s": (decode_tokens - 1) / decode_s},
            "clip": {"vision_ms": clip_s * 1e3}, "peak_rss_mib": peak}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vlm", required=True)
    parser.add_argument("--model")
    parser.add_argument("--make-mid")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--image-size", type=int, default=448)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--decode-tokens", type=int, default=32)
    parser.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_child:
        print(json.dumps(torch_side(args.model, args.threads, args.image_size, args.frames, args.decode_tokens)))
        return
    model_dir = args.model
    if args.make_mid:
        if not os.path.exists(os.path.join(args.make_mid, "config.json")):
            make_mid_checkpoint(args.make_mid)
        model_dir = args.make_mid
    if not model_dir:
        parser.error("give --model or --make-mid")
    ours = json.loads(subprocess.check_output(
        [args.vlm, "bench", "--model", model_dir, "--threads", str(args.threads), "--json",
         "--image-size", str(args.image_size), "--frames", str(args.frames),
         "--decode-tokens", str(args.decode_tokens)]))
    theirs = json.loads(subprocess.check_output(
        [sys.executable, __file__, "--torch-child", "--vlm", args.vlm, "--model", model_dir,
         "--threads", str(args.threads), "--image-size", str(args.image_size),
         "--frames", str(args.frames), "--decode-tokens", str(args.decode_tokens)]))
    rows = [
        ("vision encoder, image (ms)", ours["image"]["vision_ms"], theirs["image"]["vision_ms"], False),
        ("vision encoder, %d-frame clip (ms)" % args.frames, ours["clip"]["vision_ms"], theirs["clip"]["vision_ms"], False),
        ("prefill (tokens/s)", ours["image"]["prefill_tok_s"], theirs["image"]["prefill_tok_s"], True),
        ("time to first token (ms)", ours["image"]["first_token_ms"], theirs["image"]["first_token_ms"], False),
        ("decode (tokens/s)", ours["image"]["decode_tok_s"], theirs["image"]["decode_tok_s"], True),
        ("peak RSS (MiB)", ours["peak_rss_mib"], theirs["peak_rss_mib"], False),
    ]
    print(f"model {model_dir}, {args.threads} threads, image {args.image_size}^2, "
          f"prompt {ours['image']['prefill_tokens']} tokens (torch {theirs['image']['prefill_tokens']})")
    print(f"{'figure':38s} {'vlm':>12s} {'torch':>12s} {'ratio (>1 = vlm better)':>24s}")
    for name, mine, ref, higher_is_better in rows:
        ratio = (mine / ref) if higher_is_better else (ref / mine)
        print(f"{name:38s} {mine:12.2f} {ref:12.2f} {ratio:24.2f}")


if __name__ == "__main__":
    main()
