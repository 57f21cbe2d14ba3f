// The Qwen2.5 language model on a Backend (spec §7.1, §7.5–7.6): token embedding, decoder layers
// (RMSNorm, GQA attention with q/k/v biases and MRoPE, SwiGLU), final norm and lm_head, with a KV
// cache of fixed capacity. The caller owns the sequence: it embeds ids, may overwrite rows (vision
// features), and feeds rows with their MRoPE positions; the decoder appends them to the cache.
// Generated tokens go through decode(), which a device backend replays as one recorded step.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vlm/backend.h"
#include "vlm/checkpoint.h"
#include "vlm/config.h"

namespace vlm {

class TextDecoder {
 public:
  // Loads and checks the weights; allocates a KV cache of `capacity` tokens per layer.
  TextDecoder(const TextConfig& config, const Checkpoint& checkpoint, Backend& backend,
              int64_t capacity);
  ~TextDecoder();
  TextDecoder(const TextDecoder&) = delete;
  TextDecoder& operator=(const TextDecoder&) = delete;

  int64_t capacity() const;
  int64_t n_past() const;  // tokens in the cache
  int64_t kv_cache_bytes() const;  // keys + values of every layer at full capacity
  void reset();            // empties the cache

  // [ids.size(), hidden] embeddings in activation dtype. Ids outside the table are InvalidInput.
  Tensor embed(std::span<const int32_t> ids);

  // Runs `hidden` ([n, hidden], consumed: used as the residual stream) at cache positions
  // n_past … n_past+n−1 with MRoPE positions (n each) and appends its keys/values to the cache.
  // Returns logits [n, vocab] when all_logits, else [1, vocab] for the last row.
  // Throws InvalidInput when the cache would overflow, naming both numbers.
  Tensor forward(Tensor hidden, std::span<const int64_t> pos_t, std::span<const int64_t> pos_h,
                 std::span<const int64_t> pos_w, bool all_logits);

  // One generated token: forward(embed({id}), {position} on every MRoPE axis, false). Where the
  // backend has recorded steps (a CUDA graph) the step is recorded at the first call and replayed
  // after, writing only the id, the cache position and the rope row; VLM_RECORDED_STEPS=0 in the
  // environment keeps the eager path (an A/B switch). Returns logits [1, vocab], valid until the
  // next decode() or forward(). Same errors as embed() and forward().
  Tensor decode(int32_t id, int64_t position);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlm
