// TextDecoder's state, shared by its two files: text_decoder.cpp (weights, cache, the eager layer
// loop for any number of rows) and text_decode_step.cpp (the recorded single-token step).
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "text/mrope_tables.h"
#include "text/text_decoder.h"
#include "text/text_weights.h"

namespace vlm {

struct DecodeStep;  // text_decode_step.cpp
struct DecodeStepDeleter {  // defined beside DecodeStep, so this header needs only its name
  void operator()(DecodeStep* step) const;
};

struct TextDecoder::Impl {
  TextConfig config;
  Backend& backend;
  TextWeights weights;
  std::vector<float> inv_freq;
  std::vector<Tensor> k_cache, v_cache;  // per layer [capacity, n_kv, head_dim]
  int64_t capacity = 0;
  int64_t n_past = 0;
  // The recorded single-token step, made at the first decode() (null until then, and always null
  // where the backend has no recorded steps or VLM_RECORDED_STEPS=0).
  std::unique_ptr<DecodeStep, DecodeStepDeleter> step;
  // Recording failed once (the reason was logged): this decoder decodes op by op from then on.
  bool step_unavailable = false;

  Impl(const TextConfig& c, const Checkpoint& checkpoint, Backend& b, int64_t cap);

  // MRoPE cos/sin for the positions, rounded to bf16 where the activations are bf16 (as HF).
  RopeTables rope_tables(std::span<const int64_t> pos_t, std::span<const int64_t> pos_h,
                         std::span<const int64_t> pos_w) const;
  // InvalidInput for an id outside the embedding table, naming it.
  void check_ids(std::span<const int32_t> ids) const;
  // InvalidInput when n more tokens would overflow the cache, naming both numbers.
  void check_room(int64_t n) const;

  // text_decode_step.cpp: the step's buffers and recording; the ops of one token.
  std::unique_ptr<DecodeStep, DecodeStepDeleter> make_step();
  void run_step_ops(DecodeStep& s);
};

}  // namespace vlm
