// `vlm make-checkpoint`: writes a random-weight Qwen2.5-VL checkpoint of any real shape (3B, 7B,
// or a small one) in the on-disk format of the official releases (flat config.json, original
// tensor names, one model.safetensors), for benchmarks and memory tests. Data is streamed, so a
// 16 GB 7B checkpoint is written without holding it in memory. The tokenizer files are copied
// from --tokenizer-from and the config's special ids are looked up in that tokenizer.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "vlm/error.h"
#include "vlm/safetensors.h"
#include "vlm/tokenizer.h"

namespace vlm_cli {
namespace {

const char kUsage[] =
    "usage: vlm make-checkpoint --shape 3b|7b|mid --out DIR --tokenizer-from DIR\n"
    "                           [--dtype bf16|f32] [--seed N]\n"
    "  Random weights (uniform, std 0.02; norms 1.0). The text a model made this way writes is\n"
    "  meaningless: it exists to measure speed and memory at a real size.\n";

struct Shape {
  int text_hidden, text_intermediate, layers, heads, kv_heads, vocab;
  bool tied;
  int vision_intermediate;
  int vision_depth = 32, vision_hidden = 1280, vision_heads = 16;
};

Shape shape_named(const std::string& name) {
  if (name == "3b") return {2048, 11008, 36, 16, 2, 151936, true, 3420};
  if (name == "7b") return {3584, 18944, 28, 28, 4, 152064, false, 3420};
  if (name == "mid") {
    Shape s{1024, 2816, 8, 8, 2, 151936, true, 1710};
    s.vision_depth = 8;
    s.vision_hidden = 640;
    s.vision_heads = 8;
    return s;
  }
  throw UsageError("--shape must be 3b, 7b or mid, got '" + name + "'");
}

std::vector<vlm::TensorSpec> tensor_specs(const Shape& s, vlm::DType dtype) {
  std::vector<vlm::TensorSpec> specs;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    specs.push_back({name, dtype, std::move(shape)});
  };
  const int64_t vh = s.vision_hidden, vi = s.vision_intermediate, h = s.text_hidden;
  const int64_t hd = h / s.heads;
  add("visual.patch_embed.proj.weight", {vh, 3, 2, 14, 14});
  for (int b = 0; b < s.vision_depth; ++b) {
    std::string p = "visual.blocks." + std::to_string(b) + ".";
    add(p + "norm1.weight", {vh});
    add(p + "norm2.weight", {vh});
    add(p + "attn.qkv.weight", {3 * vh, vh});
    add(p + "attn.qkv.bias", {3 * vh});
    add(p + "attn.proj.weight", {vh, vh});
    add(p + "attn.proj.bias", {vh});
    add(p + "mlp.gate_proj.weight", {vi, vh});
    add(p + "mlp.gate_proj.bias", {vi});
    add(p + "mlp.up_proj.weight", {vi, vh});
    add(p + "mlp.up_proj.bias", {vi});
    add(p + "mlp.down_proj.weight", {vh, vi});
    add(p + "mlp.down_proj.bias", {vh});
  }
  add("visual.merger.ln_q.weight", {vh});
  add("visual.merger.mlp.0.weight", {4 * vh, 4 * vh});
  add("visual.merger.mlp.0.bias", {4 * vh});
  add("visual.merger.mlp.2.weight", {h, 4 * vh});
  add("visual.merger.mlp.2.bias", {h});
  add("model.embed_tokens.weight", {s.vocab, h});
  for (int l = 0; l < s.layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {h});
    add(p + "post_attention_layernorm.weight", {h});
    add(p + "self_attn.q_proj.weight", {s.heads * hd, h});
    add(p + "self_attn.q_proj.bias", {s.heads * hd});
    add(p + "self_attn.k_proj.weight", {s.kv_heads * hd, h});
    add(p + "self_attn.k_proj.bias", {s.kv_heads * hd});
    add(p + "self_attn.v_proj.weight", {s.kv_heads * hd, h});
    add(p + "self_attn.v_proj.bias", {s.kv_heads * hd});
    add(p + "self_attn.o_proj.weight", {h, s.heads * hd});
    add(p + "mlp.gate_proj.weight", {s.text_intermediate, h});
    add(p + "mlp.up_proj.weight", {s.text_intermediate, h});
    add(p + "mlp.down_proj.weight", {h, s.text_intermediate});
  }
  add("model.norm.weight", {h});
  if (!s.tied) add("lm_head.weight", {s.vocab, h});
  return specs;
}

int32_t special_id(const vlm::Tokenizer& tokenizer, const char* token) {
  auto id = tokenizer.token_to_id(token);
  VLM_CHECK(id.has_value(), InvalidModel, "the tokenizer has no " << token << " token");
  return *id;
}

nlohmann::json config_json(const Shape& s, const vlm::Tokenizer& tokenizer, const std::string& dtype) {
  int32_t eos = special_id(tokenizer, "<|im_end|>");
  int32_t bos = special_id(tokenizer, "<|endoftext|>");
  return {
      {"architectures", {"Qwen2_5_VLForConditionalGeneration"}},
      {"model_type", "qwen2_5_vl"},
      {"hidden_size", s.text_hidden}, {"intermediate_size", s.text_intermediate},
      {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads},
      {"num_key_value_heads", s.kv_heads}, {"vocab_size", s.vocab},
      {"tie_word_embeddings", s.tied}, {"rms_norm_eps", 1e-6}, {"rope_theta", 1000000.0},
      {"max_position_embeddings", 128000}, {"hidden_act", "silu"},
      {"rope_scaling", {{"type", "mrope"}, {"mrope_section", {16, 24, 24}}}},
      {"use_sliding_window", false}, {"sliding_window", 32768}, {"max_window_layers", s.layers},
      {"attention_dropout", 0.0}, {"torch_dtype", dtype},
      {"bos_token_id", bos}, {"eos_token_id", eos},
      {"image_token_id", special_id(tokenizer, "<|image_pad|>")},
      {"video_token_id", special_id(tokenizer, "<|video_pad|>")},
      {"vision_start_token_id", special_id(tokenizer, "<|vision_start|>")},
      {"vision_end_token_id", special_id(tokenizer, "<|vision_end|>")},
      {"vision_token_id", special_id(tokenizer, "<|vision_pad|>")},
      {"vision_config",
       {{"depth", s.vision_depth}, {"hidden_size", s.vision_hidden}, {"num_heads", s.vision_heads},
        {"intermediate_size", s.vision_intermediate}, {"out_hidden_size", s.text_hidden},
        {"in_chans", 3}, {"patch_size", 14}, {"spatial_patch_size", 14},
        {"temporal_patch_size", 2}, {"spatial_merge_size", 2}, {"window_size", 112},
        {"fullatt_block_indexes", s.vision_depth >= 32 ? std::vector<int>{7, 15, 23, 31}
                                                       : std::vector<int>{3, 7}},
        {"tokens_per_second", 2}, {"hidden_act", "silu"}, {"model_type", "qwen2_5_vl"}}},
  };
}

}  // namespace

int run_make_checkpoint(int argc, char** argv) {
  try {
    Args args(argc, argv, {"shape", "out", "tokenizer-from", "dtype", "seed"}, {"help"});
    if (args.flag("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    Shape shape = shape_named(args.require("shape"));
    std::filesystem::path out = args.require("out");
    std::filesystem::path tokenizer_dir = args.require("tokenizer-from");
    std::string dtype_name = args.get_or("dtype", "bf16");
    if (dtype_name != "bf16" && dtype_name != "f32") throw UsageError("--dtype must be bf16 or f32");
    vlm::DType dtype = dtype_name == "bf16" ? vlm::DType::BF16 : vlm::DType::F32;
    uint32_t seed = static_cast<uint32_t>(args.get_int("seed", 0));

    vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(tokenizer_dir / "tokenizer.json");
    std::filesystem::create_directories(out);
    for (const char* name : {"tokenizer.json", "tokenizer_config.json", "preprocessor_config.json",
                             "chat_template.json"}) {
      if (std::filesystem::exists(tokenizer_dir / name)) {
        std::filesystem::copy_file(tokenizer_dir / name, out / name,
                                   std::filesystem::copy_options::overwrite_existing);
      }
    }
    std::ofstream(out / "config.json")
        << config_json(shape, tokenizer, dtype_name == "bf16" ? "bfloat16" : "float32").dump(2);

    // A block of random values, tiled with a per-tensor rotation: fast and never constant.
    const size_t kBlock = 1 << 20;
    std::vector<float> block(kBlock + 4096);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-0.0346f, 0.0346f);  // std 0.02
    for (float& v : block) v = uniform(rng);
    std::vector<uint16_t> block_bf16(block.size());
    for (size_t i = 0; i < block.size(); ++i) block_bf16[i] = vlm::f32_to_bf16(block[i]);
    const float one = 1.0f;
    const uint16_t one_bf16 = vlm::f32_to_bf16(1.0f);

    std::vector<vlm::TensorSpec> specs = tensor_specs(shape, dtype);
    vlm::write_safetensors_streaming(
        out / "model.safetensors", specs,
        [&](const vlm::TensorSpec& spec, size_t spec_index, uint64_t byte_offset, uint8_t* dst, size_t n_bytes) {
          bool is_norm = spec.name.find("norm") != std::string::npos && spec.shape.size() == 1;
          size_t elem = vlm::dtype_size(spec.dtype);
          size_t first = static_cast<size_t>(byte_offset / elem);
          size_t count = n_bytes / elem;
          size_t rotation = (spec_index * 2654435761u) % 4096;
          for (size_t i = 0; i < count; ++i) {
            size_t k = (first + i) % kBlock + rotation;
            if (spec.dtype == vlm::DType::BF16) {
              uint16_t v = is_norm ? one_bf16 : block_bf16[k];
              std::memcpy(dst + i * 2, &v, 2);
            } else {
              float v = is_norm ? one : block[k];
              std::memcpy(dst + i * 4, &v, 4);
            }
          }
        });
    std::printf("wrote %s (%zu tensors)\n", out.c_str(), specs.size());
    return 0;
  } catch (...) {
    return report_command_failure("make-checkpoint", kUsage);
  }
}

}  // namespace vlm_cli
