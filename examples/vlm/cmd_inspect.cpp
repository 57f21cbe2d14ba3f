// `vlm inspect`: what a checkpoint folder holds — architecture, parameter counts per part, dtypes,
// and the memory a run needs (weights + KV cache at a context length), without loading weights.
#include <cstdio>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "vlm/checkpoint.h"
#include "vlm/config.h"
#include "vlm/error.h"

namespace vlm_cli {
namespace {

const char kUsage[] =
    "usage: vlm inspect --model DIR [--context N] [--json]\n"
    "  --context: tokens of KV cache to include in the memory estimate (default 8192)\n";

std::string part_of(const std::string& name) {
  if (name.rfind("visual.merger.", 0) == 0) return "vision merger";
  if (name.rfind("visual.", 0) == 0) return "vision encoder";
  if (name == "model.embed_tokens.weight") return "token embedding";
  if (name == "lm_head.weight") return "lm head";
  return "decoder";
}

double gib(double bytes) { return bytes / (1024.0 * 1024.0 * 1024.0); }

}  // namespace

int run_inspect(int argc, char** argv) {
  try {
    Args args(argc, argv, {"model", "context"}, {"json", "help"});
    if (args.flag("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::filesystem::path dir = args.require("model");
    int context = args.get_int("context", 8192);
    if (context < 1) throw UsageError("--context must be positive");
    vlm::ModelConfig config = vlm::load_model_config(dir / "config.json");
    vlm::Checkpoint checkpoint = vlm::Checkpoint::open(dir);

    std::map<std::string, int64_t> params;
    std::map<std::string, int64_t> dtypes;
    int64_t total_params = 0;
    uint64_t weight_bytes = 0;
    for (const std::string& name : checkpoint.names()) {
      // A tied lm_head resolves to the embedding: count those parameters once.
      if (name == "lm_head.weight" && config.text.tie_word_embeddings) continue;
      const vlm::TensorInfo& info = checkpoint.info(name);
      int64_t count = 1;
      for (int64_t d : info.shape) count *= d;
      params[part_of(name)] += count;
      dtypes[vlm::dtype_name(info.dtype)] += count;
      total_params += count;
      weight_bytes += info.data_end - info.data_begin;
    }
    const vlm::TextConfig& text = config.text;
    // K and V, every layer, in the weights' dtype (bf16 on GPU, f32 activations on the CPU).
    double kv_bytes_per_token_bf16 = 2.0 * text.num_hidden_layers * text.num_key_value_heads * text.head_dim * 2;
    double kv_bytes_per_token_f32 = kv_bytes_per_token_bf16 * 2;

    nlohmann::json out = {
        {"family", config.family == vlm::ModelFamily::Qwen2VL ? "qwen2_vl" : "qwen2_5_vl"},
        {"vision", {{"depth", config.vision.depth}, {"hidden_size", config.vision.hidden_size},
                    {"num_heads", config.vision.num_heads}, {"intermediate_size", config.vision.intermediate_size},
                    {"window_size", config.vision.window_size},
                    {"fullatt_block_indexes", config.vision.fullatt_block_indexes},
                    {"out_hidden_size", config.vision.out_hidden_size},
                    {"tokens_per_second", config.vision.tokens_per_second}}},
        {"text", {{"layers", text.num_hidden_layers}, {"hidden_size", text.hidden_size},
                  {"heads", text.num_attention_heads}, {"kv_heads", text.num_key_value_heads},
                  {"head_dim", text.head_dim}, {"intermediate_size", text.intermediate_size},
                  {"vocab_size", text.vocab_size}, {"tie_word_embeddings", text.tie_word_embeddings},
                  {"mrope_section", text.mrope_section}, {"rope_theta", text.rope_theta}}},
        {"parameters", params},
        {"parameters_total", total_params},
        {"parameters_by_dtype", dtypes},
        {"weights_bytes", weight_bytes},
        {"kv_cache_bytes_per_token", {{"bf16", kv_bytes_per_token_bf16}, {"f32", kv_bytes_per_token_f32}}},
        {"context", context},
        {"memory_estimate_bytes",
         {{"cpu_f32_activations", weight_bytes + kv_bytes_per_token_f32 * context},
          {"gpu_bf16", weight_bytes + kv_bytes_per_token_bf16 * context}}}};
    if (args.flag("json")) {
      std::cout << out.dump(2) << std::endl;
      return 0;
    }
    std::printf("model        %s (%s)\n", dir.c_str(), out["family"].get<std::string>().c_str());
    std::printf("vision       %d blocks x %d wide, %d heads, window %d px, full attention at",
                config.vision.depth, config.vision.hidden_size, config.vision.num_heads,
                config.vision.window_size);
    for (int index : config.vision.fullatt_block_indexes) std::printf(" %d", index);
    std::printf("\ndecoder      %d layers x %d wide, %d heads / %d kv heads (head_dim %d), vocab %d%s\n",
                text.num_hidden_layers, text.hidden_size, text.num_attention_heads,
                text.num_key_value_heads, text.head_dim, text.vocab_size,
                text.tie_word_embeddings ? ", tied embeddings" : "");
    std::printf("parameters   %.3f M total\n", total_params / 1e6);
    for (const auto& [part, count] : params) std::printf("  %-16s %.3f M\n", part.c_str(), count / 1e6);
    for (const auto& [dtype, count] : dtypes) std::printf("  stored as %-6s %.3f M\n", dtype.c_str(), count / 1e6);
    std::printf("weights      %.3f GiB\n", gib(static_cast<double>(weight_bytes)));
    std::printf("kv cache     %.1f KiB/token (bf16), %.1f KiB/token (f32)\n",
                kv_bytes_per_token_bf16 / 1024, kv_bytes_per_token_f32 / 1024);
    std::printf("memory       %.3f GiB on CPU, %.3f GiB on GPU at %d tokens of context\n",
                gib(weight_bytes + kv_bytes_per_token_f32 * context),
                gib(weight_bytes + kv_bytes_per_token_bf16 * context), context);
    return 0;
  } catch (...) {
    return report_command_failure("inspect", kUsage);
  }
}

}  // namespace vlm_cli
