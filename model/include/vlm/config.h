// Model configuration read from a checkpoint folder: config.json (Qwen2.5-VL in its flat 4.x,
// hybrid and nested 5.x layouts, and Qwen2-VL), preprocessor_config.json and
// generation_config.json. Missing keys take the Hugging Face class defaults (spec §1.3), never
// "sensible" values; inconsistent values are errors naming the field.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vlm {

enum class ModelFamily { Qwen2VL, Qwen2_5VL };

struct VisionConfig {
  int depth = 32;
  int hidden_size = 1280;        // ViT width (Qwen2-VL: embed_dim)
  int intermediate_size = 3420;  // SwiGLU width (Qwen2-VL: embed_dim * mlp_ratio)
  int num_heads = 16;
  int in_channels = 3;
  int patch_size = 14;
  int temporal_patch_size = 2;
  int spatial_merge_size = 2;
  int window_size = 112;          // pixels; Qwen2-VL has no window attention (0)
  int out_hidden_size = 3584;     // merger output = decoder hidden size
  std::vector<int> fullatt_block_indexes = {7, 15, 23, 31};
  float tokens_per_second = 4.0f;  // class default 4 (!); checkpoints say 2
  std::string hidden_act = "silu";

  int head_dim() const { return hidden_size / num_heads; }
  // Window edge in merged tokens (112 / 2 / 14 = 4).
  int window_merged() const { return window_size / spatial_merge_size / patch_size; }
  bool is_full_attention_block(int block) const;
};

struct TextConfig {
  int hidden_size = 8192;
  int intermediate_size = 29568;
  int num_hidden_layers = 80;
  int num_attention_heads = 64;
  int num_key_value_heads = 8;
  int head_dim = 128;  // hidden_size / num_attention_heads
  int vocab_size = 152064;
  float rms_norm_eps = 1e-6f;
  double rope_theta = 1000000.0;
  std::array<int, 3> mrope_section = {16, 24, 24};  // sums to head_dim / 2
  bool tie_word_embeddings = false;
  int max_position_embeddings = 128000;
  std::string hidden_act = "silu";
};

struct ModelConfig {
  ModelFamily family = ModelFamily::Qwen2_5VL;
  VisionConfig vision;
  TextConfig text;
  int32_t image_token_id = 151655;
  int32_t video_token_id = 151656;
  int32_t vision_start_token_id = 151652;
  int32_t vision_end_token_id = 151653;
  int32_t bos_token_id = 151643;
  std::vector<int32_t> eos_token_ids = {151645};
  std::string torch_dtype = "bfloat16";
};

struct PreprocessorConfig {
  int64_t min_pixels = 3136;
  int64_t max_pixels = 12845056;
  int patch_size = 14;
  int temporal_patch_size = 2;
  int merge_size = 2;
  std::array<float, 3> image_mean = {0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> image_std = {0.26862954f, 0.26130258f, 0.27577711f};
  double rescale_factor = 1.0 / 255.0;
  int resample = 3;  // bicubic; the only one supported
  int factor() const { return patch_size * merge_size; }
};

struct GenerationConfig {
  bool do_sample = false;
  float temperature = 1.0f;
  int top_k = 50;
  float top_p = 1.0f;
  float repetition_penalty = 1.0f;
  std::vector<int32_t> eos_token_ids = {151645, 151643};
};

// Parses config.json text; `source` names the file in error messages.
ModelConfig parse_model_config(std::string_view json_text, const std::string& source = "config.json");
ModelConfig load_model_config(const std::filesystem::path& config_json);
PreprocessorConfig parse_preprocessor_config(std::string_view json_text,
                                             const std::string& source = "preprocessor_config.json");
// A missing preprocessor_config.json yields the Qwen2.5-VL defaults above.
PreprocessorConfig load_preprocessor_config(const std::filesystem::path& model_dir);
GenerationConfig parse_generation_config(std::string_view json_text,
                                         const std::string& source = "generation_config.json");
// A missing generation_config.json yields greedy decoding with the config's stop ids.
GenerationConfig load_generation_config(const std::filesystem::path& model_dir,
                                        const ModelConfig& model);

}  // namespace vlm
