// preprocessor_config.json and generation_config.json loaders. Missing keys of a present file take
// the HF class defaults (Qwen2VLImageProcessor: min_pixels 56*56, max_pixels 28*28*1280;
// GenerationConfig: greedy, temperature 1, top_k 50, top_p 1, repetition_penalty 1); a missing file
// yields the checkpoint values documented in config.h. Both pixel-budget spellings are read
// (min_pixels/max_pixels and the newer size {shortest_edge, longest_edge}); when both are present
// they must agree. Options our pipeline does not implement (resample other than bicubic, disabled
// rescale/normalize/RGB conversion) are refused rather than ignored.
#include <cmath>

#include "io/json_util.h"
#include "vlm/config.h"
#include "vlm/error.h"
#include "vlm/log.h"

namespace vlm {

using json_util::Json;
using json_util::JsonContext;

namespace {

// min_pixels or size.shortest_edge (likewise max_pixels / size.longest_edge).
int64_t read_pixel_budget(const Json& root, const JsonContext& ctx, const char* flat_key,
                          const char* size_key, int64_t class_default) {
  std::optional<int64_t> flat = json_util::opt_int(root, flat_key, ctx);
  std::optional<int64_t> nested;
  if (const Json* size = json_util::opt_object(root, "size", ctx)) {
    nested = json_util::opt_int(*size, size_key, ctx.child("size"));
    VLM_CHECK(nested, InvalidModel,
              ctx.source << ": field 'size' must contain both 'shortest_edge' and 'longest_edge' "
                            "(missing 'size."
                         << size_key << "')");
  }
  if (flat && nested && *flat != *nested) {
    VLM_THROW(InvalidModel, ctx.source << ": inconsistent fields: '" << flat_key << "' = " << *flat
                                       << " but 'size." << size_key << "' = " << *nested);
  }
  if (flat) return *flat;
  if (nested) return *nested;
  log(LogLevel::Info, ctx.source + ": " + flat_key + " missing, class default " +
                          std::to_string(class_default) + " applied");
  return class_default;
}

std::array<float, 3> read_channel_triple(const Json& root, const JsonContext& ctx, const char* key,
                                         const std::array<float, 3>& class_default) {
  const Json* value = json_util::find(root, key);
  if (!value) return class_default;
  std::array<float, 3> out{};
  if (value->is_number()) {  // HF accepts one value for all channels
    out.fill(static_cast<float>(value->get<double>()));
    return out;
  }
  std::vector<double> list = *json_util::opt_number_list(root, key, ctx);
  VLM_CHECK(list.size() == 3, InvalidModel,
            ctx.source << ": field '" << key << "' must have 3 entries (RGB), has " << list.size());
  for (size_t i = 0; i < 3; ++i) out[i] = static_cast<float>(list[i]);
  return out;
}

void require_enabled(const Json& root, const JsonContext& ctx, const char* key) {
  std::optional<bool> value = json_util::opt_bool(root, key, ctx);
  VLM_CHECK(!value || *value, Unsupported,
            ctx.source << ": field '" << key
                       << "' = false is not supported (the Qwen preprocessing always applies it)");
}

}  // namespace

PreprocessorConfig parse_preprocessor_config(std::string_view json_text, const std::string& source) {
  Json root = json_util::parse_json(json_text, source);
  VLM_CHECK(root.is_object(), InvalidModel, source << ": must be a JSON object");
  JsonContext ctx{source, ""};
  PreprocessorConfig config;
  config.min_pixels = read_pixel_budget(root, ctx, "min_pixels", "shortest_edge", 56 * 56);
  config.max_pixels = read_pixel_budget(root, ctx, "max_pixels", "longest_edge", 28 * 28 * 1280);
  config.patch_size = json_util::opt_int32(root, "patch_size", ctx).value_or(14);
  config.temporal_patch_size = json_util::opt_int32(root, "temporal_patch_size", ctx).value_or(2);
  config.merge_size = json_util::opt_int32(root, "merge_size", ctx).value_or(2);
  config.image_mean = read_channel_triple(root, ctx, "image_mean", config.image_mean);
  config.image_std = read_channel_triple(root, ctx, "image_std", config.image_std);
  config.rescale_factor = json_util::opt_number(root, "rescale_factor", ctx).value_or(1.0 / 255.0);
  config.resample = json_util::opt_int32(root, "resample", ctx).value_or(3);
  for (const char* key : {"do_resize", "do_rescale", "do_normalize", "do_convert_rgb"}) {
    require_enabled(root, ctx, key);
  }

  VLM_CHECK(config.min_pixels > 0, InvalidModel,
            source << ": field 'min_pixels' = " << config.min_pixels << " must be positive");
  VLM_CHECK(config.max_pixels >= config.min_pixels, InvalidModel,
            source << ": field 'max_pixels' = " << config.max_pixels
                   << " is smaller than 'min_pixels' = " << config.min_pixels);
  VLM_CHECK(config.patch_size > 0, InvalidModel,
            source << ": field 'patch_size' = " << config.patch_size << " must be positive");
  VLM_CHECK(config.temporal_patch_size > 0, InvalidModel,
            source << ": field 'temporal_patch_size' = " << config.temporal_patch_size
                   << " must be positive");
  VLM_CHECK(config.merge_size > 0, InvalidModel,
            source << ": field 'merge_size' = " << config.merge_size << " must be positive");
  for (size_t c = 0; c < 3; ++c) {
    VLM_CHECK(std::isfinite(config.image_std[c]) && config.image_std[c] > 0, InvalidModel,
              source << ": field 'image_std[" << c << "]' = " << config.image_std[c]
                     << " must be positive");
    VLM_CHECK(std::isfinite(config.image_mean[c]), InvalidModel,
              source << ": field 'image_mean[" << c << "]' is not finite");
  }
  VLM_CHECK(std::isfinite(config.rescale_factor) && config.rescale_factor > 0, InvalidModel,
            source << ": field 'rescale_factor' = " << config.rescale_factor
                   << " must be positive");
  VLM_CHECK(config.resample == 3, Unsupported,
            source << ": field 'resample' = " << config.resample
                   << " is not supported (only 3 = bicubic)");
  return config;
}

PreprocessorConfig load_preprocessor_config(const std::filesystem::path& model_dir) {
  std::filesystem::path path = model_dir / "preprocessor_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    log(LogLevel::Info, path.string() + " not found: Qwen2.5-VL checkpoint defaults used");
    return PreprocessorConfig{};
  }
  return parse_preprocessor_config(json_util::read_text_file(path), path.string());
}

