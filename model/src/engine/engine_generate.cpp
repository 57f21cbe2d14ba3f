// Engine::generate: prompt ids (chat template), vision encoding and embedding merge (spec §7.1),
// MRoPE positions (§7.2–7.4), prefill, then the decoding loop with the sampler, streaming text,
// stop ids, the context limit and cancellation checked after every token (so it takes effect
// within one decoding step and returns what was produced so far).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "engine/engine_impl.h"
#include "text/sampler.h"
#include "vlm/error.h"
#include "vlm/prompt.h"
#include "vlm/rope_index.h"

namespace vlm {

namespace {

using Clock = std::chrono::steady_clock;

// Prompt rows per prefill forward pass.
constexpr int64_t kPrefillChunk = 1024;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool is_cancelled(const GenerateRequest& request) {
  return request.cancel != nullptr && request.cancel->cancelled();
}

// Copies feature rows into the rows of `embeds` whose id is `pad_id`, in sequence order.
void scatter_rows(Backend& backend, const Tensor& features, const std::vector<int32_t>& ids,
                  int32_t pad_id, const char* kind, Tensor& embeds) {
  int64_t n_pads = std::count(ids.begin(), ids.end(), pad_id);
  const int64_t n_features = features.empty() ? 0 : features.rows();
  VLM_CHECK(n_pads == n_features, InvalidInput,
            kind << " features and " << kind << " tokens do not match: " << n_pads
                 << " placeholder tokens, " << n_features << " feature rows");
  int64_t used = 0;
  for (size_t i = 0; i < ids.size();) {
    if (ids[i] != pad_id) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < ids.size() && ids[end] == pad_id) ++end;
    const int64_t run = static_cast<int64_t>(end - i);
    backend.copy_rows(features, used, embeds, static_cast<int64_t>(i), run);
    used += run;
    i = end;
  }
}

// The pixel rows of `inputs` as one device tensor [Σ patches, patch_dim] in the activation dtype:
// device rows are used in place (one item) or copied, host rows uploaded. Each item's rows must
// match its grid.
Tensor device_pixel_rows(Backend& backend, const std::vector<const VisionInput*>& inputs,
                         int64_t patch_dim) {
  if (inputs.size() == 1 && !inputs[0]->device_pixel_values.empty()) {
    return inputs[0]->device_pixel_values;
  }
  const DType act = backend.activation_dtype();
  int64_t total = 0;
  for (const VisionInput* input : inputs) total += input->grid.patches();
  Tensor rows = backend.alloc(act, {total, patch_dim});
  int64_t row0 = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const VisionInput& input = *inputs[i];
    const int64_t n = input.grid.patches();
    if (!input.device_pixel_values.empty()) {
      const Tensor& device = input.device_pixel_values;
      VLM_CHECK(device.rank() == 2 && device.rows() == n && device.cols() == patch_dim &&
                    device.dtype() == act,
                InvalidInput, "vision item " << i << ": device pixel rows " << device.describe()
                                             << " do not match its grid of " << n << " patches of "
                                             << patch_dim << " " << dtype_name(act) << " values");
      backend.copy_rows(device, 0, rows, row0, n);
    } else {
      VLM_CHECK(static_cast<int64_t>(input.pixel_values.size()) == n * patch_dim, InvalidInput,
                "vision item " << i << ": " << input.pixel_values.size()
                               << " pixel values for a grid of " << n << " patches of " << patch_dim);
      const Tensor uploaded = backend.from_host_f32(input.pixel_values.data(), {n, patch_dim}, act);
      backend.copy_rows(uploaded, 0, rows, row0, n);
    }
    row0 += n;
  }
  return rows;
}

}  // namespace

void EngineImpl::merge_vision(const GenerateRequest& request, const std::vector<int32_t>& ids,
                              Tensor& embeds) {
  const VisionConfig& vc = config_.vision;
  const int64_t patch_dim = int64_t{3} * vc.temporal_patch_size * vc.patch_size * vc.patch_size;
  for (bool videos : {false, true}) {
    std::vector<const VisionInput*> inputs;
    std::vector<GridThw> grids;
    bool on_device = false;
    for (const VisionItem& item : request.visions) {
      if (item.is_video != videos) continue;
      inputs.push_back(&item.input);
      grids.push_back(item.input.grid);
      on_device = on_device || !item.input.device_pixel_values.empty();
    }
    Tensor features;
    if (!grids.empty() && on_device) {
      features = vision_->encode_device_rows(device_pixel_rows(*backend_, inputs, patch_dim), grids,
                                             request.cancel);
    } else if (!grids.empty()) {
      std::vector<float> pixels;
      for (const VisionInput* input : inputs) {
        pixels.insert(pixels.end(), input->pixel_values.begin(), input->pixel_values.end());
      }
      features = vision_->encode(pixels, grids, request.cancel);
    }
    scatter_rows(*backend_, features, ids, videos ? config_.video_token_id : config_.image_token_id,
                 videos ? "video" : "image", embeds);
  }
}

GenerateResult EngineImpl::generate(const GenerateRequest& request) {
  const auto t_start = Clock::now();
  GenerateResult result;
  const SamplingOptions& sampling = request.sampling;

  ChatPrompt chat;
  chat.system = request.system_prompt;
  chat.text = request.prompt;
  std::vector<GridThw> image_grids, video_grids;
  std::vector<float> seconds_per_grid;
  std::vector<std::vector<double>> patch_starts;
  for (const VisionItem& item : request.visions) {
    chat.visions.push_back({item.is_video ? VisionKind::Video : VisionKind::Image, item.input.grid});
    if (item.is_video) {
      video_grids.push_back(item.input.grid);
      seconds_per_grid.push_back(item.input.second_per_grid_t);
      patch_starts.push_back(item.patch_start_seconds);
    } else {
      image_grids.push_back(item.input.grid);
    }
  }
  result.prompt_ids = build_prompt_ids(tokenizer_, chat, config_.vision.spatial_merge_size);
  const auto& ids = result.prompt_ids;
  const int64_t n_prompt = static_cast<int64_t>(ids.size());
  const int64_t capacity = decoder_->capacity();
  VLM_CHECK(n_prompt <= capacity, InvalidInput,
            "the prompt has " << n_prompt << " tokens, more than the context of " << capacity
                              << " tokens (EngineOptions::max_context)");
  VLM_CHECK(sampling.max_new_tokens >= 0, InvalidInput,
            "max_new_tokens " << sampling.max_new_tokens << " must not be negative");

  // Positions first: they validate ids against grids before any heavy work.
  const RopeIndex rope = get_rope_index_timed(
      ids, image_grids, video_grids, seconds_per_grid, patch_starts,
      RopeIndexOptions::from_config(config_, options_.integer_temporal_ids));

  Tensor embeds = decoder_->embed(ids);
  try {
    const auto t_vision = Clock::now();
    if (!request.visions.empty()) merge_vision(request, ids, embeds);
    backend_->synchronize();
    result.timings.vision_ms = ms_since(t_vision);
  } catch (const Error& error) {
    if (error.code() != ErrorCode::Cancelled) throw;
    result.cancelled = true;
    return result;
  }
  if (is_cancelled(request) || sampling.max_new_tokens == 0) {
    result.cancelled = is_cancelled(request);
    return result;
  }

  // Generating k tokens stores n_prompt + k − 1 of them in the cache.
  int64_t max_new = sampling.max_new_tokens;
  if (n_prompt + max_new - 1 > capacity) {
    const int64_t allowed = capacity - n_prompt + 1;
    std::ostringstream message;
    message << "generation stops at the context end: prompt " << n_prompt << " + max_new_tokens "
            << max_new << " exceeds the context of " << capacity << " tokens; at most " << allowed
            << " new tokens";
    log(LogLevel::Warning, message.str());
    max_new = allowed;
  }

  const auto t_prefill = Clock::now();
  decoder_->reset();
  // Chunks bound the activation memory of long (video) prompts; each sees the cache before it.
  Tensor logits;
  for (int64_t row0 = 0; row0 < n_prompt; row0 += kPrefillChunk) {
    if (is_cancelled(request)) {
      result.cancelled = true;
      return result;
    }
    const int64_t rows = std::min(kPrefillChunk, n_prompt - row0);
    const auto part = [&](const std::vector<int64_t>& axis) {
      return std::span<const int64_t>(axis).subspan(static_cast<size_t>(row0), static_cast<size_t>(rows));
    };
    logits = decoder_->forward(embeds.slice_rows(row0, rows), part(rope.t), part(rope.h),
                               part(rope.w), false);
  }
  backend_->synchronize();
  result.timings.prefill_ms = ms_since(t_prefill);
  result.timings.prefill_tokens = static_cast<int>(n_prompt);

  SamplerOptions sampler_options;
  sampler_options.greedy = sampling.greedy;
  sampler_options.temperature = sampling.temperature;
  sampler_options.top_k = sampling.top_k;
  sampler_options.top_p = sampling.top_p;
  sampler_options.repetition_penalty = sampling.repetition_penalty;
  sampler_options.seed = sampling.seed;
  Sampler sampler(sampler_options);
  const std::vector<int32_t>& stop_ids =
      sampling.stop_ids.empty() ? generation_.eos_token_ids : sampling.stop_ids;
  const int64_t vocab = config_.text.vocab_size;
  // Only keep_logits needs the whole row on the host; otherwise the backend chooses (on a device
  // backend only the id crosses) with the same rules and draw as the host sampler.
  const bool host_logits = request.keep_logits;

  IncrementalDecoder text_stream(tokenizer_, true);
  std::vector<int32_t> history = ids;
  const auto t_decode = Clock::now();
  for (int64_t step = 0; step < max_new; ++step) {
    if (is_cancelled(request)) {
      result.cancelled = true;
      break;
    }
    int32_t next = 0;
    if (host_logits) {
      std::vector<float> row = backend_->to_host_f32(logits);
      VLM_CHECK(static_cast<int64_t>(row.size()) == vocab, Internal,
                "logits have " << row.size() << " values, expected " << vocab);
      if (request.keep_logits) result.logits.insert(result.logits.end(), row.begin(), row.end());
      if (step < sampling.min_new_tokens) {  // HF MinNewTokensLengthLogitsProcessor
        for (int32_t stop : stop_ids) {
          if (stop >= 0 && stop < vocab) row[static_cast<size_t>(stop)] = -INFINITY;
        }
      }
      next = sampler.next(row, history);
    } else {
      SampleParams params = sample_params(sampler_options);
      params.history = history;
      if (step < sampling.min_new_tokens) params.banned = stop_ids;  // HF MinNewTokens
      params.uniform = sampler_options.greedy ? 0.0 : sampler.draw();
      next = backend_->sample(logits, params);
    }
    if (step == 0) result.timings.first_token_ms = ms_since(t_start);
    result.generated_ids.push_back(next);
    history.push_back(next);
    const std::string piece = text_stream.push(next);
    if (request.on_token) request.on_token(next, piece);
    if (std::find(stop_ids.begin(), stop_ids.end(), next) != stop_ids.end()) break;
    if (step + 1 == max_new) break;
    if (is_cancelled(request)) {
      result.cancelled = true;
      break;
    }
    logits = decoder_->decode(next, decode_position(n_prompt + step, rope.rope_delta));
  }
  backend_->synchronize();
  result.timings.decode_ms = ms_since(t_decode);
  result.timings.decode_tokens = static_cast<int>(result.generated_ids.size());
  result.text = tokenizer_.decode(result.generated_ids, true);
  return result;
}

}  // namespace vlm
