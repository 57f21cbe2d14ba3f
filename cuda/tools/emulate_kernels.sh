#!/usr/bin/env bash
# Runs cuda/kernels/*.cu on the CPU through a small emulation of the CUDA built-ins (emu/), against
# naive references (emu/emu_test.cpp), optionally under AddressSanitizer (--asan) to catch
# out-of-bounds accesses. A logic check for machines without a GPU (kernel index math, barriers,
# warp shuffles, split-K combine); the GPU tests (tests/gpu) remain the real check. ~30 s (fibers,
# both thread orders).
# A second program (emu/emu_sample_test.cpp) checks the sampling kernel against the CPU sampler
# itself (model/src/text/sampler.cpp compiled in), id for id; a third (emu/emu_preprocess_test.cpp)
# checks the preprocessing kernels with the backend's plan against the CPU preprocessor, bit for bit.
# The only rewrite of the sources (emu/rewrite_kernel.pl): `kernel<<<cfg>>>(args)` becomes
# `emu::launch(kernel, {cfg}, args)`, and each __shared__ declaration is registered for poisoning.
# Every program runs twice: in index order, then with VLM_EMU_STRICT=1 (threads and blocks in
# reverse order), so a missing barrier shows up whichever thread writes first (emu/cuda_runtime.h).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cuda_dir=$(dirname "$here")
repo_dir=$(dirname "$cuda_dir")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/fake" "$work/kernels"
cp "$here/emu/cuda_runtime.h" "$here/emu/emu_hooks.h" "$here/emu/mma.h" "$here/emu/mma_sync_emu.h" "$work/fake/"
touch "$work/fake/cuda_bf16.h" "$work/fake/cuda_fp16.h"
cp "$cuda_dir/launch.h" "$cuda_dir/common.cuh" "$cuda_dir/mma_sync.cuh" "$work/"
for f in "$cuda_dir"/kernels/*.cu; do
  perl -0p "$here/emu/rewrite_kernel.pl" "$f" > "$work/kernels/$(basename "${f%.cu}").cpp"
done
for f in "$cuda_dir"/kernels/*.cuh; do  # headers the kernels share, rewritten the same way
  perl -0p "$here/emu/rewrite_kernel.pl" "$f" > "$work/kernels/$(basename "$f")"
done
flags=(-std=c++20 -O1 -pthread -w)
[ "${1:-}" = --asan ] && flags+=(-g -fsanitize=address,undefined)
# A fiber that reports an emulation failure (emu_test's misaligned-GEMV self-check) ends without
# unwinding, so its message string is never freed: leak checks would report that, not a kernel.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
g++ "${flags[@]}" -I"$work/fake" -I"$work" "$here/emu/emu_test.cpp" "$work"/kernels/*.cpp -o "$work/emu_test"
for strict in 0 1; do VLM_EMU_STRICT=$strict "$work/emu_test"; done
g++ "${flags[@]}" -I"$work/fake" -I"$work" -I"$cuda_dir" -I"$repo_dir/model/include" -I"$repo_dir/model/src" \
  "$here/emu/emu_sample_test.cpp" "$work/kernels/sample.cpp" "$repo_dir/model/src/text/sampler.cpp" \
  "$repo_dir/model/src/core/error.cpp" -o "$work/emu_sample_test"
for strict in 0 1; do VLM_EMU_STRICT=$strict "$work/emu_sample_test"; done
pre="$repo_dir/model/src/preprocess"
g++ "${flags[@]}" -I"$work/fake" -I"$work" -I"$cuda_dir" -I"$repo_dir/model/include" -I"$repo_dir/model/src" \
  "$here/emu/emu_preprocess_test.cpp" "$work/kernels/preprocess.cpp" "$pre/resize_bicubic.cpp" \
  "$pre/patchify.cpp" "$pre/smart_resize.cpp" "$pre/video.cpp" "$pre/image_convert.cpp" "$pre/raw_frame.cpp" \
  "$repo_dir/model/src/core/error.cpp" -o "$work/emu_preprocess_test"
for strict in 0 1; do VLM_EMU_STRICT=$strict "$work/emu_preprocess_test"; done