GenerationConfig parse_generation_config(std::string_view json_text, const std::string& source) {
  Json root = json_util::parse_json(json_text, source);
  VLM_CHECK(root.is_object(), InvalidModel, source << ": must be a JSON object");
  JsonContext ctx{source, ""};
  GenerationConfig config;
  config.do_sample = json_util::opt_bool(root, "do_sample", ctx).value_or(false);
  config.temperature = static_cast<float>(json_util::opt_number(root, "temperature", ctx).value_or(1.0));
  config.top_k = json_util::opt_int32(root, "top_k", ctx).value_or(50);
  config.top_p = static_cast<float>(json_util::opt_number(root, "top_p", ctx).value_or(1.0));
  config.repetition_penalty =
      static_cast<float>(json_util::opt_number(root, "repetition_penalty", ctx).value_or(1.0));
  // Absent: left empty here; load_generation_config() fills in the model's stop ids.
  config.eos_token_ids.clear();
  if (auto ids = json_util::opt_int_or_int_list(root, "eos_token_id", ctx)) {
    for (int64_t id : *ids) {
      VLM_CHECK(id >= 0 && id <= INT32_MAX, InvalidModel,
                source << ": field 'eos_token_id' contains an invalid id " << id);
      config.eos_token_ids.push_back(static_cast<int32_t>(id));
    }
  }

  VLM_CHECK(std::isfinite(config.temperature) && config.temperature > 0, InvalidModel,
            source << ": field 'temperature' = " << config.temperature << " must be positive");
  VLM_CHECK(config.top_k >= 0, InvalidModel,
            source << ": field 'top_k' = " << config.top_k << " must be >= 0 (0 disables it)");
  VLM_CHECK(std::isfinite(config.top_p) && config.top_p > 0 && config.top_p <= 1, InvalidModel,
            source << ": field 'top_p' = " << config.top_p << " must be in (0, 1]");
  VLM_CHECK(std::isfinite(config.repetition_penalty) && config.repetition_penalty > 0,
            InvalidModel,
            source << ": field 'repetition_penalty' = " << config.repetition_penalty
                   << " must be positive");
  return config;
}

GenerationConfig load_generation_config(const std::filesystem::path& model_dir,
                                        const ModelConfig& model) {
  std::filesystem::path path = model_dir / "generation_config.json";
  std::error_code ec;
  GenerationConfig config;
  if (std::filesystem::exists(path, ec)) {
    config = parse_generation_config(json_util::read_text_file(path), path.string());
  } else {
    log(LogLevel::Info, path.string() + " not found: greedy decoding with config.json's stop ids");
    config.eos_token_ids.clear();
  }
  if (config.eos_token_ids.empty()) config.eos_token_ids = model.eos_token_ids;
  return config;
}

}  // namespace vlm
