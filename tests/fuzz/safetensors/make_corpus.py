#!/usr/bin/env python3
# Writes the seed corpus of fuzz_safetensors into corpus/: small files made by the official
# `safetensors` package (valid), plus a few near-valid variants (each breaking one rule) so the
# fuzzer starts next to every branch of the validator. Run: /work/venv/bin/python make_corpus.py
import json
import os
import struct

import numpy as np
from safetensors.numpy import save

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus")
os.makedirs(out, exist_ok=True)


def put(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def raw(header_obj, data=b"", pad=True):
    text = json.dumps(header_obj, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


put("empty.safetensors", save({}))
put("one_f32.safetensors", save({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}))
put("mixed.safetensors", save({
    "model.embed_tokens.weight": np.ones((4, 2), dtype=np.float16),
    "visual.blocks.0.attn.qkv.bias": np.arange(3, dtype=np.int64),
    "u": np.arange(5, dtype=np.uint8),
    "i": np.arange(2, dtype=np.int32),
    "zero": np.zeros((0, 3), dtype=np.float32),
}, metadata={"format": "pt"}))
put("bf16_like.safetensors", raw({"b": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}},
                                 b"\x80\x3f" * 4))
# Near-valid: one broken rule each.
put("hole.safetensors", raw({"a": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}}, b"1234"))
put("overlap.safetensors", raw({"a": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]},
                                "b": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}}, b"1234"))
put("dup.safetensors", (lambda t: struct.pack("<Q", len(t)) + t + b"12")(
    b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
    b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'))
put("bigshape.safetensors", raw({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 0],
                                       "data_offsets": [0, 0]}}))
put("meta.safetensors", raw({"__metadata__": {"k": "v"},
                             "x": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8))
put("badlen.safetensors", struct.pack("<Q", 1 << 40) + b"{}")
print("corpus files:", len(os.listdir(out)))
