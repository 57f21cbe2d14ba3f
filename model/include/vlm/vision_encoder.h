// The Qwen2.5-VL vision encoder (spec §5): patch embedding, 2D rotary, window attention with
// full-attention blocks, RMSNorm + SwiGLU blocks, the 2×2 patch merger and the reverse window
// order. Weights are taken from a Checkpoint and handed to a Backend once; encode() is called per
// request. A Qwen2-VL config (LayerNorm, QuickGELU MLP, no windows) is refused as Unsupported.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vlm/backend.h"
#include "vlm/checkpoint.h"
#include "vlm/config.h"
#include "vlm/log.h"
#include "vlm/preprocess.h"

namespace vlm {

struct WindowIndex {
  std::vector<int32_t> window_index;       // permutation over merged units
  std::vector<int32_t> cu_window_seqlens;  // in patches, empty windows dropped
};

// get_window_index (spec §5.3) for the items of one call, in order.
WindowIndex compute_window_index(std::span<const GridThw> grids, int window_merged, int merge_size = 2);
// Full-attention segments: one per temporal group of each item (spec §5.4), in patches.
std::vector<int32_t> full_attention_cu_seqlens(std::span<const GridThw> grids);

struct VisionEncoderOptions {
  // The MLP's intermediate width is zero-padded to a multiple of this at load time (exact; see
  // Backend::matmul_width_multiple). 0: the backend's preference; 1: never padded.
  int64_t mlp_width_multiple = 0;
};

class VisionEncoder {
 public:
  VisionEncoder(const ModelConfig& config, const Checkpoint& checkpoint, Backend& backend,
                VisionEncoderOptions options = {});
  ~VisionEncoder();
  VisionEncoder(const VisionEncoder&) = delete;
  VisionEncoder& operator=(const VisionEncoder&) = delete;

  // pixel_values: [Σ patches, 1176] f32 rows in processor order; grids: one per item.
  // Returns [Σ t·h·w/4, out_hidden_size] in activation dtype, rows in placeholder-token order.
  Tensor encode(std::span<const float> pixel_values, std::span<const GridThw> grids,
                const CancelToken* cancel = nullptr);
  // The same from rows already on the backend: [Σ patches, 1176] in its activation dtype
  // (VisionInput::device_pixel_values). Results are those of the host call on the same values.
  Tensor encode_device_rows(const Tensor& pixel_rows, std::span<const GridThw> grids,
                            const CancelToken* cancel = nullptr);

  // Upper bound on the patches run through the blocks at once (default 16384). A call is split
  // into chunks of whole temporal groups (attention never crosses them, so results do not change)
  // and the MLP runs over row blocks of this size: scratch memory stays bounded for long videos.
  // A single temporal group larger than the bound still runs whole.
  void set_max_chunk_patches(int64_t patches);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlm
