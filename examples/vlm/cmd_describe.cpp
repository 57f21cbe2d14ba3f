// `vlm describe`: one prompt about images, a video file or pre-sampled frames, answered by the
// model (ARCHITECTURE.md §5 contract). Streams text as it is generated, or prints one JSON object.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "npy.h"
#include "vision_inputs.h"
#include "vlm/engine.h"
#include "vlm/error.h"

namespace vlm_cli {
namespace {

const char kUsage[] =
    "usage: vlm describe --model DIR (--image FILE... | --video FILE | --frames FILE...)\n"
    "                    [--fps F] [--prompt TEXT] [--max-new-tokens N] [--greedy]\n"
    "                    [--device cpu|cuda] [--threads N] [--max-pixels N] [--json]\n"
    "                    [--dump-logits FILE.npy]\n"
    "  --image may repeat; --frames takes frames already sampled at --fps (default 2).\n"
    "  Without --greedy the checkpoint's generation_config.json decides the sampling.\n";

nlohmann::json timings_json(const vlm::GenerateTimings& t) {
  return {{"vision_ms", t.vision_ms},           {"prefill_ms", t.prefill_ms},
          {"decode_ms", t.decode_ms},           {"first_token_ms", t.first_token_ms},
          {"prefill_tokens", t.prefill_tokens}, {"decode_tokens", t.decode_tokens}};
}

vlm::SamplingOptions sampling_from(const vlm::GenerationConfig& defaults, bool greedy,
                                   int max_new_tokens) {
  vlm::SamplingOptions sampling;
  sampling.greedy = greedy || !defaults.do_sample;
  sampling.temperature = defaults.temperature;
  sampling.top_k = defaults.top_k;
  sampling.top_p = defaults.top_p;
  sampling.repetition_penalty = defaults.repetition_penalty;
  sampling.stop_ids = defaults.eos_token_ids;
  sampling.max_new_tokens = max_new_tokens;
  return sampling;
}

}  // namespace

int run_describe(int argc, char** argv) {
  try {
    Args args(argc, argv,
              {"model", "image", "video", "frames", "fps", "prompt", "max-new-tokens", "device",
               "threads", "max-pixels", "dump-logits"},
              {"greedy", "json", "help"});
    if (args.flag("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    VisionSources sources;
    sources.images = args.all("image");
    sources.video = args.get_or("video", "");
    sources.frames = args.all("frames");
    sources.fps = args.get_double("fps", 2.0);
    sources.max_pixels = args.get_int("max-pixels", 0);
    int kinds = !sources.images.empty() + !sources.video.empty() + !sources.frames.empty();
    if (kinds > 1) throw UsageError("give only one of --image, --video, --frames");
    int max_new_tokens = args.get_int("max-new-tokens", 128);
    if (max_new_tokens < 1) throw UsageError("--max-new-tokens must be at least 1");

    vlm::EngineOptions options;
    options.device = args.get_or("device", "cpu");
    options.n_threads = args.get_int("threads", 0);
    auto engine = vlm::Engine::load(args.require("model"), options);

    vlm::GenerateRequest request;
    request.visions = load_vision_items(sources, *engine);
    std::string default_prompt = !sources.images.empty() ? "Describe this image."
                                 : kinds > 0            ? "Describe this video."
                                                        : "Hello!";
    request.prompt = args.get_or("prompt", default_prompt);
    request.sampling = sampling_from(engine->generation_defaults(), args.flag("greedy"), max_new_tokens);
    std::string dump_path = args.get_or("dump-logits", "");
    request.keep_logits = !dump_path.empty();
    bool json = args.flag("json");
    if (!json) {
      request.on_token = [](int32_t, const std::string& piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
      };
    }

    vlm::GenerateResult result = engine->generate(request);
    if (!dump_path.empty()) {
      int64_t steps = static_cast<int64_t>(result.generated_ids.size());
      int64_t vocab = steps > 0 ? static_cast<int64_t>(result.logits.size()) / steps : 0;
      write_npy_f32(dump_path, result.logits, {steps, vocab});
    }
    if (json) {
      nlohmann::json out = {{"prompt_ids", result.prompt_ids},
                            {"generated_ids", result.generated_ids},
                            {"text", result.text},
                            {"cancelled", result.cancelled},
                            {"timings", timings_json(result.timings)}};
      std::cout << out.dump() << std::endl;
    } else {
      std::fputc('\n', stdout);
    }
    return 0;
  } catch (...) {
    return report_command_failure("describe", kUsage);
  }
}

}  // namespace vlm_cli
